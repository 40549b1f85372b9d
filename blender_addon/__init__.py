"""The Blender extension that imports mocap results and receives live frames (not written yet).

It will run inside Blender's own Python, so it may import bpy, numpy and the standard library
only (ARCHITECTURE.md). Until then, our BVH / FBX / glTF files import with Blender's own importers
(see the README).
"""

"""Writers (and readers, for round trips) of motion-capture file formats.

Axes and units per format: BVH (Y up, metres), TRC (Y up, m / cm / mm) and glTF/GLB (Y up,
metres, +Z forward) turn our Z-up world ``(x, y, z) -> (x, z, -y)`` and say so in the file;
FBX is Y up in centimetres with the axis system and unit in its header (written by Blender);
C3D stays Z up (millimetres by default) and says so in POINT:UNITS / X_SCREEN / Y_SCREEN;
CSV and NPZ keep the Z-up world of ``mocap`` in metres. Every writer replaces its output
atomically. FBX and .blend go through Blender (``bpy``) in a subprocess; nothing else needs it.
"""

from exporters.bvh import read_bvh, write_bvh  # noqa: F401
from exporters.c3d import write_c3d  # noqa: F401
from exporters.fbx import write_blend, write_fbx  # noqa: F401
from exporters.gltf import write_gltf  # noqa: F401
from exporters.table import csv_columns, write_csv, write_npz  # noqa: F401
from exporters.trc import TrcWriter, read_trc, write_trc, write_trcs  # noqa: F401

__all__ = ["write_bvh", "read_bvh", "write_trc", "write_trcs", "read_trc", "TrcWriter", "write_csv", "write_npz", "csv_columns", "write_c3d",
           "write_fbx", "write_blend", "write_gltf"]

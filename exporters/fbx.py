"""FBX writer for :class:`mocap.data.Motion`, through Blender's own FBX exporter (``bpy``).

The armature and its action are built in a Blender subprocess (see
:mod:`exporters.blender_armature`) and written with ``bpy.ops.export_scene.fbx``: one armature,
no mesh, every bone keyed on every frame (no curve simplification, so the file holds exactly
our rotations), no added leaf bones.

Axes and units
--------------
FBX files declare their own axis system and unit in their header, and importers (Blender,
Unity, Unreal, Maya, MotionBuilder) convert from it. We write Blender's standard: **Y up,
-Z forward** (``axis_up="Y"``, ``axis_forward="-Z"``: a person facing our -Y faces the file's
+Z), lengths in **centimetres** with ``UnitScaleFactor`` saying so (Blender converts our metres),
24-bit time at the Motion's frame rate. Bones run along their local **Y** axis (Blender's
convention) unless the rig preset asks for another primary axis (Unreal's bones run along X).
"""

from __future__ import annotations

import os
from pathlib import Path

from exporters.blender_armature import run_blender
from mocap.data import Motion
from mocap.fileio import atomic_path

_AXES = ("X", "Y", "Z", "-X", "-Y", "-Z")


def write_fbx(motion: Motion, path: str | os.PathLike, *, name: str = "Armature", primary_bone_axis: str = "Y",
              secondary_bone_axis: str = "X", axis_forward: str = "-Z", axis_up: str = "Y",
              global_scale: float = 1.0) -> Path:
    """Write ``motion`` as an FBX armature with its animation (atomically); see the module doc.

    The bone-axis and axis arguments are those of Blender's FBX exporter; rig presets
    (:mod:`mocap.retarget.rigs`) carry the ones their engine expects.
    """
    for value in (primary_bone_axis, secondary_bone_axis, axis_forward, axis_up):
        if value not in _AXES:
            raise ValueError(f"axis must be one of {_AXES}, got {value!r}")
    if motion.n_frames == 0:
        raise ValueError("cannot write an FBX file of a motion with no frames")
    options = dict(format="fbx", name=name, primary_bone_axis=primary_bone_axis,
                   secondary_bone_axis=secondary_bone_axis, axis_forward=axis_forward, axis_up=axis_up,
                   global_scale=float(global_scale), first_frame=0)
    with atomic_path(path, suffix=".fbx") as tmp:
        run_blender(motion, tmp, options)
    return Path(path)


def write_blend(motion: Motion, path: str | os.PathLike, *, name: str = "Armature") -> Path:
    """Save ``motion`` as a Blender .blend file holding the armature and its action (Z up, metres)."""
    with atomic_path(path, suffix=".blend") as tmp:
        run_blender(motion, tmp, dict(format="blend", name=name))
    return Path(path)

"""Build a Blender armature with its action from a :class:`Motion`, in a Blender subprocess.

The FBX and .blend writers share this: they save the motion's arrays to a temporary ``.npz``,
run :data:`SCRIPT` in a separate Python that imports ``bpy`` (Blender as a module), with HOME
pointed at a temporary folder since Blender writes under ``~/.config``, and let Blender's own
exporter write the file. Running Blender in a subprocess keeps its global state (and its 300 MB)
out of the caller's process, and a crash there cannot take the caller down.

How the armature is built (all in Blender's Z-up world, which is ours: metres, Z up):

* rest pose = the Motion's rest pose: each bone's head at the joint's rest position (the sum of
  offsets down the chain); its tail toward the joint's main child (the child farthest away; a
  zero-offset child such as our spine, which starts where the pelvis does, lends its own
  direction), or for a leaf continuing its own offset, at least 1 cm long;
* bone roll: the bone's Z axis turned toward world -Y (forward) or, for bones lying along Y
  (feet, thumbs), toward +Z, so limbs of both sides roll alike;
* animation: Blender stores a pose bone's rotation relative to its rest matrix ``B`` (the bone's
  axes in armature space). Our local rotation ``q`` is relative to the parent in world axes with
  every rest rotation the identity, so the bone's pose is ``B^T q B`` (conjugating by the rest
  frame); the root's location is ``B^T (p(t) - head)``. Keys go in one call per channel
  (``keyframe_points.foreach_set``), linear, one per frame; our frame 0 is Blender's frame 1 in a .blend and frame 0 (time 0) in an FBX.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from mocap.data import Motion
from mocap.errors import OutputError

SCRIPT = r"""
import json, sys
import bpy
import numpy as np
from mathutils import Matrix, Quaternion, Vector

npz, options = sys.argv[1], json.loads(sys.argv[2])
data = np.load(npz)
names = [str(n) for n in data["joint_names"]]
parents, offsets = data["parents"], data["offsets"]
root_translation, rotations, fps = data["root_translation"], data["rotations"], float(data["fps"])
J, T = len(names), rotations.shape[0]

bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.fps = max(1, int(round(fps)))
scene.render.fps_base = scene.render.fps / fps
first = int(options.get("first_frame", 1))
scene.frame_start, scene.frame_end = first, first + T - 1

rest = np.zeros((J, 3))
for j in range(J):
    rest[j] = offsets[j] + (rest[parents[j]] if parents[j] >= 0 else 0.0)
kids = [[c for c in range(J) if parents[c] == j] for j in range(J)]

def bone_vector(j):
    far = [c for c in kids[j] if np.linalg.norm(offsets[c]) > 1e-6]
    zero = [c for c in kids[j] if np.linalg.norm(offsets[c]) <= 1e-6]
    if zero:
        return bone_vector(zero[0])
    if far:
        return offsets[max(far, key=lambda c: np.linalg.norm(offsets[c]))]
    own = offsets[j] if np.linalg.norm(offsets[j]) > 1e-6 else np.array([0.0, 0.0, 0.1])
    return own / np.linalg.norm(own) * max(0.01, 0.5 * np.linalg.norm(own))

arm_data = bpy.data.armatures.new(options["name"])
arm = bpy.data.objects.new(options["name"], arm_data)
scene.collection.objects.link(arm)
bpy.context.view_layer.objects.active = arm
bpy.ops.object.mode_set(mode="EDIT")
edit = []
for j in range(J):
    b = arm_data.edit_bones.new(names[j])
    v = bone_vector(j)
    b.head = Vector(rest[j])
    b.tail = Vector(rest[j] + v)
    u = v / np.linalg.norm(v)
    b.align_roll(Vector((0.0, 0.0, 1.0)) if abs(u[1]) > 0.7 else Vector((0.0, -1.0, 0.0)))
    b.use_connect = False
    if parents[j] >= 0:
        b.parent = edit[parents[j]]
    edit.append(b)
bpy.ops.object.mode_set(mode="OBJECT")

B = np.array([np.array(arm_data.bones[n].matrix_local.to_3x3()) for n in names])  # (J, 3, 3)

def qmat(q):
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack([np.stack([1-2*(y*y+z*z), 2*(x*y-w*z), 2*(x*z+w*y)], -1),
                     np.stack([2*(x*y+w*z), 1-2*(x*x+z*z), 2*(y*z-w*x)], -1),
                     np.stack([2*(x*z-w*y), 2*(y*z+w*x), 1-2*(x*x+y*y)], -1)], -2)

def matq(m):
    out = np.array([list(Matrix(mm.tolist()).to_quaternion()) for mm in m])
    # keep the sign continuous so Blender's interpolation between keys never takes the long way
    dots = np.sum(out[1:] * out[:-1], -1)
    sign = np.concatenate([[1.0], np.cumprod(np.where(dots < 0, -1.0, 1.0))])
    return out * sign[:, None]

arm.animation_data_create()
action = bpy.data.actions.new(options["name"] + "Action")
arm.animation_data.action = action
frames = np.arange(first, first + T, dtype=float)

def key(path, index, group, values):
    fc = action.fcurve_ensure_for_datablock(arm, path, index=index, group_name=group)
    fc.keyframe_points.add(T)
    fc.keyframe_points.foreach_set("co", np.stack([frames, values], 1).ravel())
    fc.keyframe_points.foreach_set("interpolation", [1] * T)  # LINEAR
    fc.update()

for j, n in enumerate(names):
    pb = arm.pose.bones[n]
    pb.rotation_mode = "QUATERNION"
    basis = matq(np.swapaxes(B[j], 0, 1)[None] @ qmat(rotations[:, j]) @ B[j][None])
    path = f'pose.bones["{n}"]'
    for i in range(4):
        key(path + ".rotation_quaternion", i, n, basis[:, i])
    if parents[j] < 0:
        loc = (root_translation - rest[j]) @ B[j]  # B^T (p - head), row vectors
        for i in range(3):
            key(path + ".location", i, n, loc[:, i])

out = options["output"]
if options["format"] == "fbx":
    bpy.ops.export_scene.fbx(filepath=out, use_selection=False, object_types={"ARMATURE"}, add_leaf_bones=False,
                             bake_anim=True, bake_anim_use_all_bones=True, bake_anim_use_nla_strips=False,
                             bake_anim_use_all_actions=False, bake_anim_force_startend_keying=True,
                             bake_anim_step=1.0, bake_anim_simplify_factor=0.0,
                             axis_forward=options["axis_forward"], axis_up=options["axis_up"],
                             primary_bone_axis=options["primary_bone_axis"],
                             secondary_bone_axis=options["secondary_bone_axis"],
                             global_scale=options["global_scale"], apply_unit_scale=True,
                             armature_nodetype="NULL")
else:
    bpy.ops.wm.save_as_mainfile(filepath=out)
"""


def run_blender(motion: Motion, output: Path, options: dict, timeout: float = 600.0) -> None:
    """Run :data:`SCRIPT` on ``motion`` in a Blender subprocess writing ``output``."""
    with tempfile.TemporaryDirectory(prefix="mocap-blender-") as tmp:
        npz = Path(tmp) / "motion.npz"
        np.savez(npz, joint_names=np.array(motion.joint_names), parents=motion.parents, offsets=motion.offsets,
                 root_translation=motion.root_translation, rotations=motion.rotations, fps=motion.fps)
        home = Path(tmp) / "home"
        home.mkdir()
        env = dict(os.environ, HOME=str(home))
        options = dict(options, output=str(output))
        try:
            run = subprocess.run([sys.executable, "-c", SCRIPT, str(npz), json.dumps(options)], env=env,
                                 capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise OutputError(f"Blender did not finish within {timeout:.0f} s", output) from exc
        if run.returncode != 0:
            if "No module named 'bpy'" in run.stderr:
                raise OutputError("writing this format needs bpy (Blender as a Python module): "
                                  "pip install 'mocap[blender]'", output)
            raise OutputError(f"Blender failed: {run.stderr.strip()[-1500:]}", output)

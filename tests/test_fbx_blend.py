"""The .blend writer (same Blender armature builder as the FBX writer) saves a file Blender opens
with the armature, its action over every frame and the motion's frame rate; bad outputs are
user errors."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from exporters.fbx import write_blend, write_fbx
from mocap.retarget import forward_kinematics
from mocap.errors import OutputError
from mocap.retarget import JOINT_NAMES, whole_body_motion
from mocap.synthetic import human_motion
from test_armature import keypoints3d

pytestmark = pytest.mark.blender

OPEN = r"""
import json, sys
import bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
scene = bpy.context.scene
arm = next(o for o in scene.objects if o.type == "ARMATURE")
scene.frame_set(5)
print(json.dumps({"bones": [b.name for b in arm.pose.bones], "range": list(arm.animation_data.action.frame_range),
                  "fps": scene.render.fps / scene.render.fps_base,
                  "heads": [list(arm.matrix_world @ b.head) for b in arm.pose.bones]}))
"""


def test_blend_file_opens_with_the_animated_armature(tmp_path):
    if importlib.util.find_spec("bpy") is None:
        pytest.skip("bpy (Blender as a Python module) is not installed")
    motion = whole_body_motion(keypoints3d(human_motion(12, 24.0, seed=2), fps=24.0))
    path = write_blend(motion, tmp_path / "take.blend")
    (tmp_path / "home").mkdir()
    run = subprocess.run([sys.executable, "-c", OPEN, str(path)], env=dict(os.environ, HOME=str(tmp_path / "home")),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    info = json.loads(run.stdout.strip().splitlines()[-1])
    assert info["bones"] == list(JOINT_NAMES) and info["range"] == [1.0, 12.0] and info["fps"] == 24.0
    # Frame 5 of a .blend is our frame 4.
    assert np.abs(np.array(info["heads"]) - forward_kinematics(motion)[4]).max() < 1e-5
    with pytest.raises(OutputError, match="does not exist"):
        write_fbx(motion, tmp_path / "missing" / "take.fbx")
    with pytest.raises(ValueError, match="axis"):
        write_fbx(motion, tmp_path / "take.fbx", primary_bone_axis="W")

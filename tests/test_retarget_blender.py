"""The whole-body armature (body and fingers) written as BVH, FBX and glTF and imported by Blender's
own importers lands on our joint positions, at the right frame count and rate, without flips.

One Blender subprocess per motion imports the three files (HOME in a temporary folder, since
Blender writes under ~/.config) and saves each pose bone's world head position and world rotation
at every frame. Motions: the project's synthetic person (walking, squatting, turning, fingers
curling) and the real Pose2Sim demo triangulated from its OpenPose keypoints (no hands: its
fingers stay in rest pose, riding on the wrists).
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from exporters import write_bvh
from exporters.fbx import write_fbx
from exporters.gltf import write_gltf
from mocap import rotations as rot
from mocap.retarget import forward_kinematics
from mocap.retarget import FINGER_JOINTS, JOINT_NAMES, apply_rig, whole_body_motion
from test_armature import keypoints3d

pytestmark = pytest.mark.blender

IMPORT_SCRIPT = r"""
import json, sys
import bpy
import numpy as np

out, fps, files = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
info = {}
for i, path in enumerate(files):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    if path.endswith(".bvh"):
        result = bpy.ops.import_anim.bvh(filepath=path, update_scene_fps=True, update_scene_duration=True)
    elif path.endswith(".fbx"):
        result = bpy.ops.import_scene.fbx(filepath=path)
    else:
        # glTF keeps time in seconds: the importer turns it into frames at the scene's rate.
        scene.render.fps, scene.render.fps_base = int(round(fps)), round(fps) / fps
        result = bpy.ops.import_scene.gltf(filepath=path)
    arm = next(o for o in scene.objects if o.type == "ARMATURE")
    start, end = arm.animation_data.action.frame_range
    heads, quats = [], []
    for frame in range(int(start), int(end) + 1):
        scene.frame_set(frame)
        heads.append([list(arm.matrix_world @ pb.head) for pb in arm.pose.bones])
        quats.append([list((arm.matrix_world @ pb.matrix).to_quaternion()) for pb in arm.pose.bones])
    np.save(f"{out}_{i}_heads.npy", np.array(heads))
    np.save(f"{out}_{i}_quats.npy", np.array(quats))
    info[str(i)] = {"result": sorted(result), "fps": scene.render.fps / scene.render.fps_base,
                    "start": start, "end": end, "bones": [pb.name for pb in arm.pose.bones],
                    "parents": [pb.parent.name if pb.parent else None for pb in arm.pose.bones]}
with open(out + ".json", "w") as f:
    json.dump(info, f)
"""
FORMATS = ("bvh", "fbx", "glb", "mixamo.fbx")


def _keypoints(source, request):
    if source == "human_motion":
        from mocap.synthetic import human_motion

        return human_motion(120, 25.0, seed=3), 25.0
    return request.getfixturevalue("pose2sim_subject")


@pytest.fixture(scope="module", params=["human_motion", "pose2sim"])
def imported(request, tmp_path_factory):
    if importlib.util.find_spec("bpy") is None:
        pytest.skip("bpy (Blender as a Python module) is not installed")
    xyz, fps = _keypoints(request.param, request)
    motion = whole_body_motion(keypoints3d(xyz, fps=fps))
    folder = tmp_path_factory.mktemp("wholebody")
    files = [write_bvh(motion, folder / "take.bvh"), write_fbx(motion, folder / "take.fbx"),
             write_gltf(motion, folder / "take.glb"), write_fbx(apply_rig(motion, "mixamo"), folder / "mixamo.fbx")]
    (folder / "home").mkdir()
    run = subprocess.run([sys.executable, "-c", IMPORT_SCRIPT, str(folder / "out"), str(fps), *map(str, files)],
                         env=dict(os.environ, HOME=str(folder / "home")), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    info = json.loads((folder / "out.json").read_text())
    results = {}
    for i, fmt in enumerate(FORMATS):
        results[fmt] = (info[str(i)], np.load(folder / f"out_{i}_heads.npy"), np.load(folder / f"out_{i}_quats.npy"))
    return request.param, motion, results


def _step_degrees(q):
    """Angle (degrees) each rotation turns between consecutive frames: (T-1, J)."""
    return np.degrees(2 * np.arccos(np.clip(np.abs(np.sum(q[1:] * q[:-1], axis=-1)), 0.0, 1.0)))


@pytest.mark.parametrize("fmt", ["bvh", "fbx", "glb"])
def test_blender_reproduces_the_whole_body_joint_positions(imported, fmt):
    source, motion, results = imported
    info, heads, quats = results[fmt]
    assert info["result"] == ["FINISHED"]
    # glTF keys are float32 seconds: frame 119 comes back as 119.0000076.
    assert round(info["end"] - info["start"]) + 1 == motion.n_frames == heads.shape[0]
    assert abs(info["fps"] - motion.fps) < 1e-6
    assert set(info["bones"]) == set(JOINT_NAMES)
    order = [info["bones"].index(n) for n in JOINT_NAMES]
    assert [info["parents"][i] for i in order] == [None if p < 0 else JOINT_NAMES[p] for p in motion.parents]
    ours, world = forward_kinematics(motion, with_rotations=True)
    error = np.linalg.norm(heads[:, order] - ours, axis=-1)  # (T, 60) metres
    fingers = [JOINT_NAMES.index(n) for n in FINGER_JOINTS]
    body = [j for j in range(len(JOINT_NAMES)) if j not in fingers]
    print(f"\n{source} {fmt}: Blender vs our joints: body mean {error[:, body].mean() * 1000:.4f} mm "
          f"(max {error[:, body].max() * 1000:.4f}), fingers mean {error[:, fingers].mean() * 1000:.4f} mm "
          f"(max {error[:, fingers].max() * 1000:.4f})")
    assert error[:, body].mean() < 0.005 and error[:, fingers].mean() < 0.003
    assert error.max() < 1e-4  # only float32 storage separates Blender from us
    # No flips: every bone turns between frames exactly as ours does (a flipped rotation would
    # turn by up to 180° in one frame). The bone's rest axes multiply on the right and cancel.
    steps = _step_degrees(quats[:, order])
    assert np.abs(steps - _step_degrees(world)).max() < 0.5


def test_blender_reads_the_mixamo_rig_fbx(imported):
    _, motion, results = imported
    info, heads, _ = results["mixamo.fbx"]
    rigged = apply_rig(motion, "mixamo")
    assert info["bones"] == list(rigged.joint_names)
    assert info["parents"][info["bones"].index("mixamorig:LeftHandIndex1")] == "mixamorig:LeftHand"
    assert info["parents"][info["bones"].index("mixamorig:Neck")] == "mixamorig:Spine2"
    ours = forward_kinematics(rigged)
    assert np.linalg.norm(heads - ours, axis=-1).max() < 1e-4


def test_whole_body_motion_is_continuous(imported):
    source, motion, _ = imported
    q = motion.rotations
    assert np.all(np.sum(q[1:] * q[:-1], axis=-1) > 0)
    assert np.allclose(np.linalg.norm(q, axis=-1), 1.0)
    steps = _step_degrees(rot.normalize(q))
    print(f"\n{source}: joint rotation steps between frames: 99th percentile {np.percentile(steps, 99):.1f}°, "
          f"max {steps.max():.1f}°")
    if source == "human_motion":
        # The generating person never turns a joint by more than ~20° between frames.
        assert steps.max() < 30
    else:
        # Real keypoints jitter (2-5 % bone-length noise, misdetected toes); a flip would be ~180°.
        assert np.percentile(steps, 99) < 15 and steps.max() < 60

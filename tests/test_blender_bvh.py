"""Our BVH imported by Blender's own importer lands on our keypoints, in Blender's Z-up world.

Blender runs in a subprocess (with HOME in a temporary folder, since Blender writes under
~/.config) that imports the file once with the importer's defaults (forward -Z, up Y, scale 1,
rotation mode native), reads the world position of every pose bone's head at each frame and
saves them for this process to compare.
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from exporters import write_bvh
from mocap.retarget import body_armature as A
from test_armature import keypoints3d, synthetic_body

pytestmark = pytest.mark.blender

FPS, N_FRAMES = 25.0, 100

BLENDER_SCRIPT = r"""
import json, sys
import bpy
import numpy as np

bvh, out = sys.argv[1], sys.argv[2]
bpy.ops.wm.read_factory_settings(use_empty=True)
result = bpy.ops.import_anim.bvh(filepath=bvh, update_scene_fps=True, update_scene_duration=True)
scene = bpy.context.scene
arm = next(o for o in scene.objects if o.type == "ARMATURE")
start, end = arm.animation_data.action.frame_range
heads = []
for frame in range(int(start), int(end) + 1):
    scene.frame_set(frame)
    heads.append([list(arm.matrix_world @ pb.head) for pb in arm.pose.bones])
np.save(out + ".npy", np.array(heads))
with open(out + ".json", "w") as f:
    json.dump({"result": sorted(result), "fps": scene.render.fps, "fps_base": scene.render.fps_base,
               "start": start, "end": end, "bones": [pb.name for pb in arm.pose.bones]}, f)
"""


def _keypoints(source, request):
    """(T, 133, 3) keypoints and their frame rate:

    * ``armature``: our own animated armature (exact truth);
    * ``human_motion``: the project's synthetic person (walking, squatting, turning; its head
      keypoints do not keep a constant distance from mid-shoulders, so the head joint is off by up
      to a few millimetres);
    * ``triangulated``: that person filmed by 4 synthetic cameras (0.5 px noise, dropouts, a
      bystander) and triangulated: what `mocap triangulate` + `mocap export bvh` deliver;
    * ``pose2sim``: the real Pose2Sim demo triangulated from its OpenPose keypoints (60 fps).
    """
    if source == "armature":
        return synthetic_body(N_FRAMES, fps=FPS, seed=21)[0], FPS
    from mocap.synthetic import human_motion, synthetic_session
    from mocap.triangulate import triangulate

    if source == "human_motion":
        return human_motion(N_FRAMES, FPS, seed=3), FPS
    if source == "triangulated":
        group, kp2d, _ = synthetic_session(N_FRAMES, fps=FPS, bystander=True, seed=8)
        return triangulate(group, kp2d).xyz[:, 0], FPS
    return request.getfixturevalue("pose2sim_subject")


@pytest.fixture(scope="module", params=["armature", "human_motion", "triangulated", "pose2sim"])
def blender(request, tmp_path_factory):
    if importlib.util.find_spec("bpy") is None:
        pytest.skip("bpy (Blender as a Python module) is not installed")
    xyz, fps = _keypoints(request.param, request)
    folder = tmp_path_factory.mktemp("blender")
    motion = A.body_motion(keypoints3d(xyz, fps=fps))
    bvh = write_bvh(motion, folder / "take.bvh")
    (folder / "home").mkdir()
    env = dict(os.environ, HOME=str(folder / "home"))
    run = subprocess.run([sys.executable, "-c", BLENDER_SCRIPT, str(bvh), str(folder / "out")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    info = json.loads((folder / "out.json").read_text())
    info.update(n_frames=len(xyz), source_fps=fps)
    return info, np.load(folder / "out.npy"), A.target_positions(xyz), request.param


def test_blender_reads_frame_count_and_rate(blender):
    info, heads, _, _ = blender
    assert info["result"] == ["FINISHED"]
    assert info["end"] - info["start"] + 1 == info["n_frames"] and heads.shape[0] == info["n_frames"]
    assert abs(info["fps"] / info["fps_base"] - info["source_fps"]) < 1e-6
    assert set(info["bones"]) == set(A.JOINT_NAMES)


def test_blender_bone_heads_sit_on_the_keypoints(blender):
    info, heads, targets, source = blender
    order = [info["bones"].index(name) for name in A.JOINT_NAMES]
    # Blender's frame 1 is our frame 0: every frame is compared.
    error = np.linalg.norm(heads[:, order] - targets, axis=-1)  # (frames, joints), metres; NaN: target unseen
    print(f"\n{source}: Blender vs keypoint targets over {np.isfinite(error).sum()} joint positions: "
          f"mean {np.nanmean(error) * 1000:.4f} mm, max {np.nanmax(error) * 1000:.4f} mm")
    if source == "pose2sim":
        # Real keypoints: bone lengths measured by triangulation vary 2-5 % from frame to frame
        # while the armature's are constant, so joints sit a little off their noisy targets.
        assert np.isfinite(error).mean() > 0.95 and np.nanmean(error) < 0.02
    elif source == "triangulated":
        # Triangulated keypoints carry ~1.5 mm of noise; where a keypoint is missing its joints
        # hold their last rotation, so compare the frames where the whole body was found.
        assert np.nanmean(error) < 0.005
        complete = np.isfinite(error).all(axis=1)
        assert complete.mean() > 0.9 and error[complete].max() < 0.02
    elif source == "armature":
        # Exact bone lengths: the only error left is Blender's float32 storage.
        assert error.max() < 1e-4
    else:
        body = [A.JOINT_INDEX[n] for n in A.JOINT_NAMES if n != "head"]
        assert error[:, body].max() < 1e-4 and error.max() < 0.01

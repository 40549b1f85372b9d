"""`mocap retarget` and `mocap export bvh|fbx|gltf|glb|c3d` run as a user runs them."""

import numpy as np
import pytest

from mocap.data import Keypoints3D, Motion
from mocap.skeleton.wholebody import LEFT_HAND
from mocap.synthetic import human_motion
from test_armature import keypoints3d
from test_cli import assert_user_error, mocap


@pytest.fixture(scope="module")
def pose3d(tmp_path_factory):
    folder = tmp_path_factory.mktemp("session")
    xyz = human_motion(30, 30.0, seed=8)
    xyz[:, LEFT_HAND] = np.nan  # the left hand was never seen
    return keypoints3d(xyz).save(folder / "pose3d.npz")


def test_retarget_to_mixamo_then_export(pose3d, tmp_path):
    result = mocap("retarget", pose3d, "--rig", "mixamo", "--foot-lock", "-o", tmp_path / "motion.npz")
    assert result.returncode == 0, result.stderr
    assert "62 mixamo bones" in result.stdout and "left in rest pose: left_wrist, left_thumb1," in result.stdout
    motion = Motion.load(tmp_path / "motion.npz")
    assert motion.joint_names[0] == "mixamorig:Hips" and motion.n_frames == 30
    result = mocap("export", "bvh", tmp_path / "motion.npz", "-o", tmp_path / "motion.bvh")
    assert result.returncode == 0, result.stderr
    assert "ROOT mixamorig:Hips" in (tmp_path / "motion.bvh").read_text()
    result = mocap("export", "glb", tmp_path / "motion.npz", "-o", tmp_path / "motion.glb")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "motion.glb").read_bytes()[:4] == b"glTF"


def test_export_straight_from_keypoints(pose3d, tmp_path):
    result = mocap("export", "c3d", pose3d, "-o", tmp_path / "markers.c3d")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "markers.c3d").stat().st_size % 512 == 0
    result = mocap("export", "fbx", pose3d, "--rig", "unreal", "-o", tmp_path / "take.fbx")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "take.fbx").read_bytes().startswith(b"Kaydara FBX Binary")


def test_user_errors_name_the_file(pose3d, tmp_path):
    assert_user_error(mocap("retarget", pose3d, "-o", tmp_path / "nowhere" / "motion.npz"), tmp_path / "nowhere",
                      "does not exist")
    assert_user_error(mocap("export", "gltf", pose3d, "-o", tmp_path / "nowhere" / "a.glb"), tmp_path / "nowhere")
    assert_user_error(mocap("export", "gltf", pose3d, "-o", tmp_path / "a.fbx"), ".glb or .gltf")
    mocap("retarget", pose3d, "-o", tmp_path / "motion.npz")
    assert_user_error(mocap("retarget", tmp_path / "motion.npz", "-o", tmp_path / "again.npz"), "motion.npz",
                      "takes 3D keypoints")
    assert_user_error(mocap("export", "c3d", tmp_path / "motion.npz", "-o", tmp_path / "m.c3d"), "takes 3D keypoints")
    assert Keypoints3D.load(pose3d).n_frames == 30
    np.savez(tmp_path / "foot_contacts.npz", contacts=np.zeros((29, 1, 2), dtype=bool))
    assert_user_error(mocap("retarget", pose3d, "--contacts", tmp_path / "foot_contacts.npz", "-o", tmp_path / "m.npz"),
                      "foot_contacts.npz", "expected (30, persons, 2)")


def test_retarget_locks_feet_with_the_filter_stage_contacts(pose3d, tmp_path):
    contacts = np.zeros((30, 1, 2), dtype=bool)
    contacts[5:15, 0, 0] = True
    np.savez(tmp_path / "foot_contacts.npz", contacts=contacts)
    result = mocap("retarget", pose3d, "--contacts", tmp_path / "foot_contacts.npz", "-o", tmp_path / "m.npz")
    assert result.returncode == 0, result.stderr
    assert "feet locked: left down 33%, right 0%" in result.stdout
    from mocap.retarget import forward_kinematics

    mocap("retarget", pose3d, "-o", tmp_path / "free.npz")
    locked, free = Motion.load(tmp_path / "m.npz"), Motion.load(tmp_path / "free.npz")
    j = locked.joint_names.index("left_ankle")
    drift = [np.linalg.norm(np.ptp(forward_kinematics(m)[5:15, j], axis=0)) for m in (locked, free)]
    # The synthetic person glides: where the leg cannot reach the lock point it stretches toward it.
    assert drift[0] < 0.25 * drift[1], drift

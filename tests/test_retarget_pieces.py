"""Retargeting in pieces equals retargeting whole: a long clip through mocap.retarget.pieces (small
pieces here), live frames through the same solver, against the whole-clip fit of the same
keypoints. The synthetic person has what crosses a piece boundary: a gap of every keypoint, a
hand missing across a cut, a joint first seen after the first piece, foot contacts over cuts."""

import dataclasses

import numpy as np
import pytest

import mocap.api
from mocap.data import Keypoints3D
from mocap.retarget import pieces, retarget, solve_pose, whole_body_motion
from mocap.retarget.wholebody_armature import unwrap
from mocap.skeleton.wholebody import INDEX
from mocap.synthetic import human_motion

T, FPS, PIECE = 730, 60.0, 100


def _spin(xyz, points, about, angle):
    """``points`` of each frame turned by ``angle`` (T,) about the vertical axis through ``about`` (T, 3)
    or, when ``about`` is a pair of keypoints, about the line between them."""
    if isinstance(about, tuple):
        a, b = xyz[:, INDEX[about[0]]], xyz[:, INDEX[about[1]]]
        axis = (b - a) / np.linalg.norm(b - a, axis=-1, keepdims=True)
    else:
        a, axis = about, np.broadcast_to([0.0, 0.0, 1.0], about.shape)
    for k in points:
        v = xyz[:, k] - a
        c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
        along = np.sum(v * axis, -1, keepdims=True) * axis
        xyz[:, k] = a + along + c * (v - along) + s * np.cross(axis, v)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """Two people (the second one is the subject for ``person=1``), frames numbered from 7 by 2.

    The pieces (of 100 frames) are cut at 151 (the left elbow is first seen at 150), 251, 351, ...
    Both people turn round and round (quaternion signs flip over the clip), and the left foot's
    toes spin once about the foot in the second half (the foot twist goes all the way round).
    """
    rng = np.random.default_rng(0)
    xyz = np.stack([human_motion(T, FPS, seed=3), human_motion(T, FPS, seed=4)], axis=1)
    for p in range(2):
        hips = xyz[:, p, [INDEX["left_hip"], INDEX["right_hip"]]].mean(axis=1)
        _spin(xyz[:, p], range(133), hips, np.linspace(0, 5 * np.pi, T))  # turning on the spot
        turn = np.clip(np.arange(T) - 300, 0, 300) * 2 * np.pi / 300
        _spin(xyz[:, p], [INDEX["left_small_toe"], INDEX["left_heel"]], ("left_ankle", "left_big_toe"), turn)
    xyz[:150, :, INDEX["left_elbow"]] = np.nan  # first seen in the second piece
    xyz[340:370, :, 91:112] = np.nan  # the left hand missing across the cut at 351
    xyz[245:262] = np.nan  # nothing at all across the cut at 251
    xyz[rng.random(xyz.shape[:3]) < 0.03] = np.nan
    shape = xyz.shape[:3]
    kp = Keypoints3D(xyz=xyz, score=np.ones(shape), reproj_error=np.ones(shape), n_views=np.full(shape, 3), fps=FPS,
                     frame_index=7 + 2 * np.arange(T))
    path = tmp_path_factory.mktemp("pieces") / "pose3d.npz"
    kp.save(path)
    return kp, path


def _assert_equal_motions(got, want):
    assert got.joint_names == want.joint_names and np.array_equal(got.parents, want.parents)
    np.testing.assert_allclose(got.offsets, want.offsets, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.root_translation, want.root_translation, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.rotations, want.rotations, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got.frame_index, want.frame_index)
    assert got.fps == want.fps


@pytest.mark.parametrize("world, settings", [
    ("floor", dict(rig="mixamo", foot_lock=True)),  # contacts found on the known floor
    ("z_up", dict(rig="unreal", foot_lock=True)),  # contacts on the floor estimated from the whole clip
    ("floor", dict(rig="default", contacts="given")),
])
def test_a_clip_retargeted_in_pieces_equals_the_whole_clip(clip, tmp_path, world, settings):
    kp, path = clip
    kp = dataclasses.replace(kp, world_frame=world)
    kp.save(tmp_path / "pose3d.npz")
    if settings.get("contacts") == "given":
        contacts = np.zeros((T, 2), bool)
        contacts[90:140, 0] = contacts[300:520, 1] = contacts[600:, 0] = True  # spans over cuts, to the end
        settings = dict(settings, contacts=contacts)
    whole = retarget(kp, 1, **settings)
    got = pieces.retarget_file(tmp_path / "pose3d.npz", tmp_path / "motion.npz", 1, piece=PIECE, **settings)
    _assert_equal_motions(got.motion, whole.motion)
    assert got.rest_joints == whole.rest_joints and got.joint_names == whole.motion.joint_names
    assert got.floor_known == whole.floor_known and got.n_frames == T
    if whole.contacts is None:
        assert got.contacts is None
    else:
        np.testing.assert_array_equal(got.contacts, whole.contacts)
        assert 0.02 < whole.contacts.mean() < 0.95  # the feet were locked, and not all the time
    assert not list(tmp_path.glob(".retarget_*")) and not list(tmp_path.glob(".chunks_*"))  # scratch removed


def test_api_retarget_goes_in_pieces_for_a_long_clip(clip, tmp_path, monkeypatch):
    kp, path = clip
    monkeypatch.setattr(pieces, "PIECE", PIECE)
    solved = []
    original = pieces.solve_pose
    monkeypatch.setattr(pieces, "solve_pose", lambda xyz, *a, **k: solved.append(len(xyz)) or original(xyz, *a, **k))
    result = mocap.api.retarget(path, tmp_path / "motion.npz", rig="unity")
    assert len(solved) == 7 and 150 < solved[0] < 2 * PIECE  # the first piece reaches past frame 150
    _assert_equal_motions(result.motion, retarget(kp, 0, rig="unity").motion)


def test_unwrap_continued_from_its_carry_equals_numpy_unwrap():
    rng = np.random.default_rng(1)
    angle = np.cumsum(rng.normal(0, 1.5, 500)) % (2 * np.pi) - np.pi  # jumps of about +-2 pi, wrapped
    whole, carry = unwrap(angle)
    np.testing.assert_array_equal(whole, np.unwrap(angle))
    first, carry = unwrap(angle[:210])
    second, _ = unwrap(angle[210:], carry[-1])
    np.testing.assert_array_equal(np.concatenate([first, second]), whole)


def test_frame_by_frame_solving_equals_the_whole_clip(clip):
    """The live path: one frame at a time with the state handed on, no foot-twist filter."""
    kp, _ = clip
    xyz = kp.xyz[:400, 0]  # the late elbow, the empty frames, the hand gap
    n = np.ones((400, 1, 133))
    whole = whole_body_motion(Keypoints3D(xyz=xyz[:, None], score=n, reproj_error=n, n_views=n, fps=FPS),
                              foot_twist_window=1)
    pose = solve_pose(xyz[:230])  # a start that has seen every joint (as live calibration frames have)
    rotations, roots, state = [pose.rotations], [pose.root], pose.state
    for t in range(230, len(xyz)):
        pose = solve_pose(xyz[t:t + 1], state)
        rotations.append(pose.rotations)
        roots.append(pose.root)
        state = pose.state
    np.testing.assert_allclose(np.concatenate(rotations), whole.rotations, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.concatenate(roots), whole.root_translation, rtol=0, atol=1e-12)

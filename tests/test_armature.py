"""The body armature fitted to keypoints whose truth is known.

``synthetic_body`` animates the armature itself with smooth joint rotations and reads the 133
keypoints off it (ears, eyes, toes, heels and hand knuckles fixed in their bone's frame), so the
rotations that produced the keypoints are the ground truth. It is shared with the exporter and
Blender tests.
"""

import numpy as np
import pytest

from mocap.retarget import body_armature as A
from mocap import rotations as rot
from mocap.data import Keypoints3D
from mocap.skeleton.wholebody import INDEX

X, Y, Z = np.eye(3)
# Rest offsets written out from the documented T-pose (Z up, facing -Y, left +X), independently
# of mocap.retarget.body_armature.rest_offsets.
LENGTHS = dict(hip=0.095, trunk=0.52, clavicle=0.18, neck=0.2, upper_arm=(0.30, 0.29), forearm=(0.25, 0.26),
               thigh=(0.44, 0.45), shin=(0.41, 0.42), foot=(0.16, 0.17))


def _rest_offsets():
    L = LENGTHS
    off = {"pelvis": 0.86 * Z, "spine": 0 * Z, "neck": L["trunk"] * Z, "head": L["neck"] * Z}
    for i, (s, sign) in enumerate((("left", 1.0), ("right", -1.0))):
        off.update({f"{s}_clavicle": L["trunk"] * Z, f"{s}_shoulder": sign * L["clavicle"] * X,
                    f"{s}_elbow": sign * L["upper_arm"][i] * X, f"{s}_wrist": sign * L["forearm"][i] * X,
                    f"{s}_hip": sign * L["hip"] * X, f"{s}_knee": -L["thigh"][i] * Z,
                    f"{s}_ankle": -L["shin"][i] * Z, f"{s}_toe": -L["foot"][i] * Y})
    return np.array([off[n] for n in A.JOINT_NAMES])


def _wave(rng, t, amplitude, n=3):
    """A smooth random curve: a few sines of random frequency (0.2-1.2 Hz) and phase."""
    f = rng.uniform(0.2, 1.2, n)
    ph = rng.uniform(0, 2 * np.pi, n)
    return amplitude * np.mean(np.sin(2 * np.pi * f[:, None] * t + ph[:, None]), axis=0) * np.sqrt(2)


def synthetic_body(n_frames=120, fps=30.0, seed=0, bent=True):
    """(keypoints (T, 133, 3), truth Motion) with the conventions body_motion recovers exactly.

    Elbows and knees are hinges about their rest twist axis, bent 30-100° with ``bent`` and
    within ±6° of straight (so also over-straightened) without. The spine only twists relative to
    the pelvis (with nothing between hips and shoulders, bending forward shows as the pelvis
    tilting about the hip line), both clavicles share one rotation about the forward axis (the
    neck stays at mid-shoulders), and the head only nods relative to the neck (its ears line sets
    the neck's twist); the pelvis leans and rolls freely. The rest is free 3-DOF motion.
    """
    rng = np.random.default_rng(seed)
    T = n_frames
    t = np.arange(T) / fps
    J = len(A.JOINT_NAMES)
    q = np.tile(rot.identity(), (T, J, 1))
    idx = A.JOINT_INDEX

    def free(amplitude, order="ZXY"):
        return rot.from_euler(np.stack([_wave(rng, t, a) for a in amplitude], axis=1), order)

    def about(axis, angle):
        return rot.from_axis_angle(axis, angle)

    heading = 0.9 * t + rng.uniform(-3, 3)  # keeps turning: several full turns in long motions
    q[:, idx["pelvis"]] = rot.multiply(about(Z, heading), free([0.0, 0.25, 0.2]))
    q[:, idx["spine"]] = about(Z, _wave(rng, t, 0.4))
    q[:, idx["neck"]] = free([0.5, 0.3, 0.3])
    q[:, idx["head"]] = about(X, _wave(rng, t, 0.4))
    shrug = about(Y, _wave(rng, t, 0.15))
    for s, sign in (("left", 1.0), ("right", -1.0)):
        hinge_arm = -sign * Z
        q[:, idx[f"{s}_clavicle"]] = shrug
        q[:, idx[f"{s}_shoulder"]] = free([1.0, 0.6, 0.8])
        q[:, idx[f"{s}_wrist"]] = free([0.5, 0.5, 0.5])
        q[:, idx[f"{s}_hip"]] = free([0.3, 0.8, 0.3])
        q[:, idx[f"{s}_ankle"]] = free([0.2, 0.3, 0.2])
        if bent:
            elbow, knee = 1.13 + _wave(rng, t, 0.6), 1.13 + _wave(rng, t, 0.6)
        else:
            elbow, knee = _wave(rng, t, 0.1), _wave(rng, t, 0.1)
        q[:, idx[f"{s}_elbow"]] = about(hinge_arm, np.clip(elbow, np.radians(30) if bent else -1, 2.0))
        q[:, idx[f"{s}_knee"]] = about(X, np.clip(knee, np.radians(30) if bent else -1, 2.0))
    offsets = _rest_offsets()
    root = np.stack([1.5 * np.sin(0.3 * t), 1.2 * np.sin(0.2 * t + 1.0), 0.9 + 0.03 * np.sin(3 * t)], axis=1)
    truth = A.Motion(joint_names=A.JOINT_NAMES, parents=A.PARENTS, offsets=offsets, root_translation=root,
                     rotations=q, fps=fps)
    pos, W = A.forward_kinematics(truth, with_rotations=True)

    kp = np.full((T, 133, 3), np.nan)

    def put(name, joint, local=(0.0, 0.0, 0.0)):
        j = idx[joint]
        kp[:, INDEX[name]] = pos[:, j] + rot.rotate(W[:, j], np.asarray(local))

    for s, sign in (("left", 1.0), ("right", -1.0)):
        for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
            put(f"{s}_{part}", f"{s}_{part}")
        put(f"{s}_big_toe", f"{s}_toe")
        put(f"{s}_small_toe", f"{s}_toe", (sign * 0.045, 0.03, 0.0))
        put(f"{s}_heel", f"{s}_ankle", (0.0, 0.05, -0.06))
        put(f"{s}_ear", "head", (sign * 0.075, 0.0, 0.0))
        put(f"{s}_eye", "head", (sign * 0.032, -0.09, 0.0))
        put(f"{s}_hand_wrist", f"{s}_wrist")
        put(f"{s}_hand_middle1", f"{s}_wrist", (sign * 0.09, 0.0, 0.0))
        put(f"{s}_hand_index1", f"{s}_wrist", (sign * 0.085, -0.025, 0.0))
        put(f"{s}_hand_pinky1", f"{s}_wrist", (sign * 0.08, 0.03, 0.0))
    put("nose", "head", (0.0, -0.11, -0.03))
    return kp, truth


def keypoints3d(xyz, fps=30.0):
    """Wrap (T, 133, 3) or (T, P, 133, 3) points as Keypoints3D."""
    xyz = np.asarray(xyz, dtype=float)
    if xyz.ndim == 3:
        xyz = xyz[:, None]
    seen = np.isfinite(xyz).all(-1)
    return Keypoints3D(xyz=xyz, score=seen.astype(float), reproj_error=np.where(seen, 1.0, np.nan),
                       n_views=np.where(seen, 3, 0), fps=fps)


def _angle_between(a, b):
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1))


def test_recovers_the_generating_motion_exactly():
    xyz, truth = synthetic_body(150, seed=1)
    motion = A.body_motion(keypoints3d(xyz))
    assert motion.joint_names == A.JOINT_NAMES and motion.fps == 30.0
    assert np.abs(motion.offsets[1:] - truth.offsets[1:]).max() < 1e-9  # medians of constant lengths
    pos, W = A.forward_kinematics(motion, with_rotations=True)
    true_pos, true_W = A.forward_kinematics(truth, with_rotations=True)
    assert np.abs(pos - true_pos).max() < 1e-9
    # Every joint's world orientation, twist included: pelvis and chest from the hip and shoulder
    # lines, head from ears and eyes, limbs from the elbow / knee planes, feet and hands.
    dots = np.abs(np.sum(W * true_W, axis=-1))
    assert 1 - dots.min() < 1e-12
    assert np.abs(motion.root_translation - truth.root_translation).max() < 1e-12
    assert np.abs(pos - A.target_positions(xyz)).max() < 1e-9


def test_bones_point_exactly_at_noisy_keypoints_with_median_lengths():
    xyz, _ = synthetic_body(200, seed=2)
    rng = np.random.default_rng(3)
    noisy = xyz + rng.normal(0.0, 0.01, xyz.shape)  # 1 cm noise: lengths now vary frame to frame
    motion = A.body_motion(keypoints3d(noisy))
    pos = A.forward_kinematics(motion)
    target = A.target_positions(noisy)
    lengths = np.linalg.norm(motion.offsets, axis=1)
    for j, p in enumerate(A.PARENTS):
        if p < 0 or lengths[j] == 0:
            continue
        assert _angle_between(pos[:, j] - pos[:, p], target[:, j] - target[:, p]).max() < 1e-9, A.JOINT_NAMES[j]
        # The spine and the clavicles start at their parent's position (zero offset / shared start).
        start = p if A.JOINT_NAMES[p] != "spine" else A.JOINT_INDEX["pelvis"]
        expected = np.median(np.linalg.norm(target[:, j] - target[:, start], axis=-1))
        assert abs(lengths[j] - expected) < 1e-12, A.JOINT_NAMES[j]
    # Twist: the pelvis' X axis is the hip line; the chest's X is the shoulder line made
    # perpendicular to the trunk.
    _, W = A.forward_kinematics(motion, with_rotations=True)
    hip_line = noisy[:, INDEX["left_hip"]] - noisy[:, INDEX["right_hip"]]
    assert _angle_between(rot.rotate(W[:, 0], X), hip_line).max() < 1e-9
    trunk = target[:, A.JOINT_INDEX["neck"]] - target[:, 0]
    shoulders = noisy[:, INDEX["left_shoulder"]] - noisy[:, INDEX["right_shoulder"]]
    trunk_unit = trunk / np.linalg.norm(trunk, axis=1, keepdims=True)
    shoulders_perp = shoulders - np.sum(shoulders * trunk_unit, axis=1, keepdims=True) * trunk_unit
    assert _angle_between(rot.rotate(W[:, A.JOINT_INDEX["spine"]], X), shoulders_perp).max() < 1e-9


def test_straight_limbs_do_not_spin_and_quaternions_stay_continuous():
    xyz, truth = synthetic_body(400, seed=4, bent=False)  # elbows and knees within ±6° of straight
    motion = A.body_motion(keypoints3d(xyz))
    q = motion.rotations
    assert np.all(np.sum(q[1:] * q[:-1], axis=-1) >= 0)
    assert np.all(np.isfinite(q))
    pos, W = A.forward_kinematics(motion, with_rotations=True)
    assert np.abs(pos - A.target_positions(xyz)).max() < 1e-9
    # A spinning bone would turn by large angles between frames; here every world rotation moves
    # about as fast as the generating motion does.
    _, true_W = A.forward_kinematics(truth, with_rotations=True)

    def step(w):
        return np.degrees(2 * np.arccos(np.clip(np.abs(np.sum(w[1:] * w[:-1], axis=-1)), 0, 1)))

    assert np.all(step(W).max(axis=0) < 1.5 * step(true_W).max(axis=0) + 1.0)


def test_missing_keypoints_keep_the_previous_rotation():
    xyz, _ = synthetic_body(80, seed=5)
    full = A.body_motion(keypoints3d(xyz))
    gappy = xyz.copy()
    gappy[:5] = np.nan  # nothing at all at the start
    gappy[40:50, INDEX["left_wrist"]] = np.nan
    gappy[60:63, INDEX["left_hip"]] = np.nan
    motion = A.body_motion(keypoints3d(gappy))
    assert np.all(np.isfinite(motion.rotations)) and np.all(np.isfinite(motion.root_translation))
    q = motion.rotations
    elbow = A.JOINT_INDEX["left_elbow"]
    # The forearm holds frame 39's local rotation through the gap.
    assert np.abs(np.abs(np.sum(q[40:50, elbow] * q[39, elbow], axis=-1)) - 1).max() < 1e-12
    # Before the first valid frame every joint takes that frame's rotation; the root its position.
    assert np.abs(np.abs(np.sum(q[:5] * q[5], axis=-1)) - 1).max() < 1e-12
    assert np.abs(motion.root_translation[:5] - motion.root_translation[5]).max() == 0
    # The pelvis needs both hips: it and the root hold frame 59 during 60-62.
    assert np.abs(motion.root_translation[60:63] - motion.root_translation[59]).max() == 0
    assert np.abs(np.abs(np.sum(q[60:63, 0] * q[59, 0], axis=-1)) - 1).max() < 1e-12
    # Frames with everything present are fitted as without gaps.
    pos, ref = A.forward_kinematics(motion), A.forward_kinematics(full)
    assert np.abs(pos[70:] - ref[70:]).max() < 1e-9
    assert np.abs(pos[20:40] - ref[20:40]).max() < 1e-9


def test_joint_never_seen_stays_in_rest_and_bad_person_is_rejected():
    xyz, _ = synthetic_body(20, seed=6)
    xyz[:, INDEX["right_hand_middle1"]] = np.nan  # no right hand at all
    motion = A.body_motion(keypoints3d(xyz))
    wrist = A.JOINT_INDEX["right_wrist"]
    assert np.abs(np.abs(motion.rotations[:, wrist, 0]) - 1).max() < 1e-12
    two = keypoints3d(np.stack([xyz, xyz + 1.0], axis=1))
    assert np.abs(A.body_motion(two, person=1).root_translation - motion.root_translation - 1.0).max() < 1e-12
    from mocap.errors import SettingsError
    with pytest.raises(SettingsError, match="person 2"):
        A.body_motion(two, person=2)


def test_body_joint_keypoints_cover_every_joint():
    assert set(A.BODY_JOINT_KEYPOINTS) == set(A.JOINT_NAMES)
    assert all(n in INDEX for names in A.BODY_JOINT_KEYPOINTS.values() for n in names)
    xyz, _ = synthetic_body(5, seed=7)
    targets = A.target_positions(xyz)
    mid = 0.5 * (xyz[:, INDEX["left_ear"]] + xyz[:, INDEX["right_ear"]])
    assert np.abs(targets[:, A.JOINT_INDEX["head"]] - mid).max() < 1e-15

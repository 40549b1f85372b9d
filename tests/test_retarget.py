"""The whole-body armature (body + every finger joint), missing limbs, and foot locking, against
ground truth: the project's synthetic person (``human_motion``, rigid palms and constant
phalanges, so every joint can sit exactly on its keypoint) and hand-built contact spans."""

import numpy as np
import pytest

from mocap import rotations as rot
from mocap.retarget import forward_kinematics
from mocap.retarget import (
    FINGER_JOINTS, JOINT_INDEX, JOINT_NAMES, PARENTS, lock_feet, retarget, target_positions,
    unseen_joints, whole_body_motion,
)
from mocap.skeleton.wholebody import INDEX, LEFT_HAND
from mocap.synthetic import human_motion
from test_armature import keypoints3d, synthetic_body

X, Y, Z = np.eye(3)


@pytest.fixture(scope="module")
def person():
    xyz = human_motion(240, 30.0, seed=5)
    return xyz, whole_body_motion(keypoints3d(xyz))


def test_every_joint_sits_on_its_keypoint_fingers_included(person):
    xyz, motion = person
    assert motion.joint_names == JOINT_NAMES and len(JOINT_NAMES) == 60
    assert np.array_equal(motion.parents, PARENTS)
    # Depth-first: each joint's subtree follows it (the order a BVH file lists joints in).
    for j in range(1, len(PARENTS)):
        assert PARENTS[j] == j - 1 or PARENTS[j] in PARENTS[:j] or PARENTS[j] < j
    assert motion.parents[JOINT_INDEX["left_index1"]] == JOINT_INDEX["left_wrist"]
    assert motion.parents[JOINT_INDEX["right_pinky4"]] == JOINT_INDEX["right_pinky3"]
    pos = forward_kinematics(motion)
    error = np.linalg.norm(pos - target_positions(xyz), axis=-1)
    head = JOINT_INDEX["head"]  # human_motion's ears do not keep a constant distance from the neck
    others = [j for j in range(60) if j != head]
    assert error[:, others].max() < 1e-9 and error[:, head].max() < 0.003
    fingers = [JOINT_INDEX[n] for n in FINGER_JOINTS]
    tips = pos[:, [JOINT_INDEX["left_index4"]]][:, 0]
    assert np.abs(tips - xyz[:, INDEX["left_hand_index4"]]).max() < 1e-9
    assert np.all(np.isfinite(motion.rotations[:, fingers]))


def test_finger_rest_pose_is_a_flat_hand_along_the_arm(person):
    _, motion = person
    off = dict(zip(JOINT_NAMES, motion.offsets))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        for finger in ("index", "middle", "ring", "pinky"):
            for j in (2, 3, 4):
                d = off[f"{side}_{finger}{j}"]
                assert np.allclose(d / np.linalg.norm(d), sign * X)  # straight fingers, along the arm
        thumb = off[f"{side}_thumb3"]
        assert np.allclose(thumb / np.linalg.norm(thumb), (sign * X - Y) / np.sqrt(2))
        # Knuckles lie ahead of the wrist along the arm, index in front (-Y) of the pinky.
        assert sign * off[f"{side}_middle1"][0] > 0.05
        assert off[f"{side}_index1"][1] < off[f"{side}_pinky1"][1]
    # Phalanx lengths are the keypoint distances (the synthetic hand's are constant).
    xyz, _ = person
    length = np.linalg.norm(xyz[0, INDEX["left_hand_ring3"]] - xyz[0, INDEX["left_hand_ring2"]])
    assert abs(np.linalg.norm(off["left_ring3"]) - length) < 1e-12


def test_fingers_flex_about_the_palm_axis_and_never_spin(person):
    """Twist comes from the palm: every finger bone's rest lateral axis (-Y) stays perpendicular to
    the bone and in the palm's lateral direction, frame after frame."""
    _, motion = person
    _, world = forward_kinematics(motion, with_rotations=True)
    for side in ("left", "right"):
        palm_lateral = rot.rotate(world[:, JOINT_INDEX[f"{side}_wrist"]], -Y)
        for finger in ("index", "middle", "ring", "pinky"):
            for j in (1, 2, 3):
                w = world[:, JOINT_INDEX[f"{side}_{finger}{j}"]]
                lateral = rot.rotate(w, -Y)
                # The synthetic fingers fan out by up to 7° and the knuckle line tilts by 8°.
                assert np.degrees(np.arccos(np.clip(np.sum(lateral * palm_lateral, -1), -1, 1))).max() < 15
                # No spin: seen from the palm, the lateral axis barely moves between frames.
                in_palm = rot.rotate(rot.conjugate(world[:, JOINT_INDEX[f"{side}_wrist"]]), lateral)
                step = np.degrees(np.arccos(np.clip(np.sum(in_palm[1:] * in_palm[:-1], -1), -1, 1)))
                assert step.max() < 2
    q = motion.rotations
    assert np.all(np.sum(q[1:] * q[:-1], axis=-1) > 0.9)  # a few degrees per frame at most


def test_hands_alone_recover_the_synthetic_body_exactly():
    """On the armature's own synthetic body (no finger keypoints) the body is fitted as before and
    the fingers, never seen, stay in rest pose and are reported."""
    xyz, truth = synthetic_body(60, seed=9)
    kp = keypoints3d(xyz)
    motion = whole_body_motion(kp, foot_twist_window=1)
    true_pos = forward_kinematics(truth)
    pos = forward_kinematics(motion)
    for j, name in enumerate(truth.joint_names):
        assert np.abs(pos[:, JOINT_INDEX[name]] - true_pos[:, j]).max() < 1e-9, name
    rest = set(unseen_joints(kp))
    assert {"left_index2", "right_thumb3"} <= rest and not rest & {"pelvis", "left_knee", "head"}
    fingers = [JOINT_INDEX[n] for n in FINGER_JOINTS if n[-1] != "1"]
    assert np.abs(np.abs(motion.rotations[:, fingers, 0]) - 1).max() < 1e-12


def test_a_missing_leg_and_hand_are_left_in_rest_and_reported():
    xyz = human_motion(60, 30.0, seed=6)
    gappy = xyz.copy()
    for name in ("right_knee", "right_ankle", "right_big_toe", "right_small_toe", "right_heel"):
        gappy[:, INDEX[name]] = np.nan
    gappy[:, LEFT_HAND] = np.nan
    result = retarget(keypoints3d(gappy))
    rest = set(result.rest_joints)
    assert {"right_hip", "right_knee", "right_ankle", "right_toe"} <= rest
    assert set(n for n in FINGER_JOINTS if n.startswith("left_")) <= rest
    assert not rest & {"left_knee", "right_elbow", "right_index2", "pelvis"}
    m = result.motion
    assert np.all(np.isfinite(m.rotations)) and np.all(np.isfinite(m.root_translation))
    for name in ("right_hip", "right_knee", "left_index2"):
        assert np.abs(np.abs(m.rotations[:, JOINT_INDEX[name], 0]) - 1).max() < 1e-12, name
    # What is known is still exact: the right hand and the left leg.
    pos = forward_kinematics(m)
    target = target_positions(xyz)
    for name in ("right_index4", "left_toe", "left_knee", "right_wrist"):
        assert np.abs(pos[:, JOINT_INDEX[name]] - target[:, JOINT_INDEX[name]]).max() < 1e-9, name


def test_foot_locking_pins_the_ankle_during_contact_and_keeps_the_bones(person):
    xyz, motion = person
    T = motion.n_frames
    contacts = np.zeros((T, 2), dtype=bool)
    contacts[40:70, 0] = True
    contacts[100:130, 1] = True
    locked = lock_feet(motion, contacts, blend=4)
    before, after = forward_kinematics(motion), forward_kinematics(locked)
    for k, side in enumerate(("left", "right")):
        a = JOINT_INDEX[f"{side}_ankle"]
        span = np.flatnonzero(contacts[:, k])
        drift_before = np.ptp(before[span, a], axis=0).max()
        drift_after = np.ptp(after[span, a], axis=0).max()
        assert drift_before > 0.05 and drift_after < 1e-6, (side, drift_before, drift_after)
        # Far from any contact the leg is untouched.
        free = np.ones(T, bool)
        free[max(0, span[0] - 4):span[-1] + 5] = False
        assert np.abs(after[free, a] - before[free, a]).max() < 1e-12
    # Only the legs below the hips moved; bone lengths and everything else are unchanged.
    legs = [JOINT_INDEX[f"{s}_{j}"] for s in ("left", "right") for j in ("knee", "ankle", "toe")]
    others = [j for j in range(60) if j not in legs]
    assert np.abs(after[:, others] - before[:, others]).max() < 1e-12
    for j in legs:
        p = PARENTS[j]
        assert np.abs(np.linalg.norm(after[:, j] - after[:, p], axis=-1)
                      - np.linalg.norm(motion.offsets[j])).max() < 1e-9
    # No flips. The synthetic person glides (its pelvis sways 0.7 m), so releasing a 30-frame lock
    # over 4 frames swings the leg fast, but continuously.
    q = locked.rotations
    assert np.all(np.sum(q[1:] * q[:-1], axis=-1) > 0)
    assert np.degrees(2 * np.arccos(np.clip(np.sum(q[1:] * q[:-1], axis=-1), 0, 1))).max() < 60


def test_contact_detector_finds_a_planted_foot():
    xyz = human_motion(90, 30.0, seed=2)
    left = [INDEX[n] for n in ("left_ankle", "left_big_toe", "left_small_toe", "left_heel")]
    xyz[30:60, left] = xyz[30, left]  # the left foot stands still on frames 30-59
    xyz[70:, left] = np.nan  # then it is lost
    # The one detector (the filter stage's); the floor is unknown here, so estimated from the feet.
    from mocap.filters import foot_contacts

    found = foot_contacts(keypoints3d(xyz))
    contacts = found.contacts[:, 0]
    assert not found.floor_known
    assert contacts[31:59, 0].all()  # (speeds are central differences)
    assert contacts[:, 0].sum() < 50 and not contacts[70:, 0].any()  # a few slow steps besides
    # retarget takes that detector and locks with it.
    result = retarget(keypoints3d(xyz), foot_lock=True)
    assert np.array_equal(result.contacts, contacts) and result.floor_known is False
    assert result.contacts[31:59, 0].all()
    ankle = forward_kinematics(result.motion)[31:59, JOINT_INDEX["left_ankle"]]
    assert np.ptp(ankle, axis=0).max() < 1e-6
    # Contacts given by the caller (e.g. the filter stage's foot_contacts.npz) are used as they are.
    given = np.zeros((90, 2), dtype=bool)
    given[10:20, 1] = True
    assert np.array_equal(retarget(keypoints3d(xyz), contacts=given).contacts, given)

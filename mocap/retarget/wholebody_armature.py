"""The whole-body armature: the 20 body joints of :mod:`mocap.retarget.body_armature` plus 20 finger joints
per hand (:mod:`mocap.retarget.hands`), 60 joints in all, as one :class:`Motion`.

Joint order is depth-first (a joint's whole subtree follows it), so a BVH file, which lists
joints depth-first, holds them in the same order: the body order of the body armature with
each hand's thumb1..4, index1..4, middle, ring, pinky right after its wrist.

Axes, rest pose and units are the body armature's: metres, Z up, T-pose facing -Y, left +X,
palms down. Bones point exactly along the line between their keypoints; lengths are medians.
"""

from __future__ import annotations

import numpy as np

from mocap import rotations as rot
from mocap.data import Keypoints3D, Motion
from mocap.retarget import body_armature as body
from mocap.retarget.hands import SIDES, finger_joints, hand_rest, hand_rotations
from mocap.retarget.kinematics import forward_kinematics
from mocap.skeleton.wholebody import INDEX


def _joint_list() -> tuple[tuple[str, str | None], ...]:
    joints = []
    for name, parent in body.JOINTS:
        joints.append((name, parent))
        if name.endswith("_wrist"):
            side = name.split("_")[0]
            for fj in finger_joints(side):
                n = int(fj[-1])
                joints.append((fj, name if n == 1 else fj[:-1] + str(n - 1)))
    return tuple(joints)


JOINTS = _joint_list()
JOINT_NAMES = tuple(n for n, _ in JOINTS)
JOINT_INDEX = {n: i for i, n in enumerate(JOINT_NAMES)}
PARENTS = np.array([-1 if p is None else JOINT_INDEX[p] for _, p in JOINTS])
FINGER_JOINTS = tuple(n for s, _ in SIDES for n in finger_joints(s))
# The keypoint each joint sits on (averaged when several).
JOINT_KEYPOINTS = {**body.BODY_JOINT_KEYPOINTS,
                   **{n: (f"{n.split('_')[0]}_hand_{n.split('_', 1)[1]}",) for n in FINGER_JOINTS}}


def target_positions(xyz: np.ndarray) -> np.ndarray:
    """The keypoint position each whole-body joint aims to sit on: (T, 60, 3) from (T, 133, 3)."""
    xyz = np.asarray(xyz, dtype=float)
    return np.stack([np.mean([xyz[:, INDEX[k]] for k in JOINT_KEYPOINTS[n]], axis=0) for n in JOINT_NAMES], axis=1)


def _steady_foot_twist(motion: Motion, window: int) -> Motion:
    """Median-filter each foot's twist about its own axis over ``window`` frames.

    The foot's twist comes from the toes line (big toe to small toe), two keypoints only ~5 cm
    apart: on real data a misdetected toe turns the foot by tens of degrees for a frame or two.
    The twist is the angle of the foot's world rotation about its bone axis relative to the
    swing-only frame (the shin's frame turned by the shortest arc onto the foot), so filtering it
    leaves the bone direction, and therefore every joint position, exactly as it was.
    """
    from scipy.ndimage import median_filter

    _, world = forward_kinematics(motion, with_rotations=True)
    rotations = motion.rotations.copy()
    for side in ("left", "right"):
        j = body.JOINT_INDEX[f"{side}_ankle"]
        parent = world[:, body.PARENTS[j]]
        rest_p = -np.eye(3)[1]
        axis = rot.rotate(world[:, j], rest_p)
        swing = rot.multiply(rot.rotation_between(rot.rotate(parent, rest_p), axis), parent)
        twist = rot.multiply(world[:, j], rot.conjugate(swing))  # a rotation about ``axis``
        angle = np.unwrap(2 * np.arctan2(np.sum(twist[:, 1:] * axis, -1), twist[:, 0]))
        steady = median_filter(angle, size=window, mode="nearest")
        new_world = rot.multiply(rot.from_axis_angle(axis, steady), swing)
        rotations[:, j] = rot.make_continuous(rot.multiply(rot.conjugate(parent), new_world))
    return Motion(joint_names=motion.joint_names, parents=motion.parents, offsets=motion.offsets,
                  root_translation=motion.root_translation, rotations=rotations, fps=motion.fps)


def whole_body_motion(kp: Keypoints3D, person: int = 0, *, foot_twist_window: int | None = None) -> Motion:
    """Fit the 60-joint whole-body armature (body + fingers) to one person's 3D keypoints.

    The body is :func:`mocap.retarget.body_armature.body_motion` with each foot's twist median-filtered over
    ``foot_twist_window`` frames (default about 0.15 s, at least 3; 1: unfiltered; see
    :func:`_steady_foot_twist`).
    """
    motion = body.body_motion(kp, person)
    if foot_twist_window is None:
        foot_twist_window = max(3, 2 * int(round(0.075 * kp.fps)) + 1)
    if foot_twist_window > 1 and motion.n_frames > 1:
        motion = _steady_foot_twist(motion, foot_twist_window)
    xyz = kp.xyz[:, person]
    _, world = forward_kinematics(motion, with_rotations=True)
    T = motion.n_frames
    offsets = np.zeros((len(JOINT_NAMES), 3))
    rotations = np.tile(rot.identity(), (T, len(JOINT_NAMES), 1))
    for j, name in enumerate(body.JOINT_NAMES):
        offsets[JOINT_INDEX[name]] = motion.offsets[j]
        rotations[:, JOINT_INDEX[name]] = motion.rotations[:, j]
    for side, sign in SIDES:
        wrist_world = world[:, body.JOINT_INDEX[f"{side}_wrist"]]
        for name, off in hand_rest(xyz, wrist_world, side, sign).items():
            offsets[JOINT_INDEX[name]] = off
        for name, q in hand_rotations(xyz, wrist_world, side, sign).items():
            rotations[:, JOINT_INDEX[name]] = q
    rotations *= np.where(rotations[:1, :, :1] < 0, -1.0, 1.0)
    return Motion(joint_names=JOINT_NAMES, parents=PARENTS.copy(), offsets=offsets,
                  root_translation=motion.root_translation, rotations=rotations, fps=motion.fps)


def unseen_joints(kp: Keypoints3D, person: int = 0) -> tuple[str, ...]:
    """Joints whose aim was never seen in any frame: they stay in their rest pose.

    A joint is oriented by its own keypoint and its child's (the bone between them); a joint
    whose keypoints are all missing in every frame can only keep its T-pose rotation.
    """
    xyz = kp.xyz[:, person]
    targets = target_positions(xyz)
    seen = np.isfinite(targets).all(-1).any(0)
    out = []
    for j, name in enumerate(JOINT_NAMES):
        kids = np.flatnonzero(PARENTS == j)
        if not seen[j] or (kids.size and not seen[kids].any()):
            out.append(name)
    return tuple(out)

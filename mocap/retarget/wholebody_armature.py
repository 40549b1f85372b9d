"""The whole-body armature: the 20 body joints of :mod:`mocap.retarget.body_armature` plus 20 finger joints
per hand (:mod:`mocap.retarget.hands`), 60 joints in all, as one :class:`Motion`.

Joint order is depth-first (a joint's whole subtree follows it), so a BVH file, which lists
joints depth-first, holds them in the same order: the body order of the body armature with
each hand's thumb1..4, index1..4, middle, ring, pinky right after its wrist.

Axes, rest pose and units are the body armature's: metres, Z up, T-pose facing -Y, left +X,
palms down. Bones point exactly along the line between their keypoints; lengths are medians.

:func:`solve_pose` is the one solver of rotations, for a whole clip (:func:`whole_body_motion`),
a long clip a piece at a time (:mod:`mocap.retarget.pieces`) and live frames
(:mod:`mocap.live.retarget`): the rest offsets are fixed apart from it (they never change a
rotation: rotations depend on bone directions only), and it takes and hands on a
:class:`PoseState`, everything that crosses from one frame to the next (the previous rotations,
held twist hints and root, the foot twist's unwrapping, the signs fixed on the first frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap import rotations as rot
from mocap.data import Keypoints3D, Motion
from mocap.retarget import body_armature as body
from mocap.retarget.hands import SIDES, finger_joints, hand_rest, hand_rotations
from mocap.retarget.kinematics import continuous, first_frame_signs, world_rotations
from mocap.skeleton.wholebody import FINGERS, INDEX


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


BODY_COLUMNS = np.array([JOINT_INDEX[n] for n in body.JOINT_NAMES])  # body joints among the 60
# Finger joints among the 60, as :func:`mocap.retarget.hands.hand_rotations` orders them (side, finger, 1..4).
FINGER_COLUMNS = np.array([[[JOINT_INDEX[f"{side}_{f}{j}"] for j in range(1, 5)] for f in FINGERS]
                           for side, _ in SIDES])
_ANKLES = tuple(body.JOINT_INDEX[f"{side}_ankle"] for side in ("left", "right"))


def default_twist_window(fps: float) -> int:
    """The foot twist's median window (frames) at ``fps``: about 0.15 s, at least 3."""
    return max(3, 2 * int(round(0.075 * fps)) + 1)


def unwrap(angle: np.ndarray, carry: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``np.unwrap`` of angles (T, ...) along axis 0, continued from ``carry`` (..., 2): the raw
    angle of the frame before and the multiple of 2 pi added to it. Returns the unwrapped angles
    and each frame's carry (T, ..., 2). The corrections add up in the order ``np.unwrap`` adds
    them, so a clip unwrapped a piece at a time equals it unwrapped whole to the last bit."""
    p = angle if carry is None else np.concatenate([carry[None, ..., 0], angle])
    dd = np.diff(p, axis=0)
    ddmod = np.mod(dd + np.pi, 2 * np.pi) - np.pi
    ddmod[(ddmod == -np.pi) & (dd > 0)] = np.pi
    correction = ddmod - dd
    correction[np.abs(dd) < np.pi] = 0
    start = np.zeros((1,) + p.shape[1:]) if carry is None else carry[None, ..., 1]
    total = np.cumsum(np.concatenate([start, correction]), axis=0)
    out = p + total
    if carry is not None:
        p, out, total = p[1:], out[1:], total[1:]
    return out, np.stack([p, total], axis=-1)


def _steady_foot_twist(world: np.ndarray, window: int, state: "PoseState | None", state_frame: int):
    """Each foot's twist about its own axis median-filtered over ``window`` frames: the ankles'
    new local rotations (T, 2, 4), and (ankles, unwrap carry) after ``state_frame``.

    The foot's twist comes from the toes line (big toe to small toe), two keypoints only ~5 cm
    apart: on real data a misdetected toe turns the foot by tens of degrees for a frame or two.
    The twist is the angle of the foot's world rotation about its bone axis relative to the
    swing-only frame (the shin's frame turned by the shortest arc onto the foot), so filtering it
    leaves the bone direction, and therefore every joint position, exactly as it was. ``world``
    (T, 20, 4): the body's world rotations. The median sees only the frames given: a caller
    solving pieces gives each piece ``window // 2`` frames of the clip on each side.
    """
    from scipy.ndimage import median_filter

    rest_p = -np.eye(3)[1]
    ankles, carries = [], []
    for k, j in enumerate(_ANKLES):
        parent = world[:, body.PARENTS[j]]
        axis = rot.rotate(world[:, j], rest_p)
        swing = rot.multiply(rot.rotation_between(rot.rotate(parent, rest_p), axis), parent)
        twist = rot.multiply(world[:, j], rot.conjugate(swing))  # a rotation about ``axis``
        angle, carry = unwrap(2 * np.arctan2(np.sum(twist[:, 1:] * axis, -1), twist[:, 0]),
                              None if state is None else state.twist[k])
        steady = median_filter(angle, size=window, mode="nearest")
        new_world = rot.multiply(rot.from_axis_angle(axis, steady), swing)
        ankles.append(continuous(rot.multiply(rot.conjugate(parent), new_world),
                                 None if state is None else state.ankles[k]))
        carries.append(carry[state_frame])
    ankles = np.stack(ankles, axis=1)
    return ankles, (ankles[state_frame].copy(), np.stack(carries))


@dataclass(frozen=True)
class PoseState:
    """Everything :func:`solve_pose` carries from one frame to the next (see the module doc)."""

    body: body.BodyState
    fingers: np.ndarray  # (2, 5, 3, 4) the rotated finger joints' last local rotations (before the signs)
    ankles: np.ndarray  # (2, 4) the feet's last twist-filtered rotations (before the first frame's signs)
    twist: np.ndarray  # (2, 2) per foot the unwrap carry (see unwrap)
    body_signs: np.ndarray  # (20,) the body's first-frame signs (first_frame_signs)
    signs: np.ndarray  # (60,) the whole armature's first-frame signs


@dataclass(frozen=True)
class Pose:
    """What :func:`solve_pose` solved: rotations (T, 60, 4) (local, unit, sign-continuous), the
    root (T, 3) (NaN before it is ever seen), each wrist's world rotation (T, 2, 4) (left, right),
    and the state after the frame asked for."""

    rotations: np.ndarray
    root: np.ndarray
    wrist_world: np.ndarray
    state: PoseState


def solve_pose(xyz: np.ndarray, state: PoseState | None = None, *, foot_twist_window: int = 1,
               state_frame: int = -1) -> Pose:
    """The 60 joints' rotations for one person's keypoints (T, 133, 3), continuing from ``state``
    (that of the frame before the first; None: the clip starts here), and the state after frame
    ``state_frame``.

    The body is :func:`mocap.retarget.body_armature.solve_body`; with ``foot_twist_window`` > 1
    (and more than one frame) each foot's twist is median-filtered over that many frames
    (:func:`_steady_foot_twist`); the fingers are :func:`mocap.retarget.hands.hand_rotations`
    under the wrists. Live, one frame at a time: ``solve_pose(xyz[None], state)``.
    """
    xyz = np.asarray(xyz, dtype=float)
    T = xyz.shape[0]
    local, root, body_state = body.solve_body(xyz, None if state is None else state.body, state_frame=state_frame)
    body_signs = first_frame_signs(local) if state is None else state.body_signs
    local = local * body_signs[None, :, None]
    world = world_rotations(local, body.PARENTS)
    rotations = np.tile(rot.identity(), (T, len(JOINT_NAMES), 1))
    rotations[:, BODY_COLUMNS] = local
    ankles = (local[state_frame, list(_ANKLES)].copy(), np.zeros((2, 2)) if state is None else state.twist)
    if foot_twist_window > 1 and T > 1:
        twisted, ankles = _steady_foot_twist(world, foot_twist_window, state, state_frame)
        rotations[:, BODY_COLUMNS[list(_ANKLES)]] = twisted
    wrist_world = np.stack([world[:, body.JOINT_INDEX[f"{side}_wrist"]] for side, _ in SIDES], axis=1)
    fingers = hand_rotations(xyz, wrist_world, None if state is None else state.fingers)
    rotations[:, FINGER_COLUMNS] = fingers
    signs = first_frame_signs(rotations) if state is None else state.signs
    rotations *= signs[None, :, None]
    return Pose(rotations, root, wrist_world,
                PoseState(body_state, fingers[state_frame, :, :, :3].copy(), ankles[0], ankles[1], body_signs, signs))


def whole_body_offsets(lengths: dict[str, float], hand_offsets: dict[str, np.ndarray]) -> np.ndarray:
    """(60, 3) rest offsets from the body's bone lengths (:func:`mocap.retarget.body_armature.bone_lengths`)
    and both hands' finger offsets (:func:`mocap.retarget.hands.hand_rest`)."""
    offsets = np.zeros((len(JOINT_NAMES), 3))
    offsets[BODY_COLUMNS] = body.rest_offsets(lengths)
    for name, off in hand_offsets.items():
        offsets[JOINT_INDEX[name]] = off
    return offsets


def fitted_offsets(xyz: np.ndarray, wrist_world: np.ndarray) -> np.ndarray:
    """(60, 3) the rest offsets fitted to keypoints (T, 133, 3) whose wrists' world rotations
    (T, 2, 4) :func:`solve_pose` gave: medians over these frames."""
    hand_offsets = {}
    for k, (side, sign) in enumerate(SIDES):
        hand_offsets.update(hand_rest(xyz, wrist_world[:, k], side, sign))
    return whole_body_offsets(body.bone_lengths(xyz), hand_offsets)


def whole_body_motion(kp: Keypoints3D, person: int = 0, *, foot_twist_window: int | None = None) -> Motion:
    """Fit the 60-joint whole-body armature (body + fingers) to one person's 3D keypoints.

    The body is :func:`mocap.retarget.body_armature.body_motion` with each foot's twist median-filtered over
    ``foot_twist_window`` frames (default about 0.15 s, at least 3; 1: unfiltered; see
    :func:`_steady_foot_twist`).
    """
    xyz = body.person_keypoints(kp, person)
    if foot_twist_window is None:
        foot_twist_window = default_twist_window(kp.fps)
    pose = solve_pose(xyz, foot_twist_window=foot_twist_window)
    offsets = fitted_offsets(xyz, pose.wrist_world)
    return Motion(joint_names=JOINT_NAMES, parents=PARENTS.copy(), offsets=offsets,
                  root_translation=np.where(np.isnan(pose.root), offsets[0], pose.root), rotations=pose.rotations,
                  fps=kp.fps, frame_index=kp.frame_index)


def joints_seen(xyz: np.ndarray) -> np.ndarray:
    """(60,) whether each joint's keypoints are found in any frame of one person's keypoints (T, 133, 3)."""
    return np.isfinite(target_positions(xyz)).all(-1).any(0)


def never_seen(seen: np.ndarray) -> tuple[str, ...]:
    """The joints left in their rest pose, from :func:`joints_seen` (see :func:`unseen_joints`)."""
    out = []
    for j, name in enumerate(JOINT_NAMES):
        kids = np.flatnonzero(PARENTS == j)
        if not seen[j] or (kids.size and not seen[kids].any()):
            out.append(name)
    return tuple(out)


def unseen_joints(kp: Keypoints3D, person: int = 0) -> tuple[str, ...]:
    """Joints whose aim was never seen in any frame: they stay in their rest pose.

    A joint is oriented by its own keypoint and its child's (the bone between them); a joint
    whose keypoints are all missing in every frame can only keep its T-pose rotation.
    """
    return never_seen(joints_seen(kp.xyz[:, person]))

"""Finger joints: five chains of four joints under each wrist, fitted to the 21 hand keypoints.

Joints per side (``left_`` / ``right_``), parent first::

    <side>_wrist (body armature)
      <side>_thumb1 -> thumb2 -> thumb3 -> thumb4      (CMC, MCP, IP, tip)
      <side>_index1 -> index2 -> index3 -> index4      (MCP, PIP, DIP, tip)
      ... middle, ring, pinky

Each joint sits on the hand keypoint of the same name (``left_hand_index2`` ...); ``*4`` are the
finger tips (leaves, never rotated).

Rest pose (what zero rotations mean), in the armature's T-pose world (Z up, facing -Y, left +X):
the hand continues the arm along ±X with the palm down (-Z) and the thumb side forward (-Y),
which is how the body armature's wrist frame is defined (primary wrist -> middle knuckle,
secondary index knuckle minus pinky knuckle onto -Y). The knuckle joints (``*1``) sit at the
median, over frames, of their keypoint expressed in the wrist's own frame (the palm is rigid
in the armature); the finger bones point straight along ±X (the thumb along ±X - Y, 45°
forward) with median keypoint distances as lengths.

Per frame each finger bone aims exactly at its next keypoint (primary axis). Twist comes from
the **palm plane**, not from the finger itself: a finger flexes about the palm's lateral axis
(index side to pinky side), which stays perpendicular to the finger however far it curls, so
the lateral axis of the wrist frame is the twist hint of every finger bone (rest secondary -Y);
the thumb, which flexes across the palm, takes the back-of-hand normal (rest +Z). A straight
finger therefore never spins, and a curled one has no degenerate frame. Missing keypoints carry
the previous local rotation, as in :mod:`mocap.retarget.body_armature`; a hand never seen stays in rest.

For a clip measured and solved a piece at a time, the rest pose's medians come from per-frame
samples (:func:`knuckle_samples`, :func:`phalanx_samples`, combined by :func:`rest_from_samples`)
and :func:`hand_rotations` continues from the previous frame's rotations.
"""

from __future__ import annotations

import numpy as np

from mocap import rotations as rot
from mocap.retarget.kinematics import continuous, hold_last_valid, unit, valid_direction
from mocap.skeleton.wholebody import FINGERS, INDEX

SIDES = (("left", 1.0), ("right", -1.0))
# Knuckle offsets (wrist frame at rest, left hand) and phalanx lengths of an adult hand, metres:
# used for a hand whose keypoints are never seen.
_DEFAULT_KNUCKLES = {"thumb": (0.025, -0.025, -0.01), "index": (0.09, -0.025, 0.0), "middle": (0.095, 0.0, 0.0),
                     "ring": (0.09, 0.02, 0.0), "pinky": (0.08, 0.04, 0.0)}
_DEFAULT_PHALANX = 0.03
_X, _Y, _Z = np.eye(3)


def finger_joints(side: str) -> tuple[str, ...]:
    """The 20 finger joint names of one hand, depth-first (thumb1..4, index1..4, ...)."""
    return tuple(f"{side}_{finger}{j}" for finger in FINGERS for j in range(1, 5))


def _rest_axes(finger: str, sign: float) -> tuple[np.ndarray, np.ndarray]:
    """(rest bone direction, rest twist axis) of a finger's bones."""
    if finger == "thumb":
        return unit(sign * _X - _Y), _Z
    return sign * _X, -_Y


def _median(v: np.ndarray, default) -> np.ndarray:
    ok = np.isfinite(v).all(-1)
    return np.median(v[ok], axis=0) if ok.any() else np.asarray(default, dtype=float)


def knuckle_samples(xyz: np.ndarray, wrist_world: np.ndarray, side: str) -> np.ndarray:
    """(T, 5, 3) each finger's knuckle keypoint in the wrist joint's frame (thumb first; NaN where
    missing), from the keypoints (T, 133, 3) and the wrist's world rotations (T, 4)."""
    wrist = xyz[:, INDEX[f"{side}_wrist"]]
    wrist = np.where(np.isfinite(wrist), wrist, xyz[:, INDEX[f"{side}_hand_wrist"]])
    inv = rot.conjugate(wrist_world)
    return np.stack([rot.rotate(inv, xyz[:, INDEX[f"{side}_hand_{f}1"]] - wrist) for f in FINGERS], axis=1)


def phalanx_samples(xyz: np.ndarray, side: str) -> np.ndarray:
    """(T, 5, 3) each finger's three phalanx lengths (joint 1 to 2, 2 to 3, 3 to the tip) per frame."""
    k = lambda n: xyz[:, INDEX[f"{side}_hand_{n}"]]  # noqa: E731
    return np.stack([np.stack([np.linalg.norm(k(f"{f}{j}") - k(f"{f}{j - 1}"), axis=-1) for j in range(2, 5)], -1)
                     for f in FINGERS], axis=1)


def rest_from_samples(knuckles: np.ndarray, phalanges: np.ndarray, side: str, sign: float) -> dict[str, np.ndarray]:
    """Rest offsets (3,) of one hand's 20 finger joints: the medians over frames of
    :func:`knuckle_samples` and :func:`phalanx_samples` (see the module doc)."""
    out = {}
    for i, finger in enumerate(FINGERS):
        mirror = np.array([sign, 1.0, 1.0])
        out[f"{side}_{finger}1"] = _median(knuckles[:, i], mirror * _DEFAULT_KNUCKLES[finger])
        rest_dir, _ = _rest_axes(finger, sign)
        for j in range(2, 5):
            d = phalanges[:, i, j - 2]
            d = d[np.isfinite(d)]
            out[f"{side}_{finger}{j}"] = rest_dir * (float(np.median(d)) if d.size else _DEFAULT_PHALANX)
    return out


def hand_rest(xyz: np.ndarray, wrist_world: np.ndarray, side: str, sign: float) -> dict[str, np.ndarray]:
    """Rest offsets (3,) of one hand's 20 finger joints from the keypoints (T, 133, 3) and the
    wrist joint's world rotations (T, 4); see the module doc."""
    return rest_from_samples(knuckle_samples(xyz, wrist_world, side), phalanx_samples(xyz, side), side, sign)


# Both hands' fingers at once, as (side, finger) arrays: the rest axes of their bones, and the
# keypoints each joint (1..4) of each finger sits on.
_REST = np.array([[_rest_axes(f, sign) for f in FINGERS] for _, sign in SIDES])  # (2, 5, 2, 3)
_POINTS = np.array([[[INDEX[f"{side}_hand_{f}{j}"] for j in range(1, 5)] for f in FINGERS] for side, _ in SIDES])


def carried_validity(xyz: np.ndarray) -> np.ndarray:
    """(T, 30) whether each frame holds the bone direction of each rotated finger joint (left
    then right hand, thumb1..3, index1..3, ...): what :func:`hand_rotations` carries over frames."""
    pts = xyz[:, _POINTS]  # (T, 2, 5, 4, 3)
    return valid_direction(pts[..., 1:, :] - pts[..., :-1, :]).reshape(len(xyz), -1)


def hand_rotations(xyz: np.ndarray, wrist_world: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """Local rotations (T, 2, 5, 4, 4) of both hands' finger joints (left, right; thumb .. pinky;
    joints 1..4, the tips never rotated) from the keypoints (T, 133, 3) and the wrists' world
    rotations (T, 2, 4); see the module doc. ``previous`` (2, 5, 3, 4): the rotated joints of the
    frame before the first, as this returned them, to continue from. All ten fingers are solved
    together, one joint level at a time."""
    T = xyz.shape[0]
    rest_p, rest_s = _REST[:, :, 0], _REST[:, :, 1]
    pts = xyz[:, _POINTS]
    ident = rot.identity((T, 2, len(FINGERS)))
    # Twist hint: the wrist frame's lateral axis (or back-of-hand normal for the thumb).
    parent_world = np.broadcast_to(wrist_world[:, :, None], ident.shape)
    hint = rot.rotate(parent_world, rest_s)
    out = np.tile(rot.identity(), (T, 2, len(FINGERS), 4, 1))
    for j in range(3):
        before = None if previous is None else previous[:, :, j]
        primary = pts[:, :, :, j + 1] - pts[:, :, :, j]
        valid = valid_direction(primary)
        safe = np.where(valid[..., None], primary, rot.rotate(parent_world, rest_p))
        p = unit(safe)
        h_perp = hint - np.sum(hint * p, -1, keepdims=True) * p
        # Where the bone lies along the hint (a thumb pointing into the palm) the twist is
        # undefined: take the parent's frame turned by the shortest arc (no spin).
        swing = rot.multiply(rot.rotation_between(rot.rotate(parent_world, rest_p), safe), parent_world)
        small = np.linalg.norm(h_perp, axis=-1, keepdims=True) < 0.05
        h = np.where(small, rot.rotate(swing, rest_s), h_perp)
        target = rot.from_two_axes(safe, h, rest_p, rest_s)
        local = hold_last_valid(rot.multiply(rot.conjugate(parent_world), target), valid, ident[0, 0, 0], before)
        out[:, :, :, j] = continuous(local, before)
        parent_world = rot.multiply(parent_world, out[:, :, :, j])
    return out

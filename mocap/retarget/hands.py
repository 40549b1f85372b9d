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
"""

from __future__ import annotations

import numpy as np

from mocap import rotations as rot
from mocap.retarget.kinematics import hold_last_valid, unit
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


def hand_rest(xyz: np.ndarray, wrist_world: np.ndarray, side: str, sign: float) -> dict[str, np.ndarray]:
    """Rest offsets (3,) of one hand's 20 finger joints from the keypoints (T, 133, 3) and the
    wrist joint's world rotations (T, 4); see the module doc."""
    k = lambda n: xyz[:, INDEX[f"{side}_hand_{n}"]]  # noqa: E731
    wrist = xyz[:, INDEX[f"{side}_wrist"]]
    wrist = np.where(np.isfinite(wrist), wrist, k("wrist"))
    inv = rot.conjugate(wrist_world)
    out = {}
    for finger in FINGERS:
        mirror = np.array([sign, 1.0, 1.0])
        out[f"{side}_{finger}1"] = _median(rot.rotate(inv, k(f"{finger}1") - wrist), mirror * _DEFAULT_KNUCKLES[finger])
        rest_dir, _ = _rest_axes(finger, sign)
        for j in range(2, 5):
            d = np.linalg.norm(k(f"{finger}{j}") - k(f"{finger}{j - 1}"), axis=-1)
            d = d[np.isfinite(d)]
            out[f"{side}_{finger}{j}"] = rest_dir * (float(np.median(d)) if d.size else _DEFAULT_PHALANX)
    return out


def hand_rotations(xyz: np.ndarray, wrist_world: np.ndarray, side: str, sign: float) -> dict[str, np.ndarray]:
    """Local rotations (T, 4) of one hand's 20 finger joints; see the module doc."""
    k = lambda n: xyz[:, INDEX[f"{side}_hand_{n}"]]  # noqa: E731
    T = xyz.shape[0]
    ident = rot.identity(T)
    out = {}
    for finger in FINGERS:
        rest_p, rest_s = _rest_axes(finger, sign)
        # Twist hint: the wrist frame's lateral axis (or back-of-hand normal for the thumb).
        hint = rot.rotate(wrist_world, rest_s)
        parent_world = wrist_world
        for j in range(1, 4):
            primary = k(f"{finger}{j + 1}") - k(f"{finger}{j}")
            valid = np.isfinite(primary).all(-1) & (np.linalg.norm(np.nan_to_num(primary), axis=-1) > 1e-9)
            safe = np.where(valid[:, None], primary, rot.rotate(parent_world, rest_p))
            p = unit(safe)
            h_perp = hint - np.sum(hint * p, -1, keepdims=True) * p
            # Where the bone lies along the hint (a thumb pointing into the palm) the twist is
            # undefined: take the parent's frame turned by the shortest arc (no spin).
            swing = rot.multiply(rot.rotation_between(rot.rotate(parent_world, rest_p), safe), parent_world)
            small = np.linalg.norm(h_perp, axis=-1, keepdims=True) < 0.05
            h = np.where(small, rot.rotate(swing, rest_s), h_perp)
            target = rot.from_two_axes(safe, h, rest_p, rest_s)
            local = hold_last_valid(rot.multiply(rot.conjugate(parent_world), target), valid, ident[0])
            local = rot.make_continuous(local)
            out[f"{side}_{finger}{j}"] = local
            parent_world = rot.multiply(parent_world, local)
        out[f"{side}_{finger}4"] = ident.copy()
    return out

"""Foot locking: pin each ankle where the foot stands, bending the leg to reach it (two-bone IK).

Input: a whole-body (or body) :class:`Motion` with our joint names and a boolean contact array
(T, 2) for the left and right foot, from the one foot-contact detector
(:func:`mocap.filters.foot_contacts`, which the filter stage also writes to foot_contacts.npz).

Per foot and per contact span, the lock point is the median ankle position over the span. The
ankle target is the animated ankle blended toward the lock point: fully inside the span, and
over ``blend`` frames on each side with a smoothstep weight, so the foot eases into and out of
the lock instead of snapping. The leg is then re-solved analytically (vectorized over frames):

* hip H stays; with thigh and shin lengths l1, l2 and d = |target - H| (clamped to what the leg
  can reach), the knee lies a = (l1² - l2² + d²) / 2d along the hip->target line and
  h = sqrt(l1² - a²) off it, on the side the original knee was (its pole vector), so the knee
  keeps pointing where it pointed;
* the thigh's world rotation is turned by the shortest arc from the old knee direction to the
  new one, then the shin's likewise; the ankle keeps its world rotation (the foot does not tilt),
  so only hip, knee and ankle *local* rotations change. Everything else is untouched.

A long clip is locked a piece at a time: :func:`lock_targets` needs only the whole clip's ankle
positions and contacts (small), and :func:`apply_lock` then re-solves each piece's legs,
continuing the quaternion signs from the piece before.
"""

from __future__ import annotations

import numpy as np

from mocap import rotations as rot
from mocap.retarget.kinematics import continuous, forward_kinematics, unit
from mocap.data import Motion


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    edges = np.diff(np.r_[0, mask.astype(int), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


_SIDES = ("left", "right")


def lock_targets(ankles: np.ndarray, contacts: np.ndarray, blend: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Where each ankle is pulled to, (T, 2, 3), and how strongly, (T, 2) in [0, 1], from the
    ankles' animated positions (T, 2, 3) and the contacts (T, 2) [left, right] (module doc)."""
    T = ankles.shape[0]
    lock = np.array(ankles, dtype=float)
    weights = np.zeros((T, 2))
    ramp = np.arange(1, blend + 1) / (blend + 1)
    for k in range(2):
        weight = np.zeros(T)
        for a, b in _spans(contacts[:, k]):
            lock[max(0, a - blend):min(T, b + blend), k] = np.median(ankles[a:b, k], axis=0)
            w = np.zeros(T)
            w[a:b] = 1.0
            left = np.arange(a - blend, a)
            right = np.arange(b + blend - 1, b - 1, -1)
            for frames in (left, right):
                keep = (frames >= 0) & (frames < T)
                w[frames[keep]] = np.maximum(w[frames[keep]], (ramp * ramp * (3 - 2 * ramp))[keep])
            weight = np.maximum(weight, w)
        weights[:, k] = weight
    return lock, weights


def apply_lock(motion: Motion, lock: np.ndarray, weight: np.ndarray, active=(True, True),
               previous: np.ndarray | None = None) -> tuple[Motion, np.ndarray]:
    """Re-solve the legs of ``motion`` so each ankle reaches ``lock`` by ``weight``
    (:func:`lock_targets`, the rows of these frames) on the sides ``active`` (those with any
    weight in the whole clip; the others are untouched). ``previous`` (2, 3, 4): the hip, knee
    and ankle rotations of the frame before, as this returned them, to continue the signs from.
    Returns the motion and those rotations of its last frame."""
    idx = {n: i for i, n in enumerate(motion.joint_names)}
    pos, world = forward_kinematics(motion, with_rotations=True)
    rotations = motion.rotations.copy()
    for k, side in enumerate(_SIDES):
        if not active[k]:
            continue
        hip, knee, ankle = idx[f"{side}_hip"], idx[f"{side}_knee"], idx[f"{side}_ankle"]
        H, K, A = pos[:, hip], pos[:, knee], pos[:, ankle]
        target = A + weight[:, k, None] * (lock[:, k] - A)
        l1, l2 = np.linalg.norm(motion.offsets[knee]), np.linalg.norm(motion.offsets[ankle])
        to_target = target - H
        d = np.clip(np.linalg.norm(to_target, axis=-1), abs(l1 - l2) + 1e-6, l1 + l2 - 1e-6)
        u = unit(to_target)
        pole = (K - H) - np.sum((K - H) * u, -1, keepdims=True) * u
        pole = unit(np.where(np.linalg.norm(pole, axis=-1, keepdims=True) > 1e-9, pole, K - H))
        a_ = (l1 * l1 - l2 * l2 + d * d) / (2 * d)
        h_ = np.sqrt(np.maximum(l1 * l1 - a_ * a_, 0.0))
        K_new = H + a_[:, None] * u + h_[:, None] * pole
        A_new = H + d[:, None] * u
        R1 = rot.rotation_between(K - H, K_new - H)
        W_hip = rot.multiply(R1, world[:, hip])
        R2 = rot.rotation_between(rot.rotate(R1, A - K), A_new - K_new)
        W_knee = rot.multiply(R2, rot.multiply(R1, world[:, knee]))
        parent = world[:, motion.parents[hip]]
        before = (None,) * 3 if previous is None else previous[k]
        rotations[:, hip] = continuous(rot.multiply(rot.conjugate(parent), W_hip), before[0])
        rotations[:, knee] = continuous(rot.multiply(rot.conjugate(W_hip), W_knee), before[1])
        rotations[:, ankle] = continuous(rot.multiply(rot.conjugate(W_knee), world[:, ankle]), before[2])
    legs = np.array([[rotations[-1, idx[f"{side}_{j}"]] for j in ("hip", "knee", "ankle")] for side in _SIDES])
    return Motion(joint_names=motion.joint_names, parents=motion.parents, offsets=motion.offsets,
                  root_translation=motion.root_translation, rotations=rotations, fps=motion.fps,
                  frame_index=motion.frame_index), legs


def lock_feet(motion: Motion, contacts: np.ndarray, blend: int = 5) -> Motion:
    """Pin the ankles during ``contacts`` (T, 2) [left, right]; see the module doc."""
    contacts = np.asarray(contacts, dtype=bool)
    if contacts.shape != (motion.n_frames, 2):
        raise ValueError(f"contacts must be (frames, 2) = ({motion.n_frames}, 2), got {contacts.shape}")
    idx = {n: i for i, n in enumerate(motion.joint_names)}
    ankles = forward_kinematics(motion)[:, [idx["left_ankle"], idx["right_ankle"]]]
    lock, weight = lock_targets(ankles, contacts, blend)
    return apply_lock(motion, lock, weight, weight.any(axis=0))[0]

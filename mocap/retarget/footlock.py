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
"""

from __future__ import annotations

import numpy as np

from mocap import rotations as rot
from mocap.retarget.kinematics import forward_kinematics, unit
from mocap.data import Motion


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    edges = np.diff(np.r_[0, mask.astype(int), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def lock_feet(motion: Motion, contacts: np.ndarray, blend: int = 5) -> Motion:
    """Pin the ankles during ``contacts`` (T, 2) [left, right]; see the module doc."""
    contacts = np.asarray(contacts, dtype=bool)
    if contacts.shape != (motion.n_frames, 2):
        raise ValueError(f"contacts must be (frames, 2) = ({motion.n_frames}, 2), got {contacts.shape}")
    idx = {n: i for i, n in enumerate(motion.joint_names)}
    pos, world = forward_kinematics(motion, with_rotations=True)
    rotations = motion.rotations.copy()
    T = motion.n_frames
    for k, side in enumerate(("left", "right")):
        hip, knee, ankle = idx[f"{side}_hip"], idx[f"{side}_knee"], idx[f"{side}_ankle"]
        lock = pos[:, ankle].copy()
        weight = np.zeros(T)
        for a, b in _spans(contacts[:, k]):
            lock[max(0, a - blend):min(T, b + blend)] = np.median(pos[a:b, ankle], axis=0)
            ramp = np.arange(1, blend + 1) / (blend + 1)
            w = np.zeros(T)
            w[a:b] = 1.0
            left = np.arange(a - blend, a)
            right = np.arange(b + blend - 1, b - 1, -1)
            for frames in (left, right):
                keep = (frames >= 0) & (frames < T)
                w[frames[keep]] = np.maximum(w[frames[keep]], (ramp * ramp * (3 - 2 * ramp))[keep])
            weight = np.maximum(weight, w)
        if not weight.any():
            continue
        H, K, A = pos[:, hip], pos[:, knee], pos[:, ankle]
        target = A + weight[:, None] * (lock - A)
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
        rotations[:, hip] = rot.make_continuous(rot.multiply(rot.conjugate(parent), W_hip))
        rotations[:, knee] = rot.make_continuous(rot.multiply(rot.conjugate(W_hip), W_knee))
        rotations[:, ankle] = rot.make_continuous(rot.multiply(rot.conjugate(W_knee), world[:, ankle]))
    return Motion(joint_names=motion.joint_names, parents=motion.parents, offsets=motion.offsets,
                  root_translation=motion.root_translation, rotations=rotations, fps=motion.fps)

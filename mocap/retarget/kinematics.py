"""What every layer of the armature shares: forward kinematics of a :class:`Motion`, unit vectors,
and holding the last valid value over frames where a joint cannot be computed."""

from __future__ import annotations

import numpy as np

from mocap import rotations as rot
from mocap.data import Motion


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` (..., 3) scaled to length 1 along the last axis; zero vectors stay zero."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 1e-12, n, 1.0)


def hold_last_valid(values: np.ndarray, valid: np.ndarray, default: np.ndarray) -> np.ndarray:
    """``values`` (T, ...) with invalid frames replaced by the last valid one (frames before the
    first valid one take that first one); ``default`` everywhere when no frame is valid."""
    if not valid.any():
        return np.broadcast_to(default, values.shape).copy()
    idx = np.maximum.accumulate(np.where(valid, np.arange(len(valid)), -1))
    idx[idx < 0] = np.argmax(valid)
    return values[idx]


def forward_kinematics(motion: Motion, with_rotations: bool = False):
    """World joint positions (T, J, 3) of a Motion; with ``with_rotations`` also the world
    rotations (T, J, 4). The root sits at ``root_translation``; each other joint at its parent's
    position plus the parent's world rotation applied to its rest offset."""
    T, J = motion.rotations.shape[:2]
    pos = np.zeros((T, J, 3))
    world = np.zeros((T, J, 4))
    for j in range(J):
        p = motion.parents[j]
        if p < 0:
            world[:, j] = motion.rotations[:, j]
            pos[:, j] = motion.root_translation
        else:
            world[:, j] = rot.multiply(world[:, p], motion.rotations[:, j])
            pos[:, j] = pos[:, p] + rot.rotate(world[:, p], motion.offsets[j])
    return (pos, world) if with_rotations else pos

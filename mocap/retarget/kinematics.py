"""What every layer of the armature shares: forward kinematics of a :class:`Motion`, unit vectors,
and the two rules that carry a joint over frames: holding the last valid value where a joint
cannot be computed, and keeping quaternion signs continuous.

Both rules take an optional ``previous`` value, the one of the frame before the first: a clip
solved a piece at a time (or live, a frame at a time) then continues exactly where the frames
before left off, as if the clip had been solved whole.
"""

from __future__ import annotations

import numpy as np

from mocap import rotations as rot
from mocap.data import Motion


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` (..., 3) scaled to length 1 along the last axis; zero vectors stay zero."""
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 1e-12, n, 1.0)


def valid_direction(v: np.ndarray) -> np.ndarray:
    """(T,) the frames where a direction (T, 3) can orient a bone: found and not of zero length."""
    return np.isfinite(v).all(-1) & (np.linalg.norm(np.nan_to_num(v), axis=-1) > 1e-9)


def hold_last_valid(values: np.ndarray, valid: np.ndarray, default: np.ndarray,
                    previous: np.ndarray | None = None) -> np.ndarray:
    """``values`` (T, ..., D) with invalid frames replaced by the last valid one (frames before the
    first valid one take that first one); ``default`` (D,) where no frame is valid. ``valid``
    (T, ...): each series (the axes between the first and the last) on its own.

    ``previous`` (..., D): the value each series held at the frame before the first (NaN: nothing
    held yet); its invalid frames before the first valid one then take it instead.
    """
    values = np.asarray(values)
    if previous is not None:
        previous = np.broadcast_to(np.asarray(previous, dtype=values.dtype), values.shape[1:])
        values = np.concatenate([previous[None], values])
        valid = np.concatenate([np.isfinite(previous).all(-1)[None], valid])
        return hold_last_valid(values, valid, default)[1:]
    T = len(valid)
    flat_valid = valid.reshape(T, -1)
    flat = values.reshape(T, flat_valid.shape[1], -1)
    idx = np.maximum.accumulate(np.where(flat_valid, np.arange(T)[:, None], -1), axis=0)
    idx = np.where(idx < 0, np.argmax(flat_valid, axis=0), idx)
    out = np.take_along_axis(flat, idx[..., None], axis=0)
    out[:, ~flat_valid.any(0)] = default
    return out.reshape(values.shape)


def continuous(q: np.ndarray, previous: np.ndarray | None = None) -> np.ndarray:
    """:func:`mocap.rotations.make_continuous` over frames (axis 0), continuing from ``previous``
    (the quaternion(s) of the frame before the first, already continuous) when given."""
    if previous is None:
        return rot.make_continuous(q)
    return rot.make_continuous(np.concatenate([np.asarray(previous)[None], q]))[1:]


def first_frame_signs(rotations: np.ndarray) -> np.ndarray:
    """(J,) +1 or -1 per joint: the sign that makes each joint's quaternion start with w >= 0
    (the sign is free; continuity is what matters), from rotations (T, J, 4)."""
    return np.where(rotations[0, :, 0] < 0, -1.0, 1.0)


def world_rotations(rotations: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """World rotations (T, J, 4) of local ones (parents before children)."""
    world = np.zeros(rotations.shape)
    for j, p in enumerate(parents):
        world[:, j] = rotations[:, j] if p < 0 else rot.multiply(world[:, p], rotations[:, j])
    return world


def forward_kinematics(motion: Motion, with_rotations: bool = False):
    """World joint positions (T, J, 3) of a Motion; with ``with_rotations`` also the world
    rotations (T, J, 4). The root sits at ``root_translation``; each other joint at its parent's
    position plus the parent's world rotation applied to its rest offset."""
    world = world_rotations(motion.rotations, motion.parents)
    pos = np.zeros(motion.rotations.shape[:2] + (3,))
    for j, p in enumerate(motion.parents):
        pos[:, j] = motion.root_translation if p < 0 else pos[:, p] + rot.rotate(world[:, p], motion.offsets[j])
    return (pos, world) if with_rotations else pos

"""Quaternion arithmetic the add-on needs, vectorized over leading axes (w, x, y, z; numpy only).

The add-on cannot import mocap (it runs in Blender's Python), so it carries these few formulas.
"""

from __future__ import annotations

import numpy as np


def multiply(a, b) -> np.ndarray:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz,
                     aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw], axis=-1)


def conjugate(q) -> np.ndarray:
    return np.asarray(q, dtype=float) * np.array([1.0, -1.0, -1.0, -1.0])


def from_axis_angle(rotvec) -> np.ndarray:
    """Quaternions (..., 4) of rotation vectors (..., 3) (axis times angle in radians)."""
    v = np.asarray(rotvec, dtype=float)
    angle = np.linalg.norm(v, axis=-1, keepdims=True)
    # sin(a/2)/a -> 1/2 as a -> 0
    scale = np.where(angle > 1e-12, np.sin(angle / 2) / np.where(angle > 1e-12, angle, 1.0), 0.5)
    return np.concatenate([np.cos(angle / 2), v * scale], axis=-1)


def to_matrix(q) -> np.ndarray:
    """(..., 3, 3) rotation matrices of unit quaternions (..., 4)."""
    w, x, y, z = np.moveaxis(np.asarray(q, dtype=float), -1, 0)
    return np.stack([np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
                     np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
                     np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)], -2)


def from_matrix(m) -> np.ndarray:
    """Unit quaternions (..., 4) of rotation matrices (..., 3, 3), w >= 0 (Shepperd's method:
    the largest of the four diagonal combinations is taken as the pivot, for accuracy)."""
    m = np.asarray(m, dtype=float)
    t = np.stack([m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2], m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                  -m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2], -m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]], -1)
    k = np.argmax(t, axis=-1)
    s = np.sqrt(np.maximum(1.0 + np.take_along_axis(t, k[..., None], -1)[..., 0], 1e-12)) * 2  # 4 * pivot
    d = {(i, j): m[..., i, j] for i in range(3) for j in range(3)}
    cands = [np.stack([s / 4, (d[2, 1] - d[1, 2]) / s, (d[0, 2] - d[2, 0]) / s, (d[1, 0] - d[0, 1]) / s], -1),
             np.stack([(d[2, 1] - d[1, 2]) / s, s / 4, (d[0, 1] + d[1, 0]) / s, (d[0, 2] + d[2, 0]) / s], -1),
             np.stack([(d[0, 2] - d[2, 0]) / s, (d[0, 1] + d[1, 0]) / s, s / 4, (d[1, 2] + d[2, 1]) / s], -1),
             np.stack([(d[1, 0] - d[0, 1]) / s, (d[0, 2] + d[2, 0]) / s, (d[1, 2] + d[2, 1]) / s, s / 4], -1)]
    q = np.choose(k[..., None], cands)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return q * np.where(q[..., :1] < 0, -1.0, 1.0)


def make_continuous(q) -> np.ndarray:
    """Flip signs along axis 0 so consecutive quaternions never differ by more than 90° in
    4D (same rotations; Blender's interpolation between keys then never takes the long way)."""
    q = np.array(q, dtype=float)
    if len(q) < 2:
        return q
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    sign = np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=0)
    q[1:] *= sign[..., None]
    return q

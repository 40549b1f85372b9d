"""Quaternion and Euler-angle helpers in pure numpy, vectorized over any leading axes.

Conventions
-----------
* Quaternions are ``(..., 4)`` arrays ordered **w, x, y, z**. They act on column vectors:
  ``rotate(q, v)`` is ``to_matrix(q) @ v``, and ``multiply(a, b)`` is the rotation that applies
  ``b`` first, then ``a`` (the matrix product ``A @ B``).
* Euler angles are ``(..., 3)`` arrays, one angle per letter of ``order``, in that order, and are
  **intrinsic** (each rotation about the axes already turned by the previous ones). An ``order``
  of ``"ZXY"`` means ``R = Rz(a[0]) @ Rx(a[1]) @ Ry(a[2])``: exactly how a BVH channel list
  "Zrotation Xrotation Yrotation" is read (Blender's importer builds the same matrix), and what
  ``scipy.spatial.transform.Rotation.from_euler("ZXY", ...)`` (upper case) means.
  Only the six Tait-Bryan orders (three different axes) are supported.
* Angles are radians unless ``degrees=True``.

Nothing here loops over frames; functions broadcast like numpy ufuncs.
"""

from __future__ import annotations

import numpy as np

ORDERS = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")
_EPS = 1e-12


def _as(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > _EPS, n, 1.0)


def identity(shape=()) -> np.ndarray:
    """Identity quaternions of the given leading shape: ``(*shape, 4)``."""
    shape = (shape,) if np.isscalar(shape) else tuple(shape)
    q = np.zeros(shape + (4,))
    q[..., 0] = 1.0
    return q


def normalize(q) -> np.ndarray:
    """Unit quaternions (a zero quaternion stays zero rather than becoming NaN)."""
    return _unit(_as(q))


def multiply(a, b) -> np.ndarray:
    """Hamilton product ``a * b``: the rotation ``b`` followed by ``a``."""
    a, b = np.broadcast_arrays(_as(a), _as(b))
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], axis=-1)


def conjugate(q) -> np.ndarray:
    """``(w, -x, -y, -z)``: the inverse rotation of a unit quaternion."""
    q = _as(q)
    return np.concatenate([q[..., :1], -q[..., 1:]], axis=-1)


def inverse(q) -> np.ndarray:
    """Inverse of any non-zero quaternion (the conjugate divided by the squared norm)."""
    q = _as(q)
    return conjugate(q) / np.sum(q * q, axis=-1, keepdims=True)


def rotate(q, v) -> np.ndarray:
    """Rotate vectors ``v`` (..., 3) by unit quaternions ``q`` (..., 4), broadcasting."""
    q, v = _as(q), _as(v)
    w, u = q[..., :1], q[..., 1:]
    # v' = v + 2 w (u x v) + 2 u x (u x v), cheaper than building the matrix.
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def from_axis_angle(axis, angle) -> np.ndarray:
    """Rotation by ``angle`` radians about ``axis`` (normalized here), right-handed."""
    axis, angle = _unit(_as(axis)), _as(angle)
    half = 0.5 * angle[..., None]
    xyz = np.sin(half) * axis
    return np.concatenate([np.broadcast_to(np.cos(half), xyz.shape[:-1] + (1,)), xyz], axis=-1)


def to_matrix(q) -> np.ndarray:
    """(..., 3, 3) rotation matrices of quaternions (normalized first)."""
    w, x, y, z = np.moveaxis(normalize(q), -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def from_matrix(m) -> np.ndarray:
    """Unit quaternions of (..., 3, 3) rotation matrices (Shepperd's method).

    Of the four algebraically equivalent formulas, each matrix uses the one whose square root is
    of the largest quantity (trace, or a dominant diagonal element), which keeps full precision
    for every rotation angle including 180°.
    """
    m = _as(m)
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    trace = m00 + m11 + m22
    big = np.stack([trace, m00, m11, m22], -1)
    pick = np.argmax(np.nan_to_num(big, nan=0.0), axis=-1)
    r = np.sqrt(np.maximum(1.0 + np.stack([trace, m00 - m11 - m22, m11 - m00 - m22, m22 - m00 - m11], -1), _EPS))
    s = 0.5 / r  # 1 / (4 * (r / 2))
    cands = np.stack([
        np.stack([0.5 * r[..., 0], (m21 - m12) * s[..., 0], (m02 - m20) * s[..., 0], (m10 - m01) * s[..., 0]], -1),
        np.stack([(m21 - m12) * s[..., 1], 0.5 * r[..., 1], (m01 + m10) * s[..., 1], (m02 + m20) * s[..., 1]], -1),
        np.stack([(m02 - m20) * s[..., 2], (m01 + m10) * s[..., 2], 0.5 * r[..., 2], (m12 + m21) * s[..., 2]], -1),
        np.stack([(m10 - m01) * s[..., 3], (m02 + m20) * s[..., 3], (m12 + m21) * s[..., 3], 0.5 * r[..., 3]], -1),
    ], -2)
    q = np.take_along_axis(cands, pick[..., None, None], axis=-2)[..., 0, :]
    return normalize(q)


def _check_order(order: str) -> tuple[int, int, int]:
    order = order.upper()
    if order not in ORDERS:
        raise ValueError(f"Euler order must be one of {ORDERS}, got {order!r}")
    return tuple("XYZ".index(c) for c in order)


def from_euler(angles, order: str, degrees: bool = False) -> np.ndarray:
    """Quaternions of intrinsic Euler angles (..., 3): ``R = R[order[0]] R[order[1]] R[order[2]]``."""
    axes = _check_order(order)
    angles = _as(angles)
    if degrees:
        angles = np.radians(angles)
    q = None
    for k, axis in enumerate(axes):
        half = 0.5 * angles[..., k]
        qk = np.zeros(angles.shape[:-1] + (4,))
        qk[..., 0] = np.cos(half)
        qk[..., 1 + axis] = np.sin(half)
        q = qk if q is None else multiply(q, qk)
    return q


def euler_to_matrix(angles, order: str, degrees: bool = False) -> np.ndarray:
    """(..., 3, 3) matrices of intrinsic Euler angles (see :func:`from_euler`)."""
    return to_matrix(from_euler(angles, order, degrees))


def matrix_to_euler(m, order: str, degrees: bool = False) -> np.ndarray:
    """Intrinsic Euler angles (..., 3) of rotation matrices, middle angle in [-90°, 90°].

    With ``R = Ri(a) Rj(b) Rk(c)`` and ``s = +1`` for the cyclic orders (XYZ, YZX, ZXY), ``-1``
    otherwise: ``R[i, k] = s sin b``, and away from gimbal lock ``a`` and ``c`` come from the
    row ``i`` and the column ``k`` by atan2. The middle angle uses atan2 too (not asin) so it keeps
    full precision near ±90°. At gimbal lock (cos b ~ 0) only ``a ± c`` is defined: ``c`` is set to
    0 and ``a`` read from column ``j``, which still reproduces the matrix exactly.
    """
    i, j, k = _check_order(order)
    s = 1.0 if (j - i) % 3 == 1 else -1.0
    m = _as(m)
    sin_b = s * m[..., i, k]
    cos_b = np.hypot(m[..., i, i], m[..., i, j])
    b = np.arctan2(sin_b, cos_b)
    a = np.arctan2(-s * m[..., j, k], m[..., k, k])
    c = np.arctan2(-s * m[..., i, j], m[..., i, i])
    locked = cos_b < 1e-9
    if np.any(locked):
        a = np.where(locked, np.arctan2(s * m[..., k, j], m[..., j, j]), a)
        c = np.where(locked, 0.0, c)
    out = np.stack([a, b, c], axis=-1)
    return np.degrees(out) if degrees else out


def to_euler(q, order: str, degrees: bool = False) -> np.ndarray:
    """Intrinsic Euler angles (..., 3) of quaternions; see :func:`matrix_to_euler`."""
    return matrix_to_euler(to_matrix(q), order, degrees)


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


def unwrap_euler(angles, order: str, axis: int = 0, degrees: bool = False) -> np.ndarray:
    """Make a sequence of Euler angles continuous along ``axis`` without changing any rotation.

    Every rotation has two Tait-Bryan solutions, ``(a, b, c)`` and ``(a + 180°, 180° - b,
    c + 180°)``, each defined modulo 360° per angle. Frame by frame we keep whichever solution is
    nearer the previous frame, then remove 360° jumps (``np.unwrap``). Choosing the solution looks
    sequential but is not: whether frame t should swap relative to frame t-1 is symmetric in the
    two solutions, so the swap state is the running parity (cumulative sum mod 2) of the per-frame
    swap decisions. ``order`` is accepted for clarity; the two-solution identity holds for all six
    orders. Input must be finite.
    """
    _check_order(order)
    a = np.moveaxis(_as(angles), axis, 0)
    if degrees:
        a = np.radians(a)
    if a.shape[0] < 2:
        return np.moveaxis(np.degrees(a) if degrees else a.copy(), 0, axis)
    alt = np.stack([a[..., 0] + np.pi, np.pi - a[..., 1], a[..., 2] + np.pi], axis=-1)
    d_same = np.sum(_wrap(a[1:] - a[:-1]) ** 2, axis=-1)
    d_swap = np.sum(_wrap(alt[1:] - a[:-1]) ** 2, axis=-1)
    swap = np.concatenate([np.zeros((1,) + d_same.shape[1:], dtype=int), (d_swap < d_same).astype(int)])
    state = (np.cumsum(swap, axis=0) % 2).astype(bool)
    chosen = np.where(state[..., None], alt, a)
    out = np.unwrap(chosen, axis=0)
    if degrees:
        out = np.degrees(out)
    return np.moveaxis(out, 0, axis)


def make_continuous(q, axis: int = 0) -> np.ndarray:
    """Flip quaternion signs along ``axis`` so consecutive ones have a non-negative dot product.

    ``q`` and ``-q`` are the same rotation; interpolation and filtering need the consistent one.
    The sign of frame t is the product of the sign changes up to t (a cumulative product).
    """
    q = np.moveaxis(_as(q), axis, 0)
    if q.shape[0] < 2:
        return np.moveaxis(q.copy(), 0, axis)
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    step = np.where(dots < 0, -1.0, 1.0)
    sign = np.concatenate([np.ones((1,) + step.shape[1:]), np.cumprod(step, axis=0)])
    return np.moveaxis(q * sign[..., None], 0, axis)


def _any_perpendicular(v: np.ndarray) -> np.ndarray:
    """A unit vector perpendicular to each unit vector ``v`` (deterministic choice)."""
    helper = np.where(np.abs(v[..., :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
    return _unit(np.cross(v, helper))


def rotation_between(a, b) -> np.ndarray:
    """Shortest-arc rotation taking the direction of ``a`` to the direction of ``b``.

    ``q = normalize(1 + a.b, a x b)`` for unit a, b: half the angle, about the common normal.
    Opposite vectors have no unique shortest arc: they get 180° about some perpendicular axis.
    """
    a, b = np.broadcast_arrays(_unit(_as(a)), _unit(_as(b)))
    w = 1.0 + np.sum(a * b, axis=-1, keepdims=True)
    xyz = np.cross(a, b)
    opposite = w < 1e-9
    q = np.concatenate([w, xyz], axis=-1)
    if np.any(opposite):
        q = np.where(opposite, np.concatenate([np.zeros_like(w), _any_perpendicular(a)], -1), q)
    return normalize(q)


def _frame(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Orthonormal frames (..., 3, 3) with columns: primary, secondary made perpendicular, their cross."""
    e1 = _unit(primary)
    s_perp = secondary - np.sum(secondary * e1, axis=-1, keepdims=True) * e1
    norm = np.linalg.norm(s_perp, axis=-1, keepdims=True)
    e2 = np.where(norm > 1e-9, s_perp / np.where(norm > 1e-9, norm, 1.0), _any_perpendicular(e1))
    return np.stack([e1, e2, np.cross(e1, e2)], axis=-1)


def from_two_axes(primary, secondary, rest_primary=(1.0, 0.0, 0.0), rest_secondary=(0.0, 1.0, 0.0)) -> np.ndarray:
    """The rotation taking ``rest_primary`` exactly onto the direction of ``primary`` and turning
    ``rest_secondary`` as close as possible to ``secondary`` (the twist about ``primary``).

    Both pairs are completed to right-handed orthonormal frames by Gram-Schmidt (secondary made
    perpendicular to primary, third axis their cross product); the rotation is
    ``F_target @ F_rest.T``. ``rest_primary`` and ``rest_secondary`` need not be perpendicular,
    only not parallel. When ``secondary`` is parallel to ``primary`` the twist is undefined and an
    arbitrary (deterministic) perpendicular is used: callers that can be degenerate should
    provide a fallback hint themselves.
    """
    primary, secondary, rest_primary, rest_secondary = np.broadcast_arrays(
        _as(primary), _as(secondary), _as(rest_primary), _as(rest_secondary))
    target = _frame(primary, secondary)
    rest = _frame(rest_primary, rest_secondary)
    return from_matrix(target @ np.swapaxes(rest, -1, -2))

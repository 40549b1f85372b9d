"""mocap.rotations against scipy's Rotation and against the defining properties."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mocap import rotations as rot


def _random_quats(rng, n):
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _wxyz(r: Rotation) -> np.ndarray:
    return r.as_quat()[..., [3, 0, 1, 2]]


def _same_rotation(a, b):
    """Largest deviation of |dot| from 1 between quaternion sets (0 when equal up to sign)."""
    return np.max(np.abs(np.abs(np.sum(a * b, axis=-1)) - 1.0))


@pytest.mark.parametrize("order", rot.ORDERS)
def test_euler_round_trips_match_scipy(order):
    rng = np.random.default_rng(1)
    angles = rng.uniform(-np.pi, np.pi, size=(500, 3))
    angles[:, 1] = rng.uniform(-1.5, 1.5, size=500)  # the middle angle's range, away from lock
    ref = Rotation.from_euler(order, angles)  # upper case: intrinsic, as BVH channels

    q = rot.from_euler(angles, order)
    assert _same_rotation(q, _wxyz(ref)) < 1e-12
    assert np.abs(rot.euler_to_matrix(angles, order) - ref.as_matrix()).max() < 1e-12
    assert np.abs(rot.to_euler(q, order) - angles).max() < 1e-10
    assert np.abs(rot.matrix_to_euler(ref.as_matrix(), order) - ref.as_euler(order)).max() < 1e-10
    degrees = np.degrees(angles)
    back = rot.to_euler(rot.from_euler(degrees, order, degrees=True), order, degrees=True)
    assert np.abs(back - degrees).max() < 1e-8


@pytest.mark.parametrize("order", rot.ORDERS)
def test_euler_at_gimbal_lock_reproduces_the_rotation(order):
    rng = np.random.default_rng(2)
    angles = rng.uniform(-np.pi, np.pi, size=(50, 3))
    angles[:, 1] = np.where(rng.random(50) < 0.5, np.pi / 2, -np.pi / 2)
    m = rot.euler_to_matrix(angles, order)
    back = rot.matrix_to_euler(m, order)
    assert np.all(np.isfinite(back))
    assert np.abs(np.abs(back[:, 1]) - np.pi / 2).max() < 1e-6
    assert np.abs(rot.euler_to_matrix(back, order) - m).max() < 1e-9


def test_matrix_quaternion_and_products_match_scipy():
    rng = np.random.default_rng(3)
    q = _random_quats(rng, 400)
    # Include exact half turns, where the trace formula alone loses precision.
    q[:3] = [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0.6, 0, 0.8]]
    ref = Rotation.from_quat(q[:, [1, 2, 3, 0]])
    assert np.abs(rot.to_matrix(q) - ref.as_matrix()).max() < 1e-12
    assert _same_rotation(rot.from_matrix(ref.as_matrix()), q) < 1e-12

    p = _random_quats(rng, 400)
    ref_p = Rotation.from_quat(p[:, [1, 2, 3, 0]])
    assert _same_rotation(rot.multiply(q, p), _wxyz(ref * ref_p)) < 1e-12
    v = rng.normal(size=(400, 3))
    assert np.abs(rot.rotate(q, v) - ref.apply(v)).max() < 1e-12
    assert np.abs(rot.rotate(rot.conjugate(q), rot.rotate(q, v)) - v).max() < 1e-12
    scaled = 2.5 * q
    assert _same_rotation(rot.multiply(scaled, rot.inverse(scaled)), rot.identity(400)) < 1e-12
    axis, angle = rng.normal(size=(400, 3)), rng.uniform(-3, 3, 400)
    ref_aa = Rotation.from_rotvec(axis / np.linalg.norm(axis, axis=1, keepdims=True) * angle[:, None])
    assert _same_rotation(rot.from_axis_angle(axis, angle), _wxyz(ref_aa)) < 1e-12


def test_rotation_between_is_the_shortest_arc():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(300, 3)), rng.normal(size=(300, 3))
    # Parallel and opposite pairs, where the formula degenerates.
    b[0], b[1], b[2] = 3 * a[0], -2 * a[1], -a[2] * 1e-3
    q = rot.rotation_between(a, b)
    ua = a / np.linalg.norm(a, axis=1, keepdims=True)
    ub = b / np.linalg.norm(b, axis=1, keepdims=True)
    assert np.abs(rot.rotate(q, ua) - ub).max() < 1e-12
    # Shortest: the rotation angle equals the angle between the vectors.
    angle = 2 * np.arccos(np.clip(np.abs(q[:, 0]), 0, 1))
    between = np.arccos(np.clip(np.sum(ua * ub, axis=1), -1, 1))
    assert np.abs(angle - between).max() < 1e-6
    assert _same_rotation(q[:1], rot.identity(1)) < 1e-12


def test_from_two_axes_puts_primary_exactly_and_fixes_the_twist():
    rng = np.random.default_rng(5)
    primary, secondary = rng.normal(size=(200, 3)), rng.normal(size=(200, 3))
    rest_p, rest_s = np.array([0.0, 0.0, -1.0]), np.array([1.0, 0.3, 0.0])  # not perpendicular
    q = rot.from_two_axes(primary, secondary, rest_p, rest_s)
    up = primary / np.linalg.norm(primary, axis=1, keepdims=True)
    assert np.abs(rot.rotate(q, rest_p) - up).max() < 1e-12
    # The rest secondary's perpendicular part lands on the secondary's perpendicular part.
    s_rest = rest_s - rest_s @ rest_p * rest_p
    s_rest /= np.linalg.norm(s_rest)
    s_perp = secondary - np.sum(secondary * up, 1, keepdims=True) * up
    s_perp /= np.linalg.norm(s_perp, axis=1, keepdims=True)
    assert np.abs(rot.rotate(q, s_rest) - s_perp).max() < 1e-12
    # Degenerate (parallel) hint: still a proper rotation with the primary exact.
    q = rot.from_two_axes([0.0, 2.0, 0.0], [0.0, 1.0, 0.0])
    assert np.abs(rot.rotate(q, [1.0, 0.0, 0.0]) - [0.0, 1.0, 0.0]).max() < 1e-12


def _smooth_rotations(n, seed):
    """A smooth sequence of rotations that turns several times round and passes gimbal lock."""
    t = np.linspace(0, 1, n)
    rng = np.random.default_rng(seed)
    axis = np.stack([np.sin(2 * t + rng.uniform(0, 6)), np.cos(3 * t), 0.5 + t], axis=1)
    return rot.from_axis_angle(axis, 14.0 * t)  # 4.5 turns in total


def test_make_continuous_removes_sign_flips():
    q = _smooth_rotations(500, 0)
    flipped = q * np.where(np.random.default_rng(6).random(500) < 0.5, -1.0, 1.0)[:, None]
    out = rot.make_continuous(flipped)
    assert np.all(np.sum(out[1:] * out[:-1], axis=1) >= 0)
    assert _same_rotation(out, q) < 1e-12
    assert np.allclose(out * np.sign(np.sum(out[:1] * q[:1])), q)
    # Along another axis: (joints, frames, 4).
    stacked = rot.make_continuous(np.stack([flipped, -flipped]), axis=1)
    assert np.all(np.sum(stacked[:, 1:] * stacked[:, :-1], axis=-1) >= 0)


@pytest.mark.parametrize("order", rot.ORDERS)
def test_unwrap_euler_follows_angles_through_turns_and_gimbal_lock(order):
    # Smooth angles whose outer angles make several turns and whose middle angle swings past
    # ±90°, where the canonical solution (middle angle within ±90°) jumps by 180° on two channels.
    t = np.linspace(0.0, 1.0, 1500)
    truth = np.stack([10.0 + 900.0 * t, 40.0 + 130.0 * np.sin(2 * np.pi * 1.3 * t), -20.0 - 700.0 * t ** 2], axis=1)
    q = rot.from_euler(truth, order, degrees=True)
    raw = rot.to_euler(q, order, degrees=True)
    assert np.abs(np.diff(raw, axis=0)).max() > 170  # the canonical angles do jump
    out = rot.unwrap_euler(raw, order, degrees=True)
    assert _same_rotation(rot.from_euler(out, order, degrees=True), q) < 1e-12
    assert np.abs(out - truth).max() < 1e-6
    # Along axis 1, for several sequences at once.
    both = rot.unwrap_euler(np.stack([raw, raw]), order, axis=1, degrees=True)
    assert np.abs(both - truth).max() < 1e-6

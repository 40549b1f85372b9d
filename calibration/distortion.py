"""OpenCV's lens distortion models, forward and inverse, vectorized over any leading shape.

Everything here works on *normalized* image coordinates ``(x/z, y/z)`` of the camera frame
(x right, y down, z forward), i.e. before the camera matrix is applied.

* Pinhole (``cv2.projectPoints``): coefficients ``k1, k2, p1, p2[, k3[, k4, k5, k6]]`` (4, 5 or 8);
  missing ones are zero. With ``r2 = x² + y²``::

      radial = (1 + k1 r2 + k2 r2² + k3 r2³) / (1 + k4 r2 + k5 r2² + k6 r2³)
      xd = x radial + 2 p1 x y + p2 (r2 + 2 x²)
      yd = y radial + p1 (r2 + 2 y²) + 2 p2 x y

* Fisheye (``cv2.fisheye``): coefficients ``k1..k4``; with ``r = |(x, y)|`` and ``θ = atan(r)``,
  ``θd = θ (1 + k1 θ² + k2 θ⁴ + k3 θ⁶ + k4 θ⁸)`` and ``(xd, yd) = (θd / r) (x, y)``.

The inverses solve these equations by Newton's method (quadratic convergence, so a few
iterations reach machine precision even at strongly distorted image corners, where OpenCV's
default fixed-point ``undistortPoints`` stops after 5 iterations several pixels from the truth).
A point whose solution does not converge, or lies past the fold where the model stops being
one-to-one (outside any real image), comes back NaN rather than as a wrong answer.
NaN inputs give NaN outputs and never raise.

This is the one lens model of the package: :class:`~calibration.camera.Camera`, bundle adjustment
and calibration from people all project through it. Coefficients may be one set ``(n,)`` for
every point or one set per point ``(..., n)`` (bundle adjustment projects the corners of every
camera at once); :func:`distort` takes a per-point mix of pinhole and fisheye cameras.
"""

from __future__ import annotations

import numpy as np

PINHOLE_SIZES = (4, 5, 8)
FISHEYE_SIZE = 4

_NEWTON_ITERATIONS = 30
# Normalized units: 1e-12 is ~1e-9 px for a 1000 px focal length.
_STEP_TOL = 1e-15
_RESIDUAL_TOL = 1e-12
# OpenCV treats radii below this as the optical axis (where θd / r → 1).
_FISHEYE_MIN_R = 1e-8


def _pinhole_coefficients(dist) -> np.ndarray:
    """(8, ...) k1, k2, p1, p2, k3, k4, k5, k6 from ``dist`` (n,) or (..., n), missing ones zero:
    each row broadcasts against the points' leading shape."""
    dist = np.asarray(dist, dtype=np.float64)
    coeffs = np.zeros(dist.shape[:-1] + (8,))
    coeffs[..., : dist.shape[-1]] = dist
    return np.moveaxis(coeffs, -1, 0)


def _pinhole_terms(x: np.ndarray, y: np.ndarray, dist: np.ndarray, jacobian: bool = True):
    """Distorted (xd, yd) and, with ``jacobian``, the 2×2 Jacobian d(xd, yd)/d(x, y) of the pinhole
    model as (j11, j12, j21, j22) (j21 = j12)."""
    k1, k2, p1, p2, k3, k4, k5, k6 = _pinhole_coefficients(dist)
    xx, yy, xy = x * x, y * y, x * y
    r2 = xx + yy
    radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    dradial = k1 + r2 * (2 * k2 + 3 * k3 * r2)  # d(radial)/d(r2)
    if np.any(k4) or np.any(k5) or np.any(k6):  # the rational model's denominator (else it is 1)
        den = 1 + r2 * (k4 + r2 * (k5 + r2 * k6))
        dden = k4 + r2 * (2 * k5 + 3 * k6 * r2)
        radial, dradial = radial / den, (dradial * den - radial * dden) / (den * den)  # quotient rule
    xd = x * radial + 2 * p1 * xy + p2 * (r2 + 2 * xx)
    yd = y * radial + p1 * (r2 + 2 * yy) + 2 * p2 * xy
    if not jacobian:
        return xd, yd
    j12 = 2 * (xy * dradial + p1 * x + p2 * y)
    j11 = radial + 2 * xx * dradial + 2 * p1 * y + 6 * p2 * x
    j22 = radial + 2 * yy * dradial + 6 * p1 * y + 2 * p2 * x
    return xd, yd, j11, j12, j12, j22


def distort(xy: np.ndarray, dist: np.ndarray, fisheye=False) -> np.ndarray:
    """Normalized undistorted ``(..., 2)`` → normalized distorted ``(..., 2)`` by either model.

    ``fisheye``: one bool, or one per point (shape ``xy.shape[:-1]``) for points of several
    cameras; ``dist`` ``(n,)`` or per point ``(..., n)``, a fisheye point's k1..k4 in its first
    four entries (what follows is ignored).
    """
    fisheye = np.asarray(fisheye, dtype=bool)
    if not fisheye.any():
        return distort_pinhole(xy, dist)
    dist = np.asarray(dist, dtype=np.float64)
    if fisheye.all():
        return distort_fisheye(xy, dist[..., :FISHEYE_SIZE])
    return np.where(fisheye[..., None], distort_fisheye(xy, dist[..., :FISHEYE_SIZE]), distort_pinhole(xy, dist))


def distort_pinhole(xy: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Normalized undistorted ``(..., 2)`` → normalized distorted ``(..., 2)``."""
    xd, yd = _pinhole_terms(xy[..., 0], xy[..., 1], dist, jacobian=False)
    return np.stack([xd, yd], axis=-1)


def undistort_pinhole(xy_distorted: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Normalized distorted ``(..., 2)`` → normalized undistorted ``(..., 2)`` (Newton's method)."""
    target_x, target_y = xy_distorted[..., 0], xy_distorted[..., 1]
    x, y = target_x.copy(), target_y.copy()
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for _ in range(_NEWTON_ITERATIONS):
            xd, yd, j11, j12, j21, j22 = _pinhole_terms(x, y, dist)
            ex, ey = xd - target_x, yd - target_y
            det = j11 * j22 - j12 * j21
            dx = (j22 * ex - j12 * ey) / det
            dy = (j11 * ey - j21 * ex) / det
            x, y = x - dx, y - dy
            step = np.abs(dx) + np.abs(dy)
            if not np.any(step > _STEP_TOL):  # NaN steps (NaN input) never hold the loop
                break
        xd, yd, j11, j12, j21, j22 = _pinhole_terms(x, y, dist)
        residual = np.abs(xd - target_x) + np.abs(yd - target_y)
        # det <= 0: past the fold of the model, a second "solution" no real lens images.
        bad = ~(residual <= _RESIDUAL_TOL * (1 + np.abs(target_x) + np.abs(target_y))) | ~(
            j11 * j22 - j12 * j21 > 0
        )
    out = np.stack([x, y], axis=-1)
    out[bad] = np.nan
    return out


def _fisheye_theta_d(theta: np.ndarray, dist: np.ndarray):
    """θd(θ) and dθd/dθ of the fisheye model (``dist`` (4,) or (..., 4))."""
    k1, k2, k3, k4 = np.moveaxis(np.asarray(dist, dtype=np.float64)[..., :4], -1, 0)
    t2 = theta * theta
    poly = 1 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4)))
    dpoly = 1 + t2 * (3 * k1 + t2 * (5 * k2 + t2 * (7 * k3 + t2 * 9 * k4)))
    return theta * poly, dpoly


def distort_fisheye(xy: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Normalized undistorted ``(..., 2)`` → normalized distorted ``(..., 2)`` (OpenCV fisheye)."""
    r = np.hypot(xy[..., 0], xy[..., 1])
    theta_d, _ = _fisheye_theta_d(np.arctan(r), dist)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(r > _FISHEYE_MIN_R, theta_d / r, 1.0)
    scale = np.where(np.isnan(r), np.nan, scale)
    return xy * scale[..., None]


def undistort_fisheye(xy_distorted: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Normalized distorted ``(..., 2)`` → normalized undistorted ``(..., 2)`` (OpenCV fisheye)."""
    r_d = np.hypot(xy_distorted[..., 0], xy_distorted[..., 1])
    theta = r_d.copy()
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for _ in range(_NEWTON_ITERATIONS):
            value, slope = _fisheye_theta_d(theta, dist)
            step = (value - r_d) / slope
            theta = theta - step
            if not np.any(np.abs(step) > _STEP_TOL):
                break
        value, slope = _fisheye_theta_d(theta, dist)
        # Rays at or beyond 90° have no pinhole (x/z, y/z) coordinates.
        bad = ~(np.abs(value - r_d) <= _RESIDUAL_TOL * (1 + r_d)) | ~(slope > 0) | ~(theta >= 0) | ~(theta < np.pi / 2)
        scale = np.where(r_d > _FISHEYE_MIN_R, np.tan(theta) / r_d, 1.0)
    out = xy_distorted * scale[..., None]
    out[bad | np.isnan(r_d)] = np.nan
    return out

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


def _pinhole_coefficients(dist: np.ndarray) -> np.ndarray:
    coeffs = np.zeros(8)
    coeffs[: len(dist)] = dist
    return coeffs


def _pinhole_terms(x: np.ndarray, y: np.ndarray, dist: np.ndarray):
    """Distorted (xd, yd) and the 2×2 Jacobian d(xd, yd)/d(x, y) of the pinhole model."""
    k1, k2, p1, p2, k3, k4, k5, k6 = _pinhole_coefficients(dist)
    r2 = x * x + y * y
    num = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    den = 1 + r2 * (k4 + r2 * (k5 + r2 * k6))
    radial = num / den
    # d(radial)/d(r2) by the quotient rule.
    dnum = k1 + r2 * (2 * k2 + 3 * k3 * r2)
    dden = k4 + r2 * (2 * k5 + 3 * k6 * r2)
    dradial = (dnum * den - num * dden) / (den * den)
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    cross = 2 * x * y * dradial
    j11 = radial + 2 * x * x * dradial + 2 * p1 * y + 6 * p2 * x
    j12 = cross + 2 * p1 * x + 2 * p2 * y
    j21 = cross + 2 * p1 * x + 2 * p2 * y
    j22 = radial + 2 * y * y * dradial + 6 * p1 * y + 2 * p2 * x
    return xd, yd, j11, j12, j21, j22


def distort_pinhole(xy: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Normalized undistorted ``(..., 2)`` → normalized distorted ``(..., 2)``."""
    xd, yd, *_ = _pinhole_terms(xy[..., 0], xy[..., 1], dist)
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
    """θd(θ) and dθd/dθ of the fisheye model."""
    k1, k2, k3, k4 = dist
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

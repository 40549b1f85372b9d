"""Confidence-weighted linear triangulation, vectorized over every point at once.

For a point seen in camera c at undistorted normalized coordinates (u, v), with the camera's
extrinsic rows p1, p2, p3 (x_cam = [R|t] X), the projection equations are linear in X:

    (u p3 - p1) . [X, 1] = 0,      (v p3 - p2) . [X, 1] = 0.

Stacking them over the views and fixing the homogeneous coordinate to 1 gives a 3-unknown weighted
least-squares problem per point, solved here through its 3×3 normal equations for all points in
closed form over all points at once (no Python loop over points, no per-point SVD).

The algebraic residual of view c equals its reprojection error in normalized coordinates times the
point's depth in that camera. Plain DLT therefore trusts far cameras more than near ones and mixes
cameras of different focal lengths unevenly. After a first solve each view's rows are rescaled by
``focal_c / depth_c``, which turns the residuals into (first-order) pixel reprojection errors, and
the system is solved again: a cheap step toward the geometric optimum.
"""

from __future__ import annotations

import numpy as np

from mocap.triangulate.projection import MIN_DEPTH, camera_depth


def _solve_symmetric3(m00, m01, m02, m11, m12, m22, b0, b1, b2) -> tuple[np.ndarray, np.ndarray]:
    """Solve symmetric 3×3 systems given entry by entry as (N,) arrays, by the adjugate.

    Batched LAPACK (or even batched matmul) pays about a microsecond of overhead per tiny system;
    the closed form is a few passes of array arithmetic over all N. Systems that are nearly
    singular (fewer than two distinct rays) are flagged in the returned mask.
    """
    c00, c01, c02 = m11 * m22 - m12 * m12, m02 * m12 - m01 * m22, m01 * m12 - m02 * m11
    c11, c12, c22 = m00 * m22 - m02 * m02, m01 * m02 - m00 * m12, m00 * m11 - m01 * m01
    det = m00 * c00 + m01 * c01 + m02 * c02
    ok = np.abs(det) > 1e-12 * (m00 + m11 + m22) ** 3
    inv_det = np.where(ok, 1.0 / np.where(ok, det, 1.0), np.nan)
    x = np.stack([c00 * b0 + c01 * b1 + c02 * b2,
                  c01 * b0 + c11 * b1 + c12 * b2,
                  c02 * b0 + c12 * b1 + c22 * b2], axis=-1)
    return x * inv_det[:, None], ok


# The entries (i, j) of the 3×3 normal matrix and of its right-hand side (j = 3) that a solve needs.
_ENTRIES = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2), (0, 3), (1, 3), (2, 3))


def _solve(extrinsics: np.ndarray, uv: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One weighted solve. uv (C, N, 2) without NaN, w (C, N). Returns X (N, 3) and a solvable mask.

    Entry (i, j) of the normal equations sums, over the views, the products of the weighted rows
    ``w (u p3 - p1)`` and ``w (v p3 - p2)``. Multiplied out it is

        Σ_c  w²(u² + v²) p3_i p3_j  -  w² u (p3_i p1_j + p1_i p3_j)  -  w² v (p3_i p2_j + p2_i p3_j)
             +  w² (p1_i p1_j + p2_i p2_j),

    four per-point quantities per view times constants of the camera: four (C, N) arrays and
    four small matrix products give every entry of every point, without forming the rows.
    """
    p1, p2, p3 = extrinsics[:, 0], extrinsics[:, 1], extrinsics[:, 2]  # (C, 4) each
    i, j = np.array(_ENTRIES).T
    constants = np.stack([p3[:, i] * p3[:, j], p3[:, i] * p1[:, j] + p1[:, i] * p3[:, j],
                          p3[:, i] * p2[:, j] + p2[:, i] * p3[:, j], p1[:, i] * p1[:, j] + p2[:, i] * p2[:, j]])
    w2 = w * w
    w2u, w2v = w2 * uv[..., 0], w2 * uv[..., 1]
    w2r2 = w2u * uv[..., 0] + w2v * uv[..., 1]
    m = constants[0].T @ w2r2 - constants[1].T @ w2u - constants[2].T @ w2v + constants[3].T @ w2  # (9, N)
    # Normal equations of the rows' first three components . X = - their fourth.
    return _solve_symmetric3(*m[:6], *(-m[6:]))


def triangulate_dlt(extrinsics: np.ndarray, uv: np.ndarray, weights: np.ndarray, *,
                    focal: np.ndarray | None = None, refine: int = 1) -> np.ndarray:
    """Triangulate points seen by several cameras.

    extrinsics: (C, 3, 4) world-to-camera [R|t] of each camera.
    uv: (C, ..., 2) undistorted normalized image coordinates; NaN where a camera did not see the point.
    weights: (C, ...) confidence of each observation (0 or NaN: view not used).
    focal: (C,) focal lengths in pixels, so the refinement balances views in pixel units (default 1).
    refine: number of depth-reweighting passes after the first solve (see module docstring).

    Returns (..., 3) world points; NaN where fewer than two views could be used.
    """
    extrinsics = np.asarray(extrinsics, dtype=float)
    n_cams = extrinsics.shape[0]
    lead = np.shape(uv)[1:-1]
    uv = np.asarray(uv, dtype=float).reshape(n_cams, -1, 2)
    w = np.asarray(weights, dtype=float).reshape(n_cams, -1)
    valid = np.isfinite(uv).all(-1) & np.isfinite(w) & (w > 0)
    w = np.where(valid, w, 0.0)
    uv = np.where(valid[..., None], uv, 0.0)
    focal = np.ones(n_cams) if focal is None else np.asarray(focal, dtype=float)

    X, ok = _solve(extrinsics, uv, w)
    for _ in range(refine):
        depth = camera_depth(extrinsics, np.nan_to_num(X))  # (C, N)
        front = depth > MIN_DEPTH
        # A point behind a camera keeps its first weight there; the geometry is wrong anyway.
        w_depth = np.where(front, focal[:, None] / np.where(front, depth, 1.0), focal[:, None])
        X, ok = _solve(extrinsics, uv, w * w_depth)
    X[valid.sum(0) < 2] = np.nan
    return X.reshape(lead + (3,))


def reprojection_errors(projected: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Pixel distance between projected (C, ..., 2) and observed (C, ..., 2) points; NaN where either is."""
    return np.linalg.norm(projected - observed, axis=-1)

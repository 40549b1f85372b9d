"""Confidence-weighted linear triangulation, vectorized over every point at once.

For a point seen in camera c at undistorted normalized coordinates (u, v), with the camera's
extrinsic rows p1, p2, p3 (x_cam = [R|t] X), the projection equations are linear in X:

    (u p3 - p1) . [X, 1] = 0,      (v p3 - p2) . [X, 1] = 0.

Stacking them over the views and fixing the homogeneous coordinate to 1 gives a 3-unknown weighted
least-squares problem per point, solved here through its 3×3 normal equations for all points in
one batched ``np.linalg.solve`` (no Python loop over points, no per-point SVD).

The algebraic residual of view c equals its reprojection error in normalized coordinates times the
point's depth in that camera. Plain DLT therefore trusts far cameras more than near ones and mixes
cameras of different focal lengths unevenly. After a first solve each view's rows are rescaled by
``focal_c / depth_c``, which turns the residuals into (first-order) pixel reprojection errors, and
the system is solved again: a cheap step toward the geometric optimum.
"""

from __future__ import annotations

import numpy as np


def _solve(extrinsics: np.ndarray, uv: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One weighted solve. uv (C, N, 2) without NaN, w (C, N). Returns X (N, 3) and a solvable mask."""
    # Rows (C, N, 2, 4): u p3 - p1 and v p3 - p2.
    rows = uv[..., None] * extrinsics[:, None, 2:3, :] - extrinsics[:, None, :2, :]
    rows = rows * w[..., None, None]
    a, b = rows[..., :3], -rows[..., 3]
    normal = np.einsum("cnri,cnrj->nij", a, a)
    rhs = np.einsum("cnri,cnr->ni", a, b)
    # Two views at least are needed; the determinant test also rejects degenerate rays.
    scale = np.einsum("nii->n", normal) ** 3
    ok = np.abs(np.linalg.det(normal)) > 1e-12 * np.maximum(scale, 1e-300)
    normal[~ok] = np.eye(3)
    X = np.linalg.solve(normal, rhs[..., None])[..., 0]
    X[~ok] = np.nan
    return X, ok


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
        depth = np.einsum("cij,nj->cni", extrinsics[:, 2:3, :3], np.nan_to_num(X))[..., 0] + extrinsics[:, None, 2, 3]
        # A point behind a camera keeps its first weight there; the geometry is wrong anyway.
        w_depth = np.where(depth > 1e-6, focal[:, None] / np.where(depth > 1e-6, depth, 1.0), focal[:, None])
        X, ok = _solve(extrinsics, uv, w * w_depth)
    X[valid.sum(0) < 2] = np.nan
    return X.reshape(lead + (3,))


def reprojection_errors(projected: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Pixel distance between projected (C, ..., 2) and observed (C, ..., 2) points; NaN where either is."""
    return np.linalg.norm(projected - observed, axis=-1)

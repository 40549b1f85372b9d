"""Sparse bundle adjustment of cameras and board poses over every board corner seen.

Unknowns: each camera's pose (rotation vector, translation; the first camera is held fixed,
which fixes the world frame — the board's known size fixes the scale), optionally its intrinsics
(fx, fy, cx, cy and every distortion coefficient; ``k3`` stays at zero where intrinsics fixed
it), and the board's pose (board → world) at each instant. Residuals: detected minus projected
corner, in pixels, for every corner of every view.

``scipy.optimize.least_squares`` (trust-region reflective) minimizes them with a robust
``soft_l1`` loss (1 px scale) so that a mis-detected corner cannot pull the solution, and a
sparse Jacobian: a residual depends only on its camera's and its instant's parameters, so
grouped finite differences build the whole Jacobian from 21 evaluations whatever the number of
views, and the trust-region steps are solved by LSMR on the sparse matrix. 40 evaluations reach
the optimum to well under 0.01° and 0.01 px on typical rigs.
After a first solve (loss scale 1 px, robust to gross errors), corners farther than
``max(4 × median, 0.05 px)`` from their projection are dropped (a corner locked onto the wrong
feature), and the problem is solved again with the loss scale at the corners' own noise level,
so that corners a few σ off weigh less (on rendered truth with 0.01 px corners: rotation errors a
quarter lower than with the 1 px scale kept).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import coo_matrix

from calibration.camera import Camera
from calibration.rotation import matrix_to_rvec

MIN_OUTLIER_PX = 0.05  # corners closer than this to their projection are never outliers
_F_MEDIANS = 1.7  # loss scale of the second solve, in medians of the corner errors (≈ 2σ)


def rodrigues(rvecs: np.ndarray) -> np.ndarray:
    """(N, 3) rotation vectors → (N, 3, 3) matrices (vectorized Rodrigues formula)."""
    theta = np.linalg.norm(rvecs, axis=1)
    small = theta < 1e-12
    axis = rvecs / np.where(small, 1.0, theta)[:, None]
    K = np.zeros((len(rvecs), 3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    K[:, 1, 0], K[:, 2, 0], K[:, 2, 1] = axis[:, 2], -axis[:, 1], axis[:, 0]
    s, c = np.sin(theta)[:, None, None], np.cos(theta)[:, None, None]
    return np.eye(3) + s * K + (1 - c) * (K @ K)


def _distort(x, y, d, fisheye):
    """Distorted normalized coordinates, per-row coefficients ``d`` (N, 5) (fisheye rows: k1..k4)."""
    r2 = x * x + y * y
    k1, k2, p1, p2, k3 = d.T
    radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    if np.any(fisheye):
        r = np.sqrt(r2)
        th = np.arctan(r)
        t2 = th * th
        # fisheye rows hold k1..k4 in columns 0..3
        thd = th * (1 + t2 * (d[:, 0] + t2 * (d[:, 1] + t2 * (d[:, 2] + t2 * d[:, 3]))))
        scale = np.where(r > 1e-8, thd / np.maximum(r, 1e-12), 1.0)
        xd = np.where(fisheye, x * scale, xd)
        yd = np.where(fisheye, y * scale, yd)
    return xd, yd



def grouped_jacobian(residuals, groups, n_obs: int, n_params: int):
    """``x -> J``: the sparse Jacobian (2·n_obs, n_params) of ``residuals`` by grouped finite differences.

    Each observation has two residuals (u, v) and depends on few parameters. A group is
    ``(cols, row_col)``: parameter columns that no observation shares (e.g. parameter p of every
    camera), stepped together in one evaluation, and for each observation the column of the group
    it depends on (-1: none). So a handful of evaluations give the whole Jacobian, whatever the
    number of cameras, views or points.
    """
    def jacobian(x):
        f0 = residuals(x)
        r_all, c_all, v_all = [], [], []
        for cols, row_col in groups:
            if len(cols) == 0:
                continue
            h = 1e-6 * np.maximum(1.0, np.abs(x[cols]))
            xp = x.copy()
            xp[cols] += h
            step = np.zeros(n_params)
            step[cols] = h
            diff = (residuals(xp) - f0).reshape(n_obs, 2)
            ok = row_col >= 0
            r, c = np.flatnonzero(ok), row_col[ok]
            d = diff[ok] / step[c][:, None]
            r_all += [2 * r, 2 * r + 1]
            c_all += [c, c]
            v_all += [d[:, 0], d[:, 1]]
        values, rows, columns = np.concatenate(v_all), np.concatenate(r_all), np.concatenate(c_all)
        return coo_matrix((values, (rows, columns)), shape=(2 * n_obs, n_params)).tocsr()

    return jacobian

@dataclass(frozen=True)
class BundleResult:
    cameras: list
    board_world: dict  # instant → (R, t) board → world
    rms: float  # px, inlier corners
    camera_rms: dict  # name → px
    view_rms: dict  # (name, instant) → px
    n_observations: int
    n_outliers: int


def _pack_camera(cam: Camera) -> np.ndarray:
    K = cam.matrix
    d = np.zeros(5)
    d[: min(5, len(cam.dist))] = cam.dist[:5]
    return np.concatenate([cam.rvec, cam.tvec, [K[0, 0], K[1, 1], K[0, 2], K[1, 2]], d])


def bundle_adjust(cameras: list[Camera], board_world: dict, detections: dict, object_points: np.ndarray, *,
                  refine_intrinsics: bool = True, loss: str = "soft_l1") -> BundleResult:
    """Refine ``cameras`` and ``board_world`` (see the module docstring); ``detections[name][instant]``."""
    names = [c.name for c in cameras]
    instants = list(board_world)
    slot = {k: i for i, k in enumerate(instants)}
    cam_idx, brd_idx, obj, uv = [], [], [], []
    for ci, name in enumerate(names):
        for key, det in detections.get(name, {}).items():
            if det is None or key not in slot:
                continue
            cam_idx.append(np.full(len(det), ci))
            brd_idx.append(np.full(len(det), slot[key]))
            obj.append(object_points[det.ids])
            uv.append(det.corners)
    cam_idx, brd_idx = np.concatenate(cam_idx), np.concatenate(brd_idx)
    obj, uv = np.concatenate(obj), np.concatenate(uv)
    C, B = len(cameras), len(instants)
    fisheye_cam = np.array([c.fisheye for c in cameras])
    cam0 = np.stack([_pack_camera(c) for c in cameras])  # (C, 15)
    brd0 = np.stack([np.concatenate([matrix_to_rvec(R), t]) for R, t in board_world.values()])  # (B, 6)
    free_cam = np.zeros((C, 15), bool)
    free_cam[1:, :6] = True
    if refine_intrinsics:
        free_cam[:, 6:10] = True
        for ci, cam in enumerate(cameras):
            n_dist = 4 if cam.fisheye else (5 if len(cam.dist) >= 5 and cam.dist[4] != 0 else 4)
            free_cam[ci, 10 : 10 + n_dist] = True
    full0 = np.concatenate([cam0.ravel(), brd0.ravel()])
    free = np.concatenate([free_cam.ravel(), np.ones(B * 6, bool)])
    fisheye_row = fisheye_cam[cam_idx]

    def unpack(x):
        full = full0.copy()
        full[free] = x
        return full[: C * 15].reshape(C, 15), full[C * 15 :].reshape(B, 6)

    def project(cams, brds, rows):
        Rc, Rb = rodrigues(cams[:, :3]), rodrigues(brds[:, :3])
        ci, bi = cam_idx[rows], brd_idx[rows]
        Xw = np.einsum("nij,nj->ni", Rb[bi], obj[rows]) + brds[bi, 3:]
        Xc = np.einsum("nij,nj->ni", Rc[ci], Xw) + cams[ci, 3:6]
        x, y = Xc[:, 0] / Xc[:, 2], Xc[:, 1] / Xc[:, 2]
        xd, yd = _distort(x, y, cams[ci, 10:15], fisheye_row[rows])
        f = cams[ci, 6:10]
        return np.column_stack([f[:, 0] * xd + f[:, 2], f[:, 1] * yd + f[:, 3]])

    def solve(rows, x0, f_scale):
        def residuals(x):
            cams, brds = unpack(x)
            return (project(cams, brds, rows) - uv[rows]).ravel()

        # Sparse Jacobian by grouped finite differences: a corner's two residuals touch only its
        # camera's and its instant's parameters, so parameter p of every camera can be stepped at
        # once (15 groups), and parameter p of every board pose too (6 groups): 21 evaluations
        # give the whole Jacobian, whatever the number of cameras and views.
        col_of = np.where(free, np.cumsum(free) - 1, -1)
        cam_col = col_of[: C * 15].reshape(C, 15)[cam_idx[rows]]  # (n, 15) column or -1
        brd_col = col_of[C * 15 :].reshape(B, 6)[brd_idx[rows]]  # (n, 6)
        n, m = len(rows), int(free.sum())
        cam_groups = [np.unique(col_of[: C * 15].reshape(C, 15)[:, p]) for p in range(15)]
        brd_groups = [col_of[C * 15 :].reshape(B, 6)[:, p] for p in range(6)]
        groups = [(g[g >= 0], cam_col[:, p]) for p, g in enumerate(cam_groups)] + \
                 [(g, brd_col[:, p]) for p, g in enumerate(brd_groups)]

        result = least_squares(residuals, x0, jac=grouped_jacobian(residuals, groups, n, m), loss=loss, f_scale=f_scale, x_scale="jac", method="trf",
                               tr_solver="lsmr", xtol=1e-10, ftol=1e-10, gtol=1e-10,
                               max_nfev=40)
        return result.x

    rows = np.arange(len(uv))
    x = solve(rows, full0[free], 1.0)
    err = np.linalg.norm(project(*unpack(x), rows) - uv, axis=1)
    median = float(np.median(err))
    # The distance of a 2D Gaussian error exceeds 4× its median once in ~60 000: beyond that (and
    # beyond MIN_OUTLIER_PX, so that a near-perfect fit keeps its corners) a corner is wrong.
    inlier = err <= max(4 * median, MIN_OUTLIER_PX)
    # Solve again on the inliers, with the loss turning linear at ~2σ of the corners' own noise
    # (σ ≈ median / 1.18) instead of at 1 px: corners a few σ off then weigh less.
    x = solve(rows[inlier], x, max(_F_MEDIANS * median, 1e-3))
    err = np.linalg.norm(project(*unpack(x), rows) - uv, axis=1)
    cams, brds = unpack(x)
    out = []
    for ci, cam in enumerate(cameras):
        p = cams[ci]
        K = np.array([[p[6], 0, p[8]], [0, p[7], p[9]], [0, 0, 1]])
        dist = p[10:14] if cam.fisheye else p[10:15]
        out.append(cam.replace(matrix=K, dist=dist, rvec=p[:3], tvec=p[3:6]))
    Rb = rodrigues(brds[:, :3])
    board_out = {k: (Rb[i], brds[i, 3:]) for i, k in enumerate(instants)}
    e2 = err**2
    camera_rms = {names[ci]: float(np.sqrt(e2[inlier & (cam_idx == ci)].mean())) for ci in range(C)
                  if np.any(inlier & (cam_idx == ci))}
    view_rms = {}
    for ci in range(C):
        for bi in np.unique(brd_idx[cam_idx == ci]):
            sel = (cam_idx == ci) & (brd_idx == bi)
            view_rms[names[ci], instants[bi]] = float(np.sqrt(e2[sel].mean()))
    return BundleResult(out, board_out, float(np.sqrt(e2[inlier].mean())), camera_rms, view_rms, len(uv),
                        int((~inlier).sum()))

"""Outlier-proof triangulation: views that disagree are left out, per keypoint, for all points at once.

A detector's keypoint can be wildly wrong in one view (a hand on the other person, a knee on a
table leg, a left/right mix-up) while the other views agree. Confidence weighting cannot catch it
(wrong keypoints are often confident), but geometry can: the wrong view's ray misses the point the
other rays agree on.

:func:`triangulate_robust` first solves with every view. Every point seen by three views or more
whose worst residual exceeds half the threshold is then solved again by **exhaustive consensus
over view pairs** (RANSAC without the randomness: C cameras have only C(C-1)/2 pairs, so all are
tried): each pair is triangulated, every view within the threshold of that pair's point is an
inlier, the pair with the most inliers (ties: the smaller summed inlier error) wins, and its
inliers are solved together. Thresholds are per camera: a floor, raised for cameras whose median
error (their calibration's misfit) is large. With ``method="drop_worst"`` the view with the
largest error is dropped instead, again and again, while an error is above the threshold and more
than two views remain (cheaper, but one grossly wrong view can drag the first solution so far
that a good view looks worst).

Errors are measured on the undistorted image plane, ``focal · |uv_observed - uv_projected|``:
pixels to first order, and no lens model in the loop.

:func:`detect_swaps` finds views whose detector labelled a left limb as the right one (and vice
versa): the limb's keypoints lie on the *mirrored* keypoints' projections of the 3D person.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from mocap.skeleton import SWAP_GROUP_NAMES, SWAP_TESTED
from mocap.triangulate.dlt import triangulate_dlt
from mocap.triangulate.projection import project


def view_errors(extrinsics: np.ndarray, X: np.ndarray, uv: np.ndarray, focal: np.ndarray) -> np.ndarray:
    """Reprojection error (C, N) in (undistorted) pixels of points X (N, 3) against uv (C, N, 2).

    NaN where X or the observation is missing; +inf where the point lies behind the camera.
    """
    proj, depth, front = project(extrinsics, X)
    err = np.hypot(proj[..., 0] - uv[..., 0], proj[..., 1] - uv[..., 1]) * focal[:, None]
    return np.where(front | np.isnan(depth), err, np.inf)


def _consensus(extrinsics, uv, w, focal, threshold, min_views):
    """Best view subset per point by trying every camera pair (see module docstring). ``threshold``
    (C,) pixels per camera. Returns the inlier mask (C, N)."""
    n_cams, n = w.shape
    valid = w > 0
    best_count = np.zeros(n)
    best_cost = np.full(n, np.inf)
    best_inliers = np.zeros((n_cams, n), dtype=bool)
    for a, b in itertools.combinations(range(n_cams), 2):
        both = valid[a] & valid[b]
        if not both.any():
            continue
        X = triangulate_dlt(extrinsics[[a, b]], uv[[a, b]], w[[a, b]], focal=focal[[a, b]])
        err = view_errors(extrinsics, X, uv, focal) / threshold[:, None]
        inl = valid & (err < 1.0)
        inl[:, ~both] = False
        count = inl.sum(0)
        cost = np.where(inl, err, 0.0).sum(0)
        better = (count >= min_views) & ((count > best_count) | ((count == best_count) & (cost < best_cost)))
        best_count = np.where(better, count, best_count)
        best_cost = np.where(better, cost, best_cost)
        best_inliers[:, better] = inl[:, better]
    return best_inliers


def _robust_pass(extrinsics, uv, w, focal, threshold, min_views, method, keep_inconsistent_pairs):
    """One robust solve with fixed per-camera thresholds (C,): points (N, 3) and views used (C, N)."""
    n_cams = extrinsics.shape[0]
    X = triangulate_dlt(extrinsics, uv, w, focal=focal)
    used = w > 0

    def errors(points, uv_, mask):
        """Errors in units of each camera's threshold (> 1: outlier), 0 where a view is not used."""
        return np.where(mask, view_errors(extrinsics, points, uv_, focal) / threshold[:, None], 0.0)

    err = errors(X, uv, used)
    # Points with a third view to arbitrate are redone when a residual of the all-view solution
    # exceeds half the threshold (consensus) or the threshold (drop-worst). Half, because least
    # squares spreads a wrong view's error over all views: a view 70 px off can leave every
    # residual under 40 px, but not under a third of its own error. Clean points skip the work.
    arbitrable = used.sum(0) > 2
    bad = np.flatnonzero(arbitrable & (err.max(0) > (0.5 if method == "consensus" else 1.0)))
    if bad.size:
        wb, uvb = w[:, bad], uv[:, bad]
        if method == "consensus":
            keep = _consensus(extrinsics, uvb, wb, focal, threshold, min_views)
            # The winning pair's inliers, solved together, may now bring in a view that was just
            # outside the threshold of the pair's point (a wide-baseline view with a poorer calibration).
            Xb = triangulate_dlt(extrinsics, uvb, wb * keep, focal=focal)
            keep = ((wb > 0) & (errors(Xb, uvb, wb > 0) < 1.0)) | keep
        else:
            keep = wb > 0
            eb = err[:, bad]
            for _ in range(n_cams - 2):
                worst = np.argmax(np.where(keep, eb, -1.0), axis=0)
                drop = (np.where(keep, eb, 0.0).max(0) > 1.0) & (keep.sum(0) > 2)
                if not drop.any():
                    break
                keep[worst[drop], np.flatnonzero(drop)] = False
                eb = errors(triangulate_dlt(extrinsics, uvb, wb * keep, focal=focal), uvb, keep)
        Xb = triangulate_dlt(extrinsics, uvb, wb * keep, focal=focal)
        X[bad] = Xb
        used[:, bad] = keep & (wb > 0)
        X[bad[keep.sum(0) < 2]] = np.nan
    if not keep_inconsistent_pairs:
        pair = used.sum(0) == 2
        X[pair & (errors(X, uv, used).max(0) > 1.0)] = np.nan
    return X, used


def triangulate_robust(extrinsics: np.ndarray, uv: np.ndarray, weights: np.ndarray, *, focal: np.ndarray,
                       threshold_px=15.0, adaptive: float | None = 6.0, min_views: int = 2,
                       method: str = "consensus",
                       keep_inconsistent_pairs: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Triangulate with outlier views removed.

    extrinsics: (C, 3, 4) world-to-camera; uv: (C, ..., 2) undistorted normalized coordinates (NaN:
        not seen); weights: (C, ...) confidences (0: not used); focal: (C,) focal lengths in pixels.
    threshold_px: a view whose reprojection error exceeds this (pixels; one number or one per
        camera) is an outlier: above the noise, well below how wrong a wrong detection is.
    adaptive: raise each camera's threshold to ``adaptive`` times its median error against the
        points of a first robust pass, and solve again. A real calibration fits some cameras to 10-40 px; a fixed
        threshold low enough to catch wrong detections would then reject such a camera
        wholesale, while its median error tells how far off its good detections are. None: off.
    min_views: a point needs this many agreeing views, else it is NaN.
    method: "consensus" (all view pairs) or "drop_worst" (drop the worst view while above threshold).
    keep_inconsistent_pairs: a point seen by exactly two views that disagree cannot tell which view
        is wrong; keep it (True, its error is reported) or make it NaN (False).

    Returns ``(X, used)``: points (..., 3) and the mask of views used (C, ...).
    """
    if method not in ("consensus", "drop_worst"):
        raise ValueError(f"method must be 'consensus' or 'drop_worst', got {method!r}")
    extrinsics = np.asarray(extrinsics, dtype=float)
    focal = np.asarray(focal, dtype=float)
    n_cams = extrinsics.shape[0]
    lead = np.shape(uv)[1:-1]
    uv = np.asarray(uv, dtype=float).reshape(n_cams, -1, 2)
    w = np.asarray(weights, dtype=float).reshape(n_cams, -1)
    w = np.where(np.isfinite(uv).all(-1) & np.isfinite(w) & (w > 0), w, 0.0)

    # Only points seen twice or more are worth solving (empty person slots are most of some inputs).
    X_all = np.full((w.shape[1], 3), np.nan)
    used_all = np.zeros(w.shape, dtype=bool)
    solvable = np.flatnonzero((w > 0).sum(0) >= 2)
    uv, w = uv[:, solvable], w[:, solvable]
    threshold = np.broadcast_to(np.asarray(threshold_px, dtype=float), (n_cams,)).copy()
    X, used = _robust_pass(extrinsics, uv, w, focal, threshold, min_views, method, keep_inconsistent_pairs)
    if adaptive:
        # Each camera's misfit, measured against points solved without the outliers: an all-view
        # solution would smear the outliers' errors into every camera's median.
        raw = view_errors(extrinsics, X, uv, focal)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a camera that saw nothing
            median = np.nanmedian(np.where((w > 0) & np.isfinite(raw), raw, np.nan), axis=1)
        raised = np.maximum(threshold, adaptive * np.nan_to_num(median))
        if (raised > threshold).any():
            threshold = raised
            X, used = _robust_pass(extrinsics, uv, w, focal, threshold, min_views, method, keep_inconsistent_pairs)
    lost = used.sum(0) < min_views
    X[lost] = np.nan
    used[:, lost | ~np.isfinite(X).all(-1)] = False
    X_all[solvable], used_all[:, solvable] = X, used
    return X_all.reshape(lead + (3,)), used_all.reshape((n_cams,) + lead)


# Limbs a detector can label with the wrong side, as (left keypoints, right keypoints), in
# SWAP_GROUP_NAMES order: a view's limb is swapped as a whole (OpenPose and RTMPose mix up whole
# legs or arms, not single joints). The keypoints judged are also the ones put back.
SWAP_GROUPS = {name: (np.array(SWAP_TESTED[name][0]), np.array(SWAP_TESTED[name][1])) for name in SWAP_GROUP_NAMES}


def detect_swaps(extrinsics: np.ndarray, X: np.ndarray, uv: np.ndarray, focal: np.ndarray, *,
                 threshold_px: float = 15.0, used: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Which views saw a limb with left and right exchanged.

    X: (..., K, 3) the 3D person (from the views that agree); uv: (C, ..., K, 2) what each view saw.
    A view's limb is swapped when its left and right keypoints, exchanged, lie closer to the
    projections (median over the limb's keypoints seen) than as labelled, the labelled error is
    above ``threshold_px`` and the exchanged one is below it. With ``used`` (C, ..., K), the views
    :func:`triangulate_robust` used, a view's limb must also have been left out as an outlier for
    most of its keypoints: where the swapped views were the majority, X itself is mirrored and the
    correct views must not be "fixed".

    Returns {group name: (C, ...) bool}.
    """
    n_cams = extrinsics.shape[0]
    lead = X.shape[:-2]
    K = X.shape[-2]
    err = view_errors(extrinsics, X.reshape(-1, 3), uv.reshape(n_cams, -1, 2), focal).reshape((n_cams,) + lead + (K,))
    out = {}
    for name, (left, right) in SWAP_GROUPS.items():
        if max(left.max(), right.max()) >= K:
            continue
        both = np.concatenate([left, right])
        mirrored = np.concatenate([right, left])
        straight = err[..., both]
        # The swapped error: observation of keypoint k against the projection of its mirror.
        flipped = view_errors(extrinsics, X[..., mirrored, :].reshape(-1, 3),
                              uv[..., both, :].reshape(n_cams, -1, 2), focal).reshape(straight.shape)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN medians: limb not seen
            e_straight = np.nanmedian(np.where(np.isfinite(flipped), straight, np.nan), axis=-1)
            e_flipped = np.nanmedian(np.where(np.isfinite(straight), flipped, np.nan), axis=-1)
        swapped = (e_straight > threshold_px) & (e_flipped < threshold_px) & (e_flipped < 0.5 * e_straight)
        if used is not None:
            seen = np.isfinite(uv[..., both, 0])
            swapped &= 2 * (used[..., both] & seen).sum(-1) < seen.sum(-1)
        out[name] = swapped
    return out


def unswap(uv: np.ndarray, swaps: dict[str, np.ndarray]) -> np.ndarray:
    """``uv`` (C, ..., K, D) with the swapped limbs' left and right keypoints exchanged back."""
    uv = uv.copy()
    for name, mask in swaps.items():
        left, right = SWAP_GROUPS[name]
        m = mask[..., None, None]
        a, b = uv[..., left, :], uv[..., right, :]
        uv[..., left, :] = np.where(m, b, a)
        uv[..., right, :] = np.where(m, a, b)
    return uv


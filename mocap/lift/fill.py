"""Fill-in for multi-camera sessions: each camera's lifted 3D matched to the triangulated tracks,
then :func:`lifting.fill_in` for the keypoints fewer than two cameras agreed on.

The lifted views need not come from the same 2D run as the triangulation (a lifting backend has
its own detections), so each camera's detections are matched to the tracks by where the tracks'
triangulated points project: per frame, the detection whose confident keypoints lie nearest to a
track's projection (median distance over the body and feet, at most ``max_distance_px``, or 15 %
of the track's projected size when that is larger) is that track's, each detection used once.
A detection whose arms, legs or eyes and ears match better with left and right exchanged has them
exchanged first (its 3D too: the model labelled both at once), as triangulation does with 2D.
Frames are matched by ``frame_index``.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from lifting import FillResult, fill_in
from mocap.data import SOURCE_TRIANGULATED, Keypoints3D
from mocap.lift.views import LiftedViews, calibration_pixels, skeletons
from mocap.skeleton import FEET, N_KEYPOINTS, SWAP_EXCHANGED, SWAP_GROUP_NAMES, SWAP_TESTED

MATCH_POINTS = np.arange(0, FEET.stop)


def _swap_permutations() -> np.ndarray:
    """(G, 133) keypoint permutation exchanging left and right of each swap group."""
    perms = np.tile(np.arange(N_KEYPOINTS), (len(SWAP_GROUP_NAMES), 1))
    for g, name in enumerate(SWAP_GROUP_NAMES):
        left, right = (np.array(v) for v in SWAP_EXCHANGED[name])
        perms[g, left], perms[g, right] = right, left
    return perms


PERMS = _swap_permutations()
MOVES = PERMS != np.arange(N_KEYPOINTS)  # (G, 133): the keypoints each group's swap exchanges


@contextlib.contextmanager
def _quiet():
    """Silence numpy's all-NaN RuntimeWarnings (unmatched tracks and unseen limbs are expected)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _median_distance(d: np.ndarray, min_points: int = 4) -> np.ndarray:
    """Median over the last axis ignoring NaN; NaN (no match) where fewer than ``min_points``."""
    enough = np.isfinite(d).sum(-1) >= min_points
    out = np.full(d.shape[:-1], np.nan)
    out[enough] = np.nanmedian(d[enough], axis=-1)
    return out


def match_detections(projected: np.ndarray, observed: np.ndarray, *, max_distance_px: float = 40.0):
    """Which detection is which track, and which of its limbs are labelled the other way.

    projected: (T, P, K, 2) the tracks' points projected into one camera (NaN where unknown);
    observed: (T, M, K, 2) that camera's detections (NaN where not confident).
    Returns ``slot`` (T, P) the detection of each track (-1 none) and ``swaps`` (T, P, G) bool.
    """
    # Only the body and feet decide the match and the swaps: the other points would only cost memory.
    n = MATCH_POINTS.size
    projected, observed, perms, moves = projected[..., :n, :], observed[..., :n, :], PERMS[:, :n], MOVES[:, :n]
    T, P = projected.shape[:2]
    M = observed.shape[1]
    pr = projected[:, :, None]  # (T, P, 1, K, 2)
    ob = observed[:, None]      # (T, 1, M, K, 2)
    straight = np.linalg.norm(pr - ob, axis=-1)  # (T, P, M, K)
    swaps = np.zeros((T, P, M, len(SWAP_GROUP_NAMES)), bool)
    for g, name in enumerate(SWAP_GROUP_NAMES):
        tested = np.array(SWAP_TESTED[name][0] + SWAP_TESTED[name][1])
        crossed = np.linalg.norm(pr[..., tested, :] - ob[..., perms[g][tested], :], axis=-1)
        with _quiet():
            s, c = np.nanmean(straight[..., tested], -1), np.nanmean(crossed, -1)
        swaps[..., g] = (c < 0.8 * s) & (np.isfinite(crossed).sum(-1) >= 2)
    best = straight.copy()
    for g in range(len(SWAP_GROUP_NAMES)):  # the distances with each detection's chosen labels
        crossed_all = np.linalg.norm(pr - ob[..., perms[g], :], axis=-1)
        best = np.where(swaps[..., g:g + 1] & moves[g], crossed_all, best)
    cost = _median_distance(best[..., MATCH_POINTS])  # (T, P, M)
    with _quiet():
        lo, hi = np.nanmin(projected[..., MATCH_POINTS, :], -2), np.nanmax(projected[..., MATCH_POINTS, :], -2)
    size = np.linalg.norm(hi - lo, axis=-1)  # (T, P)
    limit = np.maximum(max_distance_px, 0.15 * np.nan_to_num(size))[..., None]
    cost = np.where(np.isfinite(cost) & (cost <= limit), cost, np.inf)
    slot = np.full((T, P), -1)
    chosen = np.zeros((T, P, len(SWAP_GROUP_NAMES)), bool)
    rows = np.arange(T)
    for _ in range(min(P, M)):  # greedy, one (track, detection) pair per frame per round
        flat = cost.reshape(T, -1)
        k = flat.argmin(-1)
        ok = np.isfinite(flat[rows, k])
        p, m = np.divmod(k, M)
        slot[rows[ok], p[ok]] = m[ok]
        chosen[rows[ok], p[ok]] = swaps[rows[ok], p[ok], m[ok]]
        cost[rows[ok], p[ok], :] = np.inf
        cost[rows[ok], :, m[ok]] = np.inf
    return slot, chosen


def _take(values: np.ndarray, slot: np.ndarray, swaps: np.ndarray) -> np.ndarray:
    """values (T, M, K, ...) -> (T, P, K, ...) each track's detection, limbs put back; NaN where none."""
    picked = np.take_along_axis(values, np.maximum(slot, 0).reshape(slot.shape + (1,) * (values.ndim - 2)), axis=1)
    for g in range(swaps.shape[-1]):
        flipped = picked[:, :, PERMS[g]]
        picked = np.where(swaps[..., g].reshape(swaps.shape[:2] + (1,) * (values.ndim - 2)), flipped, picked)
    return np.where((slot >= 0).reshape(slot.shape + (1,) * (values.ndim - 2)), picked, np.nan)


def fill_with_lifting(kp3d: Keypoints3D, views: LiftedViews, group, *, min_score: float = 0.3,
                      min_common: int = 6, max_distance_px: float = 40.0, height: float | None = None) -> FillResult:
    """``kp3d`` with the keypoints fewer than two cameras agreed on filled from ``views``' lifted 3D.

    group: the calibration (``calibration.CameraGroup``) ``kp3d`` was triangulated with; its cameras
    are found in ``views`` by name (cameras ``views`` lacks contribute nothing). Filled points are
    ``SOURCE_LIFTED``, ``n_views`` 1, with the filling camera's 2D confidence and its reprojection
    error there (:func:`lifting.fill_in`).
    """

    T, P, K = kp3d.xyz.shape[:3]
    C = len(group)
    lifted = np.full((C, T, P, K, 3), np.nan)
    score = np.zeros((C, T, P, K))
    xy = np.full((C, T, P, K, 2), np.nan)
    _, t3, tl = np.intersect1d(kp3d.frame_index, views.keypoints.frame_index, return_indices=True)
    known = np.isfinite(kp3d.xyz).all(-1) & (kp3d.source == SOURCE_TRIANGULATED)
    tri = np.where(known[..., None], kp3d.xyz, np.nan)[t3]
    names = list(views.keypoints.camera_names)
    for c, cam in enumerate(group.cameras):
        if cam.name not in names or not len(t3):
            continue
        v = names.index(cam.name)
        obs_all = calibration_pixels(views, v, cam)
        obs = obs_all[tl]
        conf = views.keypoints.score[v][tl]
        confident = np.where((conf >= min_score)[..., None], obs, np.nan)
        slot, swaps = match_detections(cam.project(tri[..., MATCH_POINTS, :]), confident, max_distance_px=max_distance_px)
        rel = skeletons(views, v, cam, height, uv=cam.undistort_points(obs_all))[tl]
        lifted[c, t3] = _take(rel, slot, swaps)
        score[c, t3] = np.nan_to_num(_take(conf, slot, swaps))
        xy[c, t3] = _take(obs, slot, swaps)
    return fill_in(kp3d, lifted, score, min_score=min_score, min_common=min_common,
                   project=lambda c, points: group.cameras[c].project(points), xy=xy)

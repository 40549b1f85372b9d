"""Motion synchronization from 2D keypoints: keypoint-speed cross-correlation, refined by epipolar fit.

1. **The subject** of each view is, in every frame, its largest person (keypoint bounding-box
   diagonal), so detection slots need not be tracks and a bystander is ignored.
2. **Coarse lag, from speeds.** Each keypoint's speed (pixels per step over the subject's median
   size, so near and far views compare; a step longer than ``JUMP`` sizes is a detection error,
   not motion, and is left out) is one channel. For a pair of views every keypoint's channel is
   correlated with the same keypoint's in the other view by
   :func:`~mocap.sync.correlate.masked_ncc` (missing steps are left out at every lag, never
   filled), and the channels' curves are averaged, weighted by how much each keypoint moves: the
   whole body votes, and a keypoint that is still (or a person still for a while) adds no false
   peak. Lags must leave ``min_overlap`` of the shorter signal. The highest local maxima of the
   average (up to ``CANDIDATES``, at least half the best) are the candidate lags: a periodic
   motion such as walking has several.
3. **Exact lag, from geometry.** Around each candidate (``WINDOW`` steps either side) every whole
   lag is scored by :func:`mocap.sync.epipolar.misfit`: how well the keypoints paired at that lag
   fit the fundamental matrix fitted at the best lag so far (refitted, up to three times, when
   another lag of the window fits better). The best is refined to a fraction of a step by the
   vertex of the parabola through its and its neighbours' squared misfits, each with its own
   refitted matrix (a point moving at speed v and paired d steps off misfits by about
   sqrt(noise^2 + (v d)^2), whose square is a parabola in d). (Scoring fractional lags with view
   j interpolated between frames would be biased toward half steps: averaging two frames halves
   the detector's jitter.)
4. **Confidence** of a pair: ``min(1, (1 - best / runner_up) / MARGIN)``, where ``runner_up`` is
   the best score of any other evaluated lag (the neighbours included): 1 when being one step or
   one gait cycle off would fit at least ``MARGIN`` (10 %) worse, 0 when two lags fit equally well.
   Without enough common keypoints for a geometric fit, the speed correlation's own peak and its
   :func:`~mocap.sync.correlate.pick_peak` confidence are used.

The pairs' lags are made consistent by :func:`~mocap.sync.correlate.combine_pairs`. Lags are in
time steps of the keypoints; with a stride they are converted to frames.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import numpy as np

from mocap.data import Keypoints2D
from mocap.sync.correlate import PairLag, combine_pairs, masked_ncc, pick_peak
from mocap.sync.epipolar import correspondences, fit_fundamental, misfit

JUMP = 0.5  # subject sizes per step: faster is a detection error
CANDIDATES = 3
WINDOW = 5
MARGIN = 0.1


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: those points are missing
        yield


def subject_track(xy: np.ndarray, score: np.ndarray, min_score: float = 0.3) -> np.ndarray:
    """(T, K, 2) the largest person of one view in every frame (NaN where not confidently seen).

    xy (T, P, K, 2), score (T, P, K): one camera's detections.
    """
    seen = (score >= min_score) & np.isfinite(xy).all(-1)
    pts = np.where(seen[..., None], xy, np.nan)
    with _quiet():
        extent = np.nanmax(pts, axis=2) - np.nanmin(pts, axis=2)  # (T, P, 2)
    size = np.where(seen.sum(-1) >= 3, np.hypot(extent[..., 0], extent[..., 1]), -1.0)
    size = np.where(np.isfinite(size), size, -1.0)
    return pts[np.arange(len(xy)), np.argmax(size, axis=1)]


def keypoint_speeds(track: np.ndarray) -> np.ndarray:
    """(T - 1, K) each keypoint's speed in subject sizes per step (NaN: unseen or a jump)."""
    with _quiet():
        extent = np.nanmax(track, axis=1) - np.nanmin(track, axis=1)
        size = np.nanmedian(np.hypot(extent[:, 0], extent[:, 1]))
    speed = np.linalg.norm(np.diff(track, axis=0), axis=-1) / (size if size > 0 else np.nan)
    speed[~(speed <= JUMP)] = np.nan
    return speed


def speed_correlation(si: np.ndarray, sj: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lags, rho, overlap)``: the movement-weighted mean over keypoints of their speed NCC
    curves, and the number of steps both views have some keypoint speed in, per lag."""
    lags, rho, overlap = masked_ncc(si.T, sj.T)  # (K, L)
    with _quiet():
        movement = np.sqrt(np.nanstd(si, axis=0) * np.nanstd(sj, axis=0))  # (K,)
    weight = np.where(np.isfinite(rho), overlap * np.nan_to_num(movement)[:, None], 0.0)
    total = weight.sum(0)
    mean = np.where(total > 0, (np.nan_to_num(rho) * weight).sum(0) / np.maximum(total, 1e-300), np.nan)
    _, _, steps = masked_ncc(np.where(np.isfinite(si).any(1), 0.0, np.nan), np.where(np.isfinite(sj).any(1), 0.0, np.nan))
    return lags, mean, steps


def _candidates(lags, values, allowed) -> list[int]:
    v = np.where(allowed & np.isfinite(values), values, -np.inf)
    if not np.isfinite(v).any():
        return []
    interior = (v >= np.roll(v, 1)) & (v >= np.roll(v, -1)) & np.isfinite(v)
    order = np.argsort(-np.where(interior, v, -np.inf))
    best = v[order[0]]
    picked: list[int] = []
    for i in order[:50]:
        if not np.isfinite(v[i]) or v[i] < 0.5 * best or len(picked) == CANDIDATES:
            break
        if all(abs(int(lags[i]) - c) > WINDOW for c in picked):
            picked.append(int(lags[i]))
    return picked


@dataclass(frozen=True)
class PairFit:
    lag: float  # steps, view j relative to view i
    confidence: float


def pair_lag(track_i, track_j, *, min_overlap: float = 0.5, max_lag: int | None = None) -> PairFit:
    """Lag and confidence of view j relative to view i, in steps (module doc)."""
    si, sj = keypoint_speeds(track_i), keypoint_speeds(track_j)
    lags, rho, overlap = speed_correlation(si, sj)
    need = min_overlap * min(np.isfinite(si).any(1).sum(), np.isfinite(sj).any(1).sum())
    allowed = overlap >= max(need, 3)
    if max_lag is not None:
        allowed &= np.abs(lags) <= max_lag
    candidates = _candidates(lags, rho, allowed)
    if not candidates:
        return PairFit(0.0, 0.0)
    allowed_lags = set(lags[allowed].tolist())
    with _quiet():
        moving = np.linalg.norm(np.gradient(track_i, axis=0), axis=-1)
    scores = {}
    for candidate in candidates:
        centre = candidate
        for _ in range(3):  # fit the geometry at the best lag so far, score the window with it
            p, q, _ = correspondences(track_i, track_j, centre, moving)
            if len(p) < 16:
                break
            F, _ = fit_fundamental(p, q)
            window = {lag: misfit(F, *correspondences(track_i, track_j, lag, moving))
                      for lag in range(candidate - WINDOW, candidate + WINDOW + 1) if lag in allowed_lags}
            scores.update(window)
            best = min(window, key=window.get)
            if best == centre:
                break
            centre = best
    finite = {k: v for k, v in scores.items() if np.isfinite(v)}
    if len(finite) < 3:
        peak = pick_peak(lags, rho, allowed)
        return PairFit(peak.lag, peak.confidence)
    best = min(finite, key=finite.get)
    runner_up = min(v for k, v in finite.items() if k != best)
    confidence = float(np.clip((1 - finite[best] / runner_up) / MARGIN, 0.0, 1.0)) if runner_up > 0 else 0.0
    lag = float(best)
    if best - 1 in finite and best + 1 in finite:
        # Sub-frame: the best lag and its neighbours, each with its own refitted matrix (which
        # scores sub-frame differences more evenly than one matrix fitted at one of them), and
        # the vertex of the parabola through their squared misfits.
        refit = []
        for k in (best - 1, best, best + 1):
            p, q, speed = correspondences(track_i, track_j, k, moving)
            refit.append(misfit(fit_fundamental(p, q)[0], p, q, speed) ** 2)
        left, mid, right = refit
        curvature = left - 2 * mid + right
        if curvature > 0:
            lag += float(np.clip(0.5 * (left - right) / curvature, -1.0, 1.0))
    return PairFit(lag, confidence)


def motion_offsets(kp2d: Keypoints2D, *, reference: int = 0, min_score: float = 0.3, min_overlap: float = 0.5,
                   max_lag: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Unsynchronized 2D keypoints (every camera's step t is its own frame ``frame_index[t]``) ->
    ``(offsets, confidence)``: sub-frame offsets in frames (0 for the reference) and per-camera
    confidences. ``max_lag`` in frames."""
    stride = np.diff(kp2d.frame_index)
    if stride.size and np.any(stride != stride[0]):
        raise ValueError("motion sync needs evenly spaced frames (one stride)")
    step = int(stride[0]) if stride.size else 1
    tracks = [subject_track(kp2d.xy[c], kp2d.score[c], min_score) for c in range(kp2d.n_cameras)]
    limit = None if max_lag is None else max(1, max_lag // step)
    fits = {}
    for i in range(kp2d.n_cameras):
        for j in range(i + 1, kp2d.n_cameras):
            fits[i, j] = pair_lag(tracks[i], tracks[j], min_overlap=min_overlap, max_lag=limit)
    pairs = [PairLag(i, j, fit.lag, fit.confidence) for (i, j), fit in fits.items()]
    offsets, confidence = combine_pairs(kp2d.n_cameras, pairs, reference)
    return offsets * step, confidence

"""Cross-view matching: hypotheses "these two detections are one person", and how well every view
supports them. Association (everyone, :mod:`mocap.triangulate.association`) and subject
selection (the best-supported person, :mod:`mocap.triangulate.subject`) are both built on it.

Every view lists its detections in no particular order. For every pair of cameras and every pair
of their detections in a frame, the hypothesis (a *seed*) is scored by the whole skeleton's
geometric consistency, on the body and feet keypoints (:data:`ASSOCIATION_KEYPOINTS`):

0. **Centres** (:func:`epipolar_gap`). A seed whose two detection centres (median keypoint) lie
   farther than ``3 · max_error`` pixels from each other's epipolar lines is dropped before
   anything is triangulated: different people rarely pass, so about P of the P² pairs per camera
   pair remain, and the cost grows with the number of people, not its square.
1. **Self-consistency** (:func:`pair_seeds`). The seed's keypoints are triangulated from its two
   views; it is kept if a third of its keypoints reproject within ``max_error`` pixels in both
   views (not half: a keypoint wrong in either view, 20 % of them in bad data, spoils its
   two-view triangulation).
2. **Support** (:func:`support`). The seed's skeleton is projected into every camera; a view
   *supports* it through the detection (of the two nearest by centre: the others are someone
   else) with the most keypoints within ``max_error``, when those are more than a given fraction
   of the keypoints both have.

Distances are measured on the undistorted image plane (normalized coordinates × focal length,
:mod:`mocap.triangulate.projection`), so no lens model runs in the loop. Everything is vectorized
over the seeds of a chunk of frames; :func:`frame_chunks` sizes the chunks so that a chunk never
holds more than :data:`MAX_CANDIDATES` candidate pairs, which bounds the memory whatever the
number of people (20 detections per view and 4 cameras: 2 400 pairs per frame).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from mocap.triangulate.dlt import triangulate_dlt
from mocap.triangulate.projection import project

# Body and feet: what every whole-body detector reports; faces and hands are too small to tell people apart.
ASSOCIATION_KEYPOINTS = np.arange(23)
# Candidate (seed, frame) pairs examined at once. With 20 people close together about half pass
# the epipolar test, and the working arrays peak near 170 MB (4 cameras); larger chunks are no faster.
MAX_CANDIDATES = 1 << 15


def nanmedian(a: np.ndarray, axis: int) -> np.ndarray:
    """Median over ``axis`` ignoring NaN (NaN where all are), by one sort: numpy's nanmedian goes
    through masked arrays for these shapes and is many times slower."""
    a = np.sort(np.moveaxis(a, axis, -1), axis=-1)  # NaN sort last
    n = np.isfinite(a).sum(-1)
    lo = np.take_along_axis(a, np.maximum((n - 1) // 2, 0)[..., None], -1)[..., 0]
    hi = np.take_along_axis(a, np.maximum(n // 2, 0)[..., None], -1)[..., 0]
    return np.where(n > 0, 0.5 * (lo + hi), np.nan)


@dataclass(frozen=True)
class BodyDetections:
    """Every detection's body keypoints, prepared once for matching.

    ``uv`` (C, T, P, Kb, 2) normalized coordinates, ``score`` (C, T, P, Kb) (0: not seen),
    ``usable`` (C, T, P): the detection has ``min_keypoints`` body keypoints or more, ``centres``
    (C, T, P, 2) its median keypoint.
    """

    uv: np.ndarray
    score: np.ndarray
    usable: np.ndarray
    centres: np.ndarray

    @classmethod
    def of(cls, uv: np.ndarray, score: np.ndarray, min_keypoints: int) -> "BodyDetections":
        """From all keypoints: ``uv`` (C, T, P, K, 2) undistorted normalized, ``score`` (C, T, P, K)."""
        kb = ASSOCIATION_KEYPOINTS[ASSOCIATION_KEYPOINTS < uv.shape[3]]
        uv_b = uv[:, :, :, kb]
        sc_b = np.where(np.isfinite(uv_b).all(-1), np.nan_to_num(score[:, :, :, kb]), 0.0)
        usable = (sc_b > 0).sum(-1) >= min_keypoints
        centres = nanmedian(np.where((sc_b > 0)[..., None], uv_b, np.nan), axis=3)
        return cls(uv_b, sc_b, usable, centres)


def pair_hypotheses(n_cams: int, n_detections: int) -> np.ndarray:
    """(H, 4) rows (c1, p1, c2, p2) for every camera pair c1 < c2 and every pair of their detections."""
    return np.array([(c1, p1, c2, p2) for c1, c2 in itertools.combinations(range(n_cams), 2)
                     for p1 in range(n_detections) for p2 in range(n_detections)], dtype=int).reshape(-1, 4)


def frame_chunks(n_frames: int, n_hypotheses: int, chunk: int) -> list[np.ndarray]:
    """Consecutive frame ranges of at most ``chunk`` frames and :data:`MAX_CANDIDATES` candidates."""
    step = max(1, min(chunk, MAX_CANDIDATES // max(n_hypotheses, 1)))
    return [np.arange(start, min(start + step, n_frames)) for start in range(0, n_frames, step)]


def essential_matrices(extrinsics: np.ndarray) -> np.ndarray:
    """(C, C, 3, 3) essential matrices: x_b' E[a, b] x_a = 0 for normalized points of one world point."""
    R, t = extrinsics[:, :, :3], extrinsics[:, :, 3]
    R_ab = np.einsum("bij,akj->abik", R, R)  # R_b R_a'
    t_ab = t[None, :] - np.einsum("abij,aj->abi", R_ab, t)  # t_b - R_ab t_a
    cross = np.zeros(t_ab.shape[:2] + (3, 3))
    cross[..., 0, 1], cross[..., 0, 2], cross[..., 1, 2] = -t_ab[..., 2], t_ab[..., 1], -t_ab[..., 0]
    cross = cross - np.swapaxes(cross, -1, -2)
    return cross @ R_ab


def epipolar_gap(essential: np.ndarray, focal: np.ndarray, uv_a: np.ndarray, uv_b: np.ndarray,
                 ca: np.ndarray, cb: np.ndarray) -> np.ndarray:
    """Pixel distance of points uv_b (N, 2) of cameras cb from the epipolar lines of uv_a (N, 2) of
    cameras ca, and the other way round (the larger of the two); NaN points give +inf."""
    xa = np.concatenate([uv_a, np.ones((len(uv_a), 1))], -1)
    xb = np.concatenate([uv_b, np.ones((len(uv_b), 1))], -1)
    E = essential[ca, cb]  # (N, 3, 3)
    line_b = np.einsum("nij,nj->ni", E, xa)
    line_a = np.einsum("nji,nj->ni", E, xb)
    algebraic = np.abs((xb * line_b).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.maximum(algebraic / np.hypot(line_b[:, 0], line_b[:, 1]) * focal[cb],
                         algebraic / np.hypot(line_a[:, 0], line_a[:, 1]) * focal[ca])
    return np.where(np.isfinite(gap), gap, np.inf)


@dataclass(frozen=True)
class Seeds:
    """Seeds of a chunk of frames that passed steps 0 and 1: ``frames`` (N,), ``pairs`` (N, 4) rows
    (c1, p1, c2, p2), their two-view skeletons ``X`` (N, Kb, 3) and its projections ``uv``
    (C, N, Kb, 2) into every camera."""

    frames: np.ndarray
    pairs: np.ndarray
    X: np.ndarray
    uv: np.ndarray


def pair_seeds(extrinsics: np.ndarray, focal: np.ndarray, det: BodyDetections, frames: np.ndarray,
               hypotheses: np.ndarray, essential: np.ndarray, *, max_error: float, min_keypoints: int) -> Seeds:
    """Steps 0 and 1 of the module docstring for ``hypotheses`` (H, 4) in ``frames`` (T',)."""
    n_kb = det.uv.shape[3]
    c1, p1, c2, p2 = (hypotheses[:, i, None] for i in range(4))
    # Candidate (hypothesis, frame) entries whose two detections exist.
    ok = det.usable[c1, frames[None], p1] & det.usable[c2, frames[None], p2]  # (H, T')
    h_i, t_i = np.nonzero(ok)
    fr = frames[t_i]
    c1, p1, c2, p2 = hypotheses[h_i].T
    # 0. A quick epipolar test on the detections' centres drops most pairs of different people
    # before anything is triangulated (generous: a centre is only roughly one body point).
    near = epipolar_gap(essential, focal, det.centres[c1, fr, p1], det.centres[c2, fr, p2], c1, c2) < 3 * max_error
    h_i, fr = h_i[near], fr[near]
    c1, p1, c2, p2 = hypotheses[h_i].T
    # 1. Two-view triangulation of each candidate, one camera pair at a time (shared extrinsics);
    # plain DLT without the depth reweighting: a hypothesis to be tested needs no more.
    X = np.full((h_i.size, n_kb, 3), np.nan)
    for a, b in itertools.combinations(range(extrinsics.shape[0]), 2):
        m = (c1 == a) & (c2 == b)
        if m.any():
            X[m] = triangulate_dlt(extrinsics[[a, b]], np.stack([det.uv[a, fr[m], p1[m]], det.uv[b, fr[m], p2[m]]]),
                                   np.stack([det.score[a, fr[m], p1[m]], det.score[b, fr[m], p2[m]]]),
                                   focal=focal[[a, b]], refine=0)
    uv = project(extrinsics, X).uv  # (C, N, Kb, 2)
    # The pair must agree with itself: a third of the keypoints suffices here, since a keypoint
    # that is wrong in either view (20 % of them, in bad data) spoils its triangulation.
    seeds = np.arange(h_i.size)
    n_own, n_close_own = 0, 0
    for c, p in ((c1, p1), (c2, p2)):
        own = uv[c, seeds] - det.uv[c, fr, p]
        d = np.hypot(own[..., 0], own[..., 1]) * focal[c][:, None]  # (N, Kb); NaN: missing or behind
        n_own = n_own + np.isfinite(d)
        n_close_own = n_close_own + (d < max_error)
    n_both, n_good = (n_own == 2).sum(-1), (n_close_own == 2).sum(-1)
    keep = np.flatnonzero((3 * n_good > n_both) & (n_both >= min_keypoints))
    return Seeds(fr[keep], hypotheses[h_i[keep]], X[keep], uv[:, keep])


def support(uv: np.ndarray, det: BodyDetections, frames: np.ndarray, focal: np.ndarray, *, max_error: float,
            min_keypoints: int, fraction: float, n_near: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which detection of each view supports each skeleton, given its projections ``uv`` (C, N, Kb, 2)
    into every camera, in frames ``frames`` (N,) (step 2 of the module docstring).

    A detection supports a skeleton when more than ``fraction`` of the keypoints both have (and at
    least ``min_keypoints``) lie within ``max_error`` pixels. Only the ``n_near`` detections whose
    centres lie nearest the projected skeleton's centre are compared keypoint by keypoint: the
    others are someone else, and skipping them keeps the cost flat in the number of people.

    Returns best (C, N) detection, agree (C, N) whether it supports, and its mean error (C, N).
    """
    n_cams = uv.shape[0]
    centre = nanmedian(uv, axis=2)  # (C, N, 2)
    gap = np.linalg.norm(det.centres[:, frames] - centre[:, :, None], axis=-1)  # (C, N, P)
    gap = np.where(det.usable[:, frames], np.nan_to_num(gap, nan=np.inf), np.inf)
    k = min(n_near, gap.shape[-1])
    near = np.argpartition(gap, k - 1, axis=-1)[..., :k] if k < gap.shape[-1] else np.broadcast_to(
        np.arange(gap.shape[-1]), gap.shape).copy()  # (C, N, k)
    cams = np.arange(n_cams)[:, None, None]
    det_uv = det.uv[cams, frames[None, :, None], near]  # (C, N, k, Kb, 2)
    dist = np.hypot(uv[:, :, None, :, 0] - det_uv[..., 0], uv[:, :, None, :, 1] - det_uv[..., 1])
    dist = dist * focal[:, None, None, None]
    seen = np.isfinite(dist)
    close = (dist < max_error) & seen
    n_close, n_seen = close.sum(-1), seen.sum(-1)
    ok = np.take_along_axis(det.usable[:, frames], near, -1)
    supports = (n_close > fraction * n_seen) & (n_seen >= min_keypoints) & ok  # (C, N, k)
    err = np.where(close, dist, 0.0).sum(-1) / np.maximum(n_close, 1)
    # The supporting detection per view: most close keypoints, then the smallest error.
    rank = np.where(supports, n_close - err / (2 * max_error), -np.inf)
    pick = np.argmax(rank, axis=-1)[..., None]
    agree = np.isfinite(np.take_along_axis(rank, pick, -1)[..., 0])
    return np.take_along_axis(near, pick, -1)[..., 0], agree, np.take_along_axis(err, pick, -1)[..., 0]

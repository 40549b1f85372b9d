"""Which detections in the different views are the same person? (any number of people, per frame)

Every view lists its detections in no particular order, with false detections and people that
other cameras miss. Association takes the hypotheses "these two detections are one person"
(*seeds*) of :mod:`mocap.triangulate.matching`, pruned by the epipolar gap of their centres and
by their own two views' consistency, with every view's *support* (steps 0-2 there: a third of
the keypoints), and then:

3. **Grouping.** Per frame, seeds are taken greedily by support (then by mean error); each claims
   its supporting detections not claimed yet, provided its own two detections are among them and
   ``min_views`` cameras remain. So a group holds at most one detection per camera and a
   detection belongs to one group. A false detection seen by one camera never forms a group,
   while a person seen by two cameras does.
4. **Refinement.** Each group's skeleton is solved from all its views with outlier views left out
   per keypoint (:func:`~mocap.triangulate.robust.triangulate_robust`), its support measured again
   (now 40 % of the keypoints), and the groups formed again greedily, most supported first. A
   person split over two groups (views that did not support a poor two-view skeleton), or one
   whose detection a chance pairing took, comes together.
5. **Contradiction.** Given the images' extents, a camera *contradicts* a group when the group's
   skeleton lies inside its image, it detected someone in that frame, yet none of its detections
   supports the group. Groups with more contradicting than supporting cameras are dropped: two
   hallucinated detections in two views can agree by chance, but then the other cameras that
   look at that place see nobody there. A person seen by two of four cameras still counts.

Steps 4-5 are vectorized over the groups of a chunk of frames (chunks sized by
:func:`~mocap.triangulate.matching.frame_chunks`, so memory stays bounded with many people), and
the greedy steps are short Python loops over a frame's few dozen seeds.
"""

from __future__ import annotations

import numpy as np

from mocap.triangulate.matching import (
    BodyDetections, essential_matrices, frame_chunks, pair_hypotheses, pair_seeds, support,
)
from mocap.triangulate.projection import project
from mocap.triangulate.robust import triangulate_robust


def _in_image(uv: np.ndarray, X: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """(C, N) whether most keypoints of skeletons X (N, Kb, 3), projected to ``uv`` (C, N, Kb, 2),
    lie inside each camera's image (``bounds`` (C, 4) u_min, v_min, u_max, v_max)."""
    with np.errstate(invalid="ignore"):
        inside = ((uv[..., 0] >= bounds[:, 0, None, None]) & (uv[..., 0] <= bounds[:, 2, None, None])
                  & (uv[..., 1] >= bounds[:, 1, None, None]) & (uv[..., 1] <= bounds[:, 3, None, None]))
    finite = np.isfinite(X).all(-1)
    return 2 * (inside & finite).sum(-1) > finite.sum(-1)


def _greedy(fr, best, agree, err, min_views, seeds=None):
    """Groups per frame from candidates (N) with their supporting detections ``best`` (C, N) where
    ``agree``: by frame, most support first (then smaller mean error), each candidate claims its
    detections not claimed yet and becomes a group if ``min_views`` cameras are left. With
    ``seeds`` (N, 4) rows (c1, p1, c2, p2), a candidate whose own two detections are claimed, or
    not among its supporters, is skipped.

    The claims are a short Python loop (a few dozen candidates per frame) over detections coded
    as one number each (camera · n + slot); everything that does not depend on earlier claims is
    decided beforehand with arrays.

    Returns frames (G,) and members (G, C): each group's detection per camera (-1: none).
    """
    n_cams, n = best.shape
    n_det = int(best.max()) + 1 if best.size else 1
    n_agree = agree.sum(0)
    mean_err = np.where(agree, err, 0.0).sum(0) / np.maximum(n_agree, 1)
    order = np.lexsort((mean_err, -n_agree, fr))
    order = order[n_agree[order] >= min_views]
    codes = np.where(agree, np.arange(n_cams)[:, None] * n_det + best, -1)  # (C, N)
    if seeds is not None:
        c1, p1, c2, p2 = seeds.T
        own = np.arange(n)
        # A seed whose own detections do not support it never becomes a group.
        own = (codes[c1, own] == c1 * n_det + p1) & (codes[c2, own] == c2 * n_det + p2)
        order = order[own[order]]
        own_codes = np.stack([c1 * n_det + p1, c2 * n_det + p2], -1)[order].tolist()
    rows, frames_l = codes.T[order].tolist(), fr[order].tolist()
    frames, groups = [], []
    claimed: set = set()
    current = -1
    for i, (f, row) in enumerate(zip(frames_l, rows)):
        if f != current:
            current, claimed = f, set()
        if seeds is not None and (own_codes[i][0] in claimed or own_codes[i][1] in claimed):
            continue
        free = [d for d in row if d >= 0 and d not in claimed]
        if len(free) < min_views:
            continue
        claimed.update(free)
        frames.append(f)
        groups.append(free)
    members = np.full((len(groups), n_cams), -1, dtype=int)
    if groups:
        g = np.repeat(np.arange(len(groups)), [len(x) for x in groups])
        flat = np.concatenate([np.asarray(x, dtype=int) for x in groups])
        members[g, flat // n_det] = flat % n_det
    return np.array(frames, dtype=int), members


def associate(extrinsics: np.ndarray, uv: np.ndarray, score: np.ndarray, focal: np.ndarray, *,
              max_error: float = 50.0, min_views: int = 2, min_keypoints: int = 4,
              bounds: np.ndarray | None = None, chunk: int = 256) -> np.ndarray:
    """Group detections across views into people, frame by frame.

    extrinsics: (C, 3, 4) world-to-camera; focal: (C,) pixels.
    uv: (C, T, P, K, 2) undistorted normalized coordinates of every detection (NaN: not seen);
    score: (C, T, P, K) confidences (0: not seen).
    max_error: pixels within which a detection's keypoints count as the same person's. It separates
        people, not good from bad keypoints, so it must exceed the calibration's error.
    min_views: cameras a group needs (2: a person seen by two cameras counts).
    min_keypoints: body keypoints a detection needs to take part.
    bounds: (C, 4) each image's extent in normalized coordinates (u_min, v_min, u_max, v_max), to
        reject groups that more cameras contradict than support (see step 5); None: no check.
    chunk: frames processed at once, at most (fewer with many detections per view: memory is bounded).

    Returns (T, M, C) detection indices, -1 where group m has no detection in camera c; M is the
    largest number of groups in any frame (0 if none). Groups are ordered by support.
    """
    extrinsics = np.asarray(extrinsics, dtype=float)
    focal = np.asarray(focal, dtype=float)
    n_cams, n_frames, n_det = uv.shape[:3]
    det = BodyDetections.of(uv, score, min_keypoints)
    essential = essential_matrices(extrinsics)
    hyp = pair_hypotheses(n_cams, n_det)
    found: list[tuple[np.ndarray, np.ndarray]] = []  # (frames, members) of each chunk's groups
    if len(hyp) == 0:
        return np.full((n_frames, 0, n_cams), -1, dtype=int)
    match = dict(max_error=max_error, min_keypoints=min_keypoints)
    for t in frame_chunks(n_frames, len(hyp), chunk):
        # Steps 0-1: seeds pruned by the epipolar gap of their centres and their own consistency.
        seeds = pair_seeds(extrinsics, focal, det, t, hyp, essential, **match)
        if seeds.frames.size == 0:
            continue
        # 2. Support of every view for every seed, loosely (a third of the keypoints).
        best, agree, best_err = support(seeds.uv, det, seeds.frames, focal, fraction=1 / 3, **match)
        # 3. Greedy grouping, most supported seeds first, each seed in its own group.
        gf, gm = _greedy(seeds.frames, best, agree, best_err, min_views, seeds=seeds.pairs)
        if gf.size == 0:
            continue
        # 4. Each group's skeleton solved from all its views without their outlier keypoints, the
        # support measured anew, and the groups formed again: the clean skeleton of a larger group
        # takes back detections a smaller group holds.
        gm = gm.T  # (C, G)
        cams = np.arange(n_cams)[:, None]
        uv_g = np.where((gm >= 0)[..., None, None], det.uv[cams, gf[None], np.maximum(gm, 0)], np.nan)
        w_g = np.where((gm >= 0)[..., None], det.score[cams, gf[None], np.maximum(gm, 0)], 0.0)
        X, _ = triangulate_robust(extrinsics, uv_g, w_g, focal=focal, threshold_px=max_error,
                                  adaptive=None, keep_inconsistent_pairs=False)
        proj = project(extrinsics, X).uv  # (C, G, Kb, 2)
        best, agree, best_err = support(proj, det, gf, focal, fraction=0.4, **match)
        if bounds is not None:
            # 5. A camera contradicts a group when the skeleton lies in its image, the camera
            # detected someone in that frame, and no detection of it supports the group.
            visible = _in_image(proj, X, np.asarray(bounds, dtype=float))  # (C, G)
            contradict = visible & ~agree & det.usable[:, gf].any(-1)
            agree[:, agree.sum(0) < contradict.sum(0)] = False
        found.append(_greedy(gf, best, agree, best_err, min_views))
    # Groups in each frame in the order they were formed (most supported first).
    frames = np.concatenate([f for f, _ in found]) if found else np.zeros(0, dtype=int)
    members = np.concatenate([m for _, m in found]) if found else np.zeros((0, n_cams), dtype=int)
    rank = np.arange(frames.size) - np.searchsorted(frames, frames)  # frames are sorted
    out = np.full((n_frames, int(rank.max()) + 1 if rank.size else 0, n_cams), -1, dtype=int)
    out[frames, rank] = members
    return out

"""Which detections in the different views are the same person? (any number of people, per frame)

Every view lists its detections in no particular order, with false detections and people that
other cameras miss. Association proposes, for every pair of cameras and every pair of their
detections, the hypothesis "these two are one person" (a *seed*), and scores it by the whole
skeleton's geometric consistency (body and feet keypoints):

0. **Centres.** A seed whose two detection centres (median keypoint) lie farther than
   ``3 · max_error`` pixels from each other's epipolar lines is dropped before anything is
   triangulated: different people rarely pass, so about P of the P² pairs per camera pair remain.
1. **Epipolar check.** The seed's keypoints are triangulated from its two views; it is kept if a
   third of its keypoints reproject within ``max_error`` pixels in both views (not half: a
   keypoint wrong in either view, 20 % of them in bad data, spoils its two-view triangulation).
2. **Support.** Each seed's skeleton is projected into every camera; a view *supports* it through
   the detection (of the two nearest by centre: the others are someone else) with the most
   keypoints within ``max_error``, when those are more than a third of the keypoints both have.
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

Distances are measured on the undistorted image plane (normalized coordinates × focal length), so
no lens model runs in the loop; steps 0-2 and 4-5 are vectorized over frames (in chunks) × seeds
× cameras × detections × keypoints, and the greedy steps are short Python loops over a frame's
few dozen seeds.
"""

from __future__ import annotations

import itertools

import numpy as np

from mocap.triangulate.dlt import triangulate_dlt
from mocap.triangulate.robust import triangulate_robust

# Body and feet: what every whole-body detector reports; faces and hands are too small to tell people apart.
ASSOCIATION_KEYPOINTS = np.arange(23)


def _nanmedian(a: np.ndarray, axis: int) -> np.ndarray:
    """Median over ``axis`` ignoring NaN (NaN where all are), by one sort: numpy's nanmedian goes
    through masked arrays for these shapes and is many times slower."""
    a = np.sort(np.moveaxis(a, axis, -1), axis=-1)  # NaN sort last
    n = np.isfinite(a).sum(-1)
    lo = np.take_along_axis(a, np.maximum((n - 1) // 2, 0)[..., None], -1)[..., 0]
    hi = np.take_along_axis(a, np.maximum(n // 2, 0)[..., None], -1)[..., 0]
    return np.where(n > 0, 0.5 * (lo + hi), np.nan)


def _distances(extrinsics, focal, X, uv, cams):
    """Pixel distances (N, Kb) between skeletons X (N, Kb, 3) projected into cameras ``cams`` (N,)
    and keypoints uv (N, Kb, 2) seen there; NaN where either is missing or behind the camera."""
    cam = np.matmul(X, np.swapaxes(extrinsics[cams, :, :3], 1, 2)) + extrinsics[cams, None, :, 3]
    z = cam[..., 2]
    inv_z = np.where(z > 1e-6, 1.0 / np.where(z > 1e-6, z, 1.0), np.nan)
    return np.hypot(cam[..., 0] * inv_z - uv[..., 0], cam[..., 1] * inv_z - uv[..., 1]) * focal[cams][:, None]

def _support(extrinsics, focal, X, uv_b, centres, usable, fr, max_error, min_keypoints, fraction, n_near=2):
    """Which detection of each view supports each skeleton X (N, Kb, 3) of frames fr (N,).

    A detection supports a skeleton when more than ``fraction`` of the keypoints both have lie
    within ``max_error`` pixels. Only the ``n_near`` detections whose centres (``centres`` (C, T, P,
    2), median keypoint) lie nearest the projected skeleton's centre are compared keypoint by
    keypoint: the others are someone else, and skipping them keeps the cost flat in the number
    of people. Returns best (C, N) detection, agree (C, N) and its error (C, N).
    """
    n_cams = extrinsics.shape[0]
    cam = extrinsics[:, :, :3].reshape(3 * n_cams, 3) @ X.reshape(-1, 3).T + extrinsics[:, :, 3].reshape(-1, 1)
    cam = cam.reshape((n_cams, 3) + X.shape[:-1])  # (C, 3, N, Kb)
    z = cam[:, 2]
    inv_z = np.where(z > 1e-6, 1.0 / np.where(z > 1e-6, z, 1.0), np.nan)
    proj = np.stack([cam[:, 0] * inv_z, cam[:, 1] * inv_z], -1)  # (C, N, Kb, 2)
    centre = _nanmedian(proj, axis=2)  # (C, N, 2)
    gap = np.linalg.norm(centres[:, fr] - centre[:, :, None], axis=-1)  # (C, N, P)
    gap = np.where(usable[:, fr], np.nan_to_num(gap, nan=np.inf), np.inf)
    k = min(n_near, gap.shape[-1])
    near = np.argpartition(gap, k - 1, axis=-1)[..., :k] if k < gap.shape[-1] else np.broadcast_to(
        np.arange(gap.shape[-1]), gap.shape).copy()  # (C, N, k)
    cams = np.arange(n_cams)[:, None, None]
    det_uv = uv_b[cams, fr[None, :, None], near]  # (C, N, k, Kb, 2)
    dist = np.hypot(proj[:, :, None, :, 0] - det_uv[..., 0], proj[:, :, None, :, 1] - det_uv[..., 1])
    dist = dist * focal[:, None, None, None]
    seen = np.isfinite(dist)
    close = (dist < max_error) & seen
    n_close, n_seen = close.sum(-1), seen.sum(-1)
    ok = np.take_along_axis(usable[:, fr], near, -1)
    supports = (n_close > fraction * n_seen) & (n_seen >= min_keypoints) & ok  # (C, N, k)
    err = np.where(close, dist, 0.0).sum(-1) / np.maximum(n_close, 1)
    # The supporting detection per view: most close keypoints, then the smallest error.
    rank = np.where(supports, n_close - err / (2 * max_error), -np.inf)
    pick = np.argmax(rank, axis=-1)[..., None]
    agree = np.isfinite(np.take_along_axis(rank, pick, -1)[..., 0])
    return np.take_along_axis(near, pick, -1)[..., 0], agree, np.take_along_axis(err, pick, -1)[..., 0]


def _in_image(extrinsics, X, bounds):
    """(C, N) whether most keypoints of skeletons X (N, Kb, 3) project inside each camera's image."""
    n_cams = extrinsics.shape[0]
    cam = extrinsics[:, :, :3].reshape(3 * n_cams, 3) @ X.reshape(-1, 3).T + extrinsics[:, :, 3].reshape(-1, 1)
    cam = cam.reshape((n_cams, 3) + X.shape[:-1])  # (C, 3, N, Kb)
    z = cam[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        u, v = cam[:, 0] / z, cam[:, 1] / z
        inside = ((z > 0) & (u >= bounds[:, 0, None, None]) & (u <= bounds[:, 2, None, None])
                  & (v >= bounds[:, 1, None, None]) & (v <= bounds[:, 3, None, None]))
    finite = np.isfinite(X).all(-1)
    return 2 * (inside & finite).sum(-1) > finite.sum(-1)


def _essential_matrices(extrinsics):
    """(C, C, 3, 3) essential matrices: x_b' E[a, b] x_a = 0 for normalized points of one world point."""
    R, t = extrinsics[:, :, :3], extrinsics[:, :, 3]
    R_ab = np.einsum("bij,akj->abik", R, R)  # R_b R_a'
    t_ab = t[None, :] - np.einsum("abij,aj->abi", R_ab, t)  # t_b - R_ab t_a
    cross = np.zeros(t_ab.shape[:2] + (3, 3))
    cross[..., 0, 1], cross[..., 0, 2], cross[..., 1, 2] = -t_ab[..., 2], t_ab[..., 1], -t_ab[..., 0]
    cross = cross - np.swapaxes(cross, -1, -2)
    return cross @ R_ab


def _epipolar_gap(essential, focal, uv_a, uv_b, ca, cb):
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


def _greedy(fr, best, agree, err, min_views, seeds=None):
    """Groups per frame from candidates (N) with their supporting detections ``best`` (C, N) where
    ``agree``: by frame, most support first (then smaller mean error), each candidate claims its
    detections not claimed yet and becomes a group if ``min_views`` cameras are left. With
    ``seeds`` (N, 4) rows (c1, p1, c2, p2), a candidate whose own two detections are claimed, or
    not among its supporters, is skipped. Plain Python: a few dozen candidates per frame.

    Returns (frames, members): lists of the frame and the (C,) detection indices (-1: none).
    """
    n_cams = best.shape[0]
    n_agree = agree.sum(0)
    mean_err = np.where(agree, err, 0.0).sum(0) / np.maximum(n_agree, 1)
    order = np.lexsort((mean_err, -n_agree, fr))
    best_l, agree_l, fr_l = best.T.tolist(), agree.T.tolist(), fr.tolist()
    seeds_l = seeds.tolist() if seeds is not None else None
    frames, members = [], []
    claimed: set = set()
    current = -1
    for j in order.tolist():
        f = fr_l[j]
        if f != current:
            current, claimed = f, set()
        member = [best_l[j][c] if agree_l[j][c] and (c, best_l[j][c]) not in claimed else -1 for c in range(n_cams)]
        if seeds_l is not None:
            c1, p1, c2, p2 = seeds_l[j]
            if member[c1] != p1 or member[c2] != p2:
                continue
        if sum(p >= 0 for p in member) < min_views:
            continue
        claimed.update((c, p) for c, p in enumerate(member) if p >= 0)
        frames.append(f)
        members.append(member)
    return frames, members

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

    Returns (T, M, C) detection indices, -1 where group m has no detection in camera c; M is the
    largest number of groups in any frame (0 if none). Groups are ordered by support.
    """
    extrinsics = np.asarray(extrinsics, dtype=float)
    focal = np.asarray(focal, dtype=float)
    n_cams, n_frames, n_det = uv.shape[:3]
    kb = ASSOCIATION_KEYPOINTS[ASSOCIATION_KEYPOINTS < uv.shape[3]]
    uv_b = uv[:, :, :, kb]
    sc_b = np.where(np.isfinite(uv_b).all(-1), np.nan_to_num(score[:, :, :, kb]), 0.0)
    usable = (sc_b > 0).sum(-1) >= min_keypoints  # (C, T, P)
    usable_cp = np.moveaxis(usable, 2, 1)  # (C, P, T)
    essential = _essential_matrices(extrinsics)
    centres = _nanmedian(np.where((sc_b > 0)[..., None], uv_b, np.nan), axis=3)  # (C, T, P, 2)
    pairs = [(c1, p1, c2, p2) for c1, c2 in itertools.combinations(range(n_cams), 2)
             for p1 in range(n_det) for p2 in range(n_det)]
    groups: list[list[np.ndarray]] = [[] for _ in range(n_frames)]
    if not pairs:
        return np.full((n_frames, 0, n_cams), -1, dtype=int)
    hyp = np.array(pairs, dtype=int)
    for start in range(0, n_frames, chunk):
        t = np.arange(start, min(start + chunk, n_frames))
        # Candidate (hypothesis, frame) entries whose two detections exist.
        ok = usable_cp[hyp[:, 0], hyp[:, 1]][:, t] & usable_cp[hyp[:, 2], hyp[:, 3]][:, t]  # (H, T')
        h_i, t_i = np.nonzero(ok)
        if h_i.size == 0:
            continue
        fr = t[t_i]
        c1, p1, c2, p2 = hyp[h_i].T
        # 0. A quick epipolar test on the detections' centres drops most pairs of different people
        # before anything is triangulated (generous: a centre is only roughly one body point).
        near = _epipolar_gap(essential, focal, centres[c1, fr, p1], centres[c2, fr, p2], c1, c2) < 3 * max_error
        h_i, fr = h_i[near], fr[near]
        if h_i.size == 0:
            continue
        c1, p1, c2, p2 = hyp[h_i].T
        # 1. Two-view triangulation of each candidate, one camera pair at a time (shared extrinsics).
        X = np.full((h_i.size, kb.size, 3), np.nan)
        for a, b in itertools.combinations(range(n_cams), 2):
            m = (c1 == a) & (c2 == b)
            if m.any():
                X[m] = triangulate_dlt(extrinsics[[a, b]],
                                       np.stack([uv_b[a, fr[m], p1[m]], uv_b[b, fr[m], p2[m]]]),
                                       np.stack([sc_b[a, fr[m], p1[m]], sc_b[b, fr[m], p2[m]]]),
                                       focal=focal[[a, b]])
        # The pair must agree with itself: a third of the keypoints suffices here, since a keypoint
        # that is wrong in either view (20 % of them, in bad data) spoils its triangulation.
        n_own, n_close_own = 0, 0
        for c, p in ((c1, p1), (c2, p2)):
            d = _distances(extrinsics, focal, X, uv_b[c, fr, p], c)  # (N, Kb)
            n_own = n_own + np.isfinite(d)
            n_close_own = n_close_own + (d < max_error)
        n_both, n_good = (n_own == 2).sum(-1), (n_close_own == 2).sum(-1)
        keep = np.flatnonzero((3 * n_good > n_both) & (n_both >= min_keypoints))
        if keep.size == 0:
            continue
        h_i, fr, X = h_i[keep], fr[keep], X[keep]
        # 2. Support of every view for every seed, loosely (a third of the keypoints).
        best, agree, best_err = _support(extrinsics, focal, X, uv_b, centres, usable, fr, max_error, min_keypoints,
                                         1 / 3)
        # 3. Greedy grouping, most supported seeds first, each seed in its own group.
        g_frames, g_members = _greedy(fr, best, agree, best_err, min_views, seeds=hyp[h_i])
        if not g_frames:
            continue
        # 4. Each group's skeleton solved from all its views without their outlier keypoints, the
        # support measured anew, and the groups formed again: the clean skeleton of a larger group
        # takes back detections a smaller group holds.
        gf, gm = np.array(g_frames), np.array(g_members).T  # (G,), (C, G)
        cams = np.arange(n_cams)[:, None]
        uv_g = np.where((gm >= 0)[..., None, None], uv_b[cams, gf[None], np.maximum(gm, 0)], np.nan)
        w_g = np.where((gm >= 0)[..., None], sc_b[cams, gf[None], np.maximum(gm, 0)], 0.0)
        X, _ = triangulate_robust(extrinsics, uv_g, w_g, focal=focal, threshold_px=max_error,
                                  adaptive=None, keep_inconsistent_pairs=False)
        best, agree, best_err = _support(extrinsics, focal, X, uv_b, centres, usable, gf, max_error, min_keypoints, 0.4)
        if bounds is not None:
            # 5. A camera contradicts a group when the skeleton lies in its image, the camera
            # detected someone in that frame, and no detection of it supports the group.
            visible = _in_image(extrinsics, X, np.asarray(bounds, dtype=float))  # (C, G)
            contradict = visible & ~agree & usable[:, gf].any(-1)
            agree[:, agree.sum(0) < contradict.sum(0)] = False
        for f, member in zip(*_greedy(gf, best, agree, best_err, min_views)):
            groups[f].append(member)
    n_groups = max((len(g) for g in groups), default=0)
    out = np.full((n_frames, n_groups, n_cams), -1, dtype=int)
    for f, g in enumerate(groups):
        if g:
            out[f, :len(g)] = np.array(g)
    return out

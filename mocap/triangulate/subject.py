"""Which detection in each view is the subject? (one person; robust multi-person association is later)

A view can hold several people (a bystander, a false detection) in no fixed order. For every frame
we test hypotheses "detection p1 in camera c1 and detection p2 in camera c2 are the same person":
triangulate that pair's body keypoints, project them into every camera, and in each camera find the
detection closest to the projection (median pixel distance over the body keypoints). Views whose
closest detection lies within ``max_error`` pixels agree with the hypothesis. The hypothesis that
most views agree with wins (ties: the larger total keypoint confidence, i.e. the more visible
person; then the smaller error), and its agreeing detections are the subject's; views that do not
agree contribute nothing. A bystander seen by fewer cameras than the subject therefore never enters
the subject's triangulation, even in a view where the subject itself was not detected.

Everything is vectorized over frames (in chunks) × hypotheses × cameras × detections × keypoints.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from mocap.triangulate.dlt import triangulate_dlt

# Body and feet: the keypoints every whole-body detector reports; faces and hands are too small
# to discriminate people reliably.
ASSOCIATION_KEYPOINTS = np.arange(23)


def _pair_hypotheses(n_cams: int, n_persons: int) -> np.ndarray:
    """(H, 4) rows (c1, p1, c2, p2) for every camera pair and every pair of their detections."""
    return np.array([(c1, p1, c2, p2)
                     for c1, c2 in itertools.combinations(range(n_cams), 2)
                     for p1 in range(n_persons) for p2 in range(n_persons)], dtype=int).reshape(-1, 4)


def select_subject(group, uv: np.ndarray, xy: np.ndarray, score: np.ndarray, *,
                   max_error: float = 50.0, min_keypoints: int = 4, chunk: int = 128) -> np.ndarray:
    """Choose per frame and camera the detection that belongs to the subject.

    group: the CameraGroup (C cameras) the keypoints were seen by.
    uv: (C, T, P, K, 2) undistorted normalized coordinates; xy: the same in raw pixels;
    score: (C, T, P, K) confidences (0 where not detected).
    max_error: pixels within which a view's detection counts as the same person. It separates
        people, not good from bad keypoints: real calibrations are often 10-20 px off (the
        Pose2Sim demo's cam03 sits ~40 px from the other three views' triangulation), while two
        people are hundreds of pixels apart.
    min_keypoints: body keypoints a detection needs to take part.

    Returns (T, C) detection indices, -1 where the camera has no detection of the subject.
    """
    n_cams, n_frames, n_persons = xy.shape[:3]
    kb = ASSOCIATION_KEYPOINTS[ASSOCIATION_KEYPOINTS < xy.shape[3]]
    uv_b, xy_b, sc_b = uv[:, :, :, kb], xy[:, :, :, kb], np.nan_to_num(score[:, :, :, kb])
    usable = (np.isfinite(xy_b).all(-1) & (sc_b > 0)).sum(-1) >= min_keypoints  # (C, T, P)
    hyp = _pair_hypotheses(n_cams, n_persons)
    extr = group.extrinsic_matrices()
    focal = np.array([cam.matrix[0, 0] for cam in group.cameras])
    selection = np.full((n_frames, n_cams), -1, dtype=int)
    if len(hyp) == 0:
        return selection
    for start in range(0, n_frames, chunk):
        t = slice(start, min(start + chunk, n_frames))
        nt = t.stop - t.start
        # Triangulate each hypothesis' two views: (H, T', Kb, 3).
        pair_uv = np.stack([uv_b[hyp[:, 0], t, hyp[:, 1]], uv_b[hyp[:, 2], t, hyp[:, 3]]])
        pair_w = np.stack([sc_b[hyp[:, 0], t, hyp[:, 1]], sc_b[hyp[:, 2], t, hyp[:, 3]]])
        X = np.stack([triangulate_dlt(extr[[c1, c2]], pair_uv[:, h], pair_w[:, h], focal=focal[[c1, c2]])
                      for h, (c1, _, c2, _) in enumerate(hyp)])
        # Distances from each projection to every detection: (C, H, T', P, Kb) -> median over Kb.
        proj = group.project(X)
        dist = np.linalg.norm(proj[:, :, :, None] - xy_b[:, None, t], axis=-1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN medians are expected: no detection
            err = np.nanmedian(dist, axis=-1)
        err = np.where(usable[:, None, t], err, np.inf)
        best_p = np.argmin(np.nan_to_num(err, nan=np.inf), axis=-1)  # (C, H, T')
        best_err = np.take_along_axis(err, best_p[..., None], -1)[..., 0]
        agree = best_err < max_error
        det_conf = sc_b[:, t].sum(-1)[:, None]  # (C, 1, T', P)
        conf = np.take_along_axis(det_conf, best_p[..., None], -1)[..., 0]
        n_agree = agree.sum(0)  # (H, T')
        total_conf = np.where(agree, conf, 0.0).sum(0)
        mean_err = np.where(agree, best_err, 0.0).sum(0) / np.maximum(n_agree, 1)
        # Lexicographic choice: most agreeing views, then confidence, then error.
        rank = n_agree * 1e6 + total_conf * 10.0 - mean_err / max_error
        rank = np.where(n_agree >= 2, rank, -np.inf)
        best_h = np.argmax(rank, axis=0)  # (T',)
        found = np.isfinite(rank[best_h, np.arange(nt)])
        chosen = np.where(agree[:, best_h, np.arange(nt)], best_p[:, best_h, np.arange(nt)], -1)  # (C, T')
        selection[t] = np.where(found[:, None], chosen.T, -1)
    return selection


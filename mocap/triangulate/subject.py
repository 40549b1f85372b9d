"""Which detection in each view is the subject? (one person: the one most views agree on)

A view can hold several people (a bystander, a false detection) in no fixed order. Subject
selection is association (:func:`mocap.triangulate.association.associate`, scored by
:mod:`mocap.triangulate.matching`) keeping the best-supported person of each frame: association
finds everyone, each group holding at most one detection per camera, and of those groups the one
with the most cameras wins (ties: the larger total keypoint confidence of its detections, i.e. the
more visible person; then association's order, the smaller error).

Going through association rather than taking the single best-scored hypothesis matters in a
crowd: a hypothesis that pairs two different people can find some detection near its skeleton in
every other view and so look as well supported as a real person, but its detections belong to
real people, whom association, most consistent first, has already claimed. A bystander seen by
fewer cameras than the subject therefore never enters the subject's triangulation, even in a
view where the subject itself was not detected.
"""

from __future__ import annotations

import numpy as np

from mocap.triangulate.association import associate
from mocap.triangulate.matching import ASSOCIATION_KEYPOINTS
from mocap.triangulate.projection import image_bounds


def select_subject(group, uv: np.ndarray, score: np.ndarray, *, max_error: float = 50.0, min_keypoints: int = 4,
                   chunk: int = 256) -> np.ndarray:
    """Choose per frame and camera the detection that belongs to the subject.

    group: the CameraGroup (C cameras) the keypoints were seen by.
    uv: (C, T, P, K, 2) undistorted normalized coordinates (NaN: not seen);
    score: (C, T, P, K) confidences (0 where not detected).
    max_error: pixels within which a view's detection counts as the same person. It separates
        people, not good from bad keypoints: real calibrations are often 10-20 px off (the
        Pose2Sim demo's cam03 sits ~40 px from the other three views' triangulation), while two
        people are hundreds of pixels apart.
    min_keypoints: body keypoints a detection needs to take part.
    chunk: frames processed at once, at most (fewer with many detections: memory is bounded).

    Returns (T, C) detection indices, -1 where the camera has no detection of the subject.
    """
    extrinsics = group.extrinsic_matrices()
    focal = np.array([cam.matrix[0, 0] for cam in group.cameras])
    groups = associate(extrinsics, uv, score, focal, max_error=max_error, min_views=2, min_keypoints=min_keypoints,
                       bounds=image_bounds(group), chunk=chunk)  # (T, M, C)
    n_cams, n_frames = uv.shape[:2]
    if groups.shape[1] == 0:
        return np.full((n_frames, n_cams), -1, dtype=int)
    kb = ASSOCIATION_KEYPOINTS[ASSOCIATION_KEYPOINTS < uv.shape[3]]
    seen = np.isfinite(uv[:, :, :, kb]).all(-1)
    confidence = np.where(seen, np.nan_to_num(score[:, :, :, kb]), 0.0).sum(-1)  # (C, T, P)
    member = groups >= 0
    frames, cams = np.arange(n_frames)[:, None, None], np.arange(n_cams)[None, None]
    total = np.where(member, confidence[cams, frames, np.maximum(groups, 0)], 0.0).sum(-1)  # (T, M)
    views = member.sum(-1)
    # Most views, then most confidence; among equals the first group (association's order).
    slot = np.arange(groups.shape[1])
    best = np.lexsort((np.broadcast_to(slot, views.shape), -total, -views), axis=-1)[:, 0]
    return groups[np.arange(n_frames), best]

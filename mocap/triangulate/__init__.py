"""Triangulation: multi-view 2D keypoints + calibrated cameras -> 3D keypoints.

``triangulate(group, kp2d)`` undistorts every observation, picks the subject's detection in each
view (:mod:`mocap.triangulate.subject`), and solves a confidence-weighted DLT per keypoint
(:mod:`mocap.triangulate.dlt`) for all frames and keypoints at once. Observations below
``min_score`` are ignored; a keypoint seen by fewer than ``min_views`` cameras stays NaN.
"""

from __future__ import annotations

import numpy as np

from mocap.data import Keypoints2D, Keypoints3D
from mocap.errors import SettingsError
from mocap.triangulate.dlt import reprojection_errors, triangulate_dlt
from mocap.triangulate.subject import select_subject

__all__ = ["triangulate", "triangulate_dlt", "select_subject", "reprojection_errors"]


def triangulate(group, kp2d: Keypoints2D, *, min_score: float = 0.3, min_views: int = 2,
                max_association_error: float = 50.0) -> Keypoints3D:
    """3D keypoints of the subject (P = 1) from 2D keypoints of the same cameras, in the same order.

    group: a ``calibration.CameraGroup`` whose cameras are ``kp2d``'s cameras, in order.
    min_score: observations with a lower confidence are not used.
    min_views: a keypoint needs this many cameras (at least 2).
    max_association_error: pixels within which a view's detection is taken as the subject's.
    """
    if min_views < 2:
        raise SettingsError(f"min_views must be at least 2 to triangulate, got {min_views}")
    if not 0.0 <= min_score <= 1.0:
        raise SettingsError(f"min_score must be between 0 and 1, got {min_score}")
    if len(group) != kp2d.n_cameras:
        raise ValueError(f"{len(group)} cameras in the calibration, {kp2d.n_cameras} in the keypoints")

    score = np.where(np.isfinite(kp2d.xy).all(-1), np.nan_to_num(kp2d.score), 0.0)
    score = np.where(score >= min_score, score, 0.0)
    xy = np.where(score[..., None] > 0, kp2d.xy, np.nan)
    uv = group.undistort_points(xy)

    sel = select_subject(group, uv, xy, score, max_error=max_association_error)  # (T, C)
    cams = np.arange(kp2d.n_cameras)[:, None]
    frames = np.arange(kp2d.n_frames)[None, :]
    picked = np.maximum(sel.T, 0)  # (C, T)
    seen = (sel.T >= 0)[..., None]
    xy_s = np.where(seen[..., None], xy[cams, frames, picked], np.nan)  # (C, T, K, 2)
    uv_s = np.where(seen[..., None], uv[cams, frames, picked], np.nan)
    w_s = np.where(seen, score[cams, frames, picked], 0.0)  # (C, T, K)

    focal = np.array([cam.matrix[0, 0] for cam in group.cameras])
    xyz = triangulate_dlt(group.extrinsic_matrices(), uv_s, w_s, focal=focal)  # (T, K, 3)
    used = (w_s > 0) & np.isfinite(uv_s).all(-1)
    n_views = used.sum(0)
    xyz[n_views < min_views] = np.nan
    ok = np.isfinite(xyz).all(-1)
    n_views = np.where(ok, n_views, 0)

    err = np.where(used, reprojection_errors(group.project(xyz), xy_s), 0.0)
    reproj = np.where(ok, err.sum(0) / np.maximum(n_views, 1), np.nan)
    mean_score = np.where(ok, (w_s * used).sum(0) / np.maximum(n_views, 1), 0.0)
    return Keypoints3D(xyz=xyz[:, None], score=mean_score[:, None], reproj_error=reproj[:, None],
                       n_views=n_views[:, None], layout=kp2d.layout, fps=kp2d.fps)

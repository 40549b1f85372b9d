"""Triangulation: multi-view 2D keypoints + calibrated cameras -> 3D keypoints.

``triangulate(group, kp2d)`` undistorts every observation, picks the subject's detection in each
view (:mod:`mocap.triangulate.subject`), and solves a confidence-weighted DLT per keypoint
(:mod:`mocap.triangulate.dlt`) for all frames and keypoints at once. Observations below
``min_score`` are ignored; a keypoint seen by fewer than ``min_views`` cameras stays NaN.
"""

from __future__ import annotations

import warnings

import numpy as np

from mocap.data import Keypoints2D, Keypoints3D
from mocap.errors import SettingsError
from mocap.triangulate.dlt import reprojection_errors, triangulate_dlt
from mocap.triangulate.subject import select_subject

__all__ = ["triangulate", "triangulate_dlt", "select_subject", "reprojection_errors", "to_calibration_pixels"]


def to_calibration_pixels(xy: np.ndarray, image_sizes: np.ndarray, group) -> np.ndarray:
    """Keypoints measured on videos of another size than the calibration's, rescaled to it.

    Phones and encoders resample: the Pose2Sim demo's cam01/cam02 videos are the calibrated
    1088-pixel-wide frames squeezed to 1080. Pixel centres map as ``u' = (u + 0.5) W_cal / W - 0.5``
    (and likewise v). Sizes of 0 mean unknown and leave the camera's keypoints as they are.
    """
    sizes = np.asarray(image_sizes, dtype=float)
    calib = np.array([cam.size for cam in group.cameras], dtype=float)
    known = (sizes > 0).all(-1)
    scale = np.where(known[:, None], calib / np.where(known[:, None], sizes, 1.0), 1.0)  # (C, 2)
    if np.allclose(scale, 1.0):
        return xy
    for cam, size, s in zip(group.cameras, sizes, scale):
        if not np.allclose(s, 1.0):
            warnings.warn(f"camera {cam.name}: keypoints come from {size[0]:.0f}x{size[1]:.0f} images but the "
                          f"calibration is for {cam.size[0]}x{cam.size[1]}; rescaling them", stacklevel=3)
    shape = (-1,) + (1,) * (xy.ndim - 2) + (2,)
    return (xy + 0.5) * scale.reshape(shape) - 0.5


def triangulate(group, kp2d: Keypoints2D, *, min_score: float = 0.3, min_views: int = 2,
                max_association_error: float = 50.0) -> Keypoints3D:
    """3D keypoints of the subject (P = 1) from 2D keypoints of the same cameras, in the same order.

    group: a ``calibration.CameraGroup`` whose cameras are ``kp2d``'s cameras, in order. Keypoints
        from images of another size than a camera's calibration are rescaled to it.
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
    xy = np.where(score[..., None] > 0, to_calibration_pixels(kp2d.xy, kp2d.image_sizes, group), np.nan)
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

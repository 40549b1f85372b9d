"""Quality numbers of a session, as arrays: what the report shows and ``mocap run`` prints.

Pure functions of the contracts (and the calibration); nothing here reads or writes files.

* :func:`reprojection` puts the triangulated 3D back into every camera, and
  :func:`subject_slots` finds, per camera and frame, the 2D detection that is that person: the one
  triangulation recorded (``Keypoints3D.detections``) when it did, else the detection whose keypoints
  lie nearest the reprojection (median distance, within a tenth of the image height).
* :func:`reprojection_series`: per camera and frame, the median distance (px) between that
  detection's confident keypoints and the reprojected 3D: how well each camera agrees with the
  3D over time. :func:`camera_outliers` flags cameras far above the others.
* :func:`detection_rates`: per camera and keypoint group (body, feet, face, hands), the fraction
  of the group's keypoints the camera delivered for the person, over all frames.
* :func:`bone_stability`: each rigid bone's median length and its relative spread over time.
"""

from __future__ import annotations

import warnings

import numpy as np

from mocap.skeleton import FACE, FEET, INDEX, LEFT_HAND, RIGHT_HAND

REPORT_GROUPS = {"body": np.arange(0, 17), "feet": np.arange(FEET.start, FEET.stop),
                 "face": np.arange(FACE.start, FACE.stop),
                 "hands": np.r_[np.arange(LEFT_HAND.start, LEFT_HAND.stop), np.arange(RIGHT_HAND.start, RIGHT_HAND.stop)]}


def calibration_pixels(kp2d, group) -> np.ndarray:
    """``kp2d.xy`` (C, T, P, K, 2) in the calibration's image size (resampled videos rescaled)."""
    from mocap.triangulate import to_calibration_pixels

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # triangulation already said it rescaled
        return to_calibration_pixels(kp2d.xy, kp2d.image_sizes, group)


def video_pixels(uv: np.ndarray, image_sizes, group) -> np.ndarray:
    """Calibration pixels (C, ..., 2) -> the videos' own pixels (the inverse of :func:`calibration_pixels`)."""
    sizes = np.asarray(image_sizes, dtype=float)
    calib = np.array([cam.size for cam in group.cameras], dtype=float)
    known = (sizes > 0).all(-1)
    scale = np.where(known[:, None], sizes / calib, 1.0).reshape((-1,) + (1,) * (uv.ndim - 2) + (2,))
    return (uv + 0.5) * scale - 0.5


def reprojection(group, xyz: np.ndarray) -> np.ndarray:
    """(T, K, 3) world points -> (C, T, K, 2) pixels in every camera (NaN where the point is)."""
    return group.project(xyz)


def subject_slots(xy_cal: np.ndarray, score: np.ndarray, uv: np.ndarray, *, min_score: float = 0.3,
                  detections: np.ndarray | None = None, image_heights=None) -> np.ndarray:
    """(C, T) the 2D person slot of each camera and frame that is the person reprojected as ``uv``
    (C, T, K, 2); -1 where none is (see the module docstring). ``detections`` (C, T): what
    triangulation recorded, used as it is when given."""
    if detections is not None:
        return np.asarray(detections, dtype=np.int64)
    conf = (score >= min_score) & np.isfinite(xy_cal).all(-1)  # (C, T, P, K)
    d = np.linalg.norm(xy_cal - uv[:, :, None], axis=-1)  # (C, T, P, K)
    d = np.where(conf & np.isfinite(d), d, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # slots without a confident keypoint
        med = np.nanmedian(d, axis=-1)  # (C, T, P)
    med = np.where(np.isfinite(med), med, np.inf)
    best = np.argmin(med, axis=-1) if med.shape[-1] else np.zeros(med.shape[:2], dtype=np.int64)
    limit = 0.1 * (np.asarray(image_heights, dtype=float) if image_heights is not None else 1e9)
    ok = np.take_along_axis(med, best[..., None], -1)[..., 0] < np.reshape(limit, (-1, 1))
    return np.where(ok, best, -1)


def _picked(array: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """``array`` (C, T, P, ...) at each camera's and frame's slot (C, T, ...); the slot -1 reads slot 0."""
    idx = np.maximum(slots, 0).reshape(slots.shape + (1,) * (array.ndim - 2))
    return np.take_along_axis(array, idx, axis=2)[:, :, 0]


def reprojection_series(xy_cal: np.ndarray, score: np.ndarray, uv: np.ndarray, slots: np.ndarray, *,
                        min_score: float = 0.3) -> np.ndarray:
    """(C, T) median px distance between the person's detection and the reprojected 3D; NaN where
    the camera has no detection of the person or no confident keypoint the 3D has."""
    xy = _picked(xy_cal, slots)  # (C, T, K, 2)
    conf = (_picked(score, slots) >= min_score) & (slots >= 0)[..., None]
    d = np.where(conf, np.linalg.norm(xy - uv, axis=-1), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(d, axis=-1)


def camera_medians(series: np.ndarray) -> np.ndarray:
    """(C,) each camera's median reprojection error over time (NaN for a camera with none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(series, axis=1) if series.size else np.full(series.shape[0], np.nan)


def camera_outliers(medians: np.ndarray, factor: float = 2.5, margin_px: float = 3.0) -> np.ndarray:
    """(C,) cameras whose median error is above ``factor`` times the median of the other cameras
    and more than ``margin_px`` above it: a camera far off the others (bad calibration, or
    another person mistaken for the subject)."""
    out = np.zeros(len(medians), dtype=bool)
    for c in range(len(medians)):
        others = np.delete(medians, c)
        others = others[np.isfinite(others)]
        if np.isfinite(medians[c]) and len(others):
            ref = float(np.median(others))
            out[c] = medians[c] > factor * ref and medians[c] > ref + margin_px
    return out


def detection_rates(score: np.ndarray, slots: np.ndarray, *, min_score: float = 0.3) -> dict[str, np.ndarray]:
    """{group: (C,) fraction of the group's keypoints with confidence >= ``min_score``} for the
    person's detection in each camera, over all frames (a frame without one counts as none)."""
    picked = np.where((slots >= 0)[..., None], _picked(score, slots), 0.0)  # (C, T, K)
    found = picked >= min_score
    return {name: found[..., idx].mean(axis=(1, 2)) if found.shape[1] else np.zeros(found.shape[0])
            for name, idx in REPORT_GROUPS.items()}


def bone_stability(xyz: np.ndarray, bones) -> tuple[np.ndarray, np.ndarray]:
    """Median length (m) of each bone over time and its relative spread (std / median); NaN for a
    bone never seen. ``xyz`` (T, K, 3), ``bones`` (B, 2) keypoint pairs."""
    from mocap.skeleton import bone_lengths

    lengths = bone_lengths(xyz, bones)  # (T, B)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(lengths, axis=0)
        spread = np.nanstd(lengths, axis=0) / median
    return median, spread


def midpoint(xyz: np.ndarray, a: str, b: str) -> np.ndarray:
    """The midpoint of keypoints ``a`` and ``b`` (names), e.g. the pelvis between the hips."""
    return (xyz[..., INDEX[a], :] + xyz[..., INDEX[b], :]) / 2

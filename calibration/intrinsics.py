"""Intrinsics of one camera from board views: full pinhole or fisheye model, bad views rejected.

Algorithm: OpenCV's Zhang calibration (``cv2.calibrateCamera``: closed-form homography start, then
Levenberg-Marquardt over focal lengths, principal point, distortion and every board pose) with
the principal point *free* — it is never assumed at the image centre. Views are then judged by
their own reprojection RMS: a view far above the others (a blurred frame, a mis-detected corner)
is dropped and the calibration rerun, until every view is within ``max(3 × median, 1 px)``.
``k3`` is fixed at zero with fewer than 10 views, where it would only fit noise.

The result keeps each kept view's board pose (camera ← board), which seeds the extrinsics.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from calibration.camera import Camera
from calibration.errors import CalibrationError

MIN_VIEWS = 4
MIN_CORNERS = 6


@dataclass(frozen=True)
class IntrinsicsResult:
    """A calibrated camera (at the origin) and what its views said."""

    camera: Camera
    rms: float  # px, over the kept views
    view_keys: tuple  # the keys of the kept views
    view_rms: dict  # key → px, every usable view (rejected ones too)
    rejected: tuple  # keys of views dropped as outliers
    board_poses: dict  # key → (rvec, tvec) camera ← board, kept views


def _view_rms(obj, img, K, dist, rvec, tvec, fisheye) -> float:
    if fisheye:
        proj = cv2.fisheye.projectPoints(obj.reshape(-1, 1, 3), rvec, tvec, K, dist)[0]
    else:
        proj = cv2.projectPoints(obj, rvec, tvec, K, dist)[0]
    return float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - img) ** 2, axis=1))))


def _calibrate(objs, imgs, size, fisheye, fix_k3, K0=None):
    criteria = (cv2.TERM_CRITERIA_COUNT + cv2.TERM_CRITERIA_EPS, 100, 1e-10)
    if fisheye:
        flags = cv2.fisheye.CALIB_RECOMPUTE_EXTRINSIC | cv2.fisheye.CALIB_FIX_SKEW
        K = K0.copy() if K0 is not None else None
        if K is not None:
            flags |= cv2.fisheye.CALIB_USE_INTRINSIC_GUESS
        rms, K, dist, rvecs, tvecs = cv2.fisheye.calibrate(
            [o.reshape(-1, 1, 3) for o in objs], [i.reshape(-1, 1, 2) for i in imgs], size, K, np.zeros(4),
            flags=flags, criteria=criteria)
        return K, dist.reshape(-1), rvecs, tvecs
    flags = cv2.CALIB_FIX_K3 if fix_k3 else 0
    rms, K, dist, rvecs, tvecs = cv2.calibrateCamera(
        [o.astype(np.float32) for o in objs], [i.astype(np.float32) for i in imgs], size, None, None,
        flags=flags, criteria=criteria)
    return K, dist.reshape(-1)[:5], rvecs, tvecs


def calibrate_intrinsics(detections: dict, object_points: np.ndarray, size: tuple[int, int], *, name: str = "camera",
                         fisheye: bool = False, max_rejected_fraction: float = 0.3) -> IntrinsicsResult:
    """Calibrate one camera from ``detections`` (key → :class:`Detection`) of a board whose corner
    ``i`` sits at ``object_points[i]``. CalibrationError if too few views are usable."""
    usable = {k: d for k, d in detections.items() if d is not None and len(d) >= MIN_CORNERS}
    # A ChArUco view whose corners are all on one line gives no homography.
    usable = {k: d for k, d in usable.items() if np.linalg.matrix_rank(object_points[d.ids] - object_points[d.ids].mean(0), tol=1e-9) >= 2}
    if len(usable) < MIN_VIEWS:
        raise CalibrationError(f"camera {name!r}: only {len(usable)} usable board views (need at least {MIN_VIEWS} "
                               f"with {MIN_CORNERS}+ corners); film the board in more positions")
    keys = list(usable)
    objs = {k: object_points[usable[k].ids].astype(np.float64) for k in keys}
    imgs = {k: usable[k].corners.astype(np.float64) for k in keys}
    kept, rejected = list(keys), []
    max_drop = int(max_rejected_fraction * len(keys))
    while True:
        try:
            K, dist, rvecs, tvecs = _calibrate([objs[k] for k in kept], [imgs[k] for k in kept], tuple(size), fisheye,
                                               fix_k3=len(kept) < 10)
        except cv2.error as exc:
            raise CalibrationError(f"camera {name!r}: OpenCV calibration failed ({exc.err}); the views may all be "
                                   "fronto-parallel or the board size may be wrong") from None
        poses = {k: (np.asarray(r, float).reshape(3), np.asarray(t, float).reshape(3)) for k, r, t in zip(kept, rvecs, tvecs)}
        view_rms = {k: _view_rms(objs[k], imgs[k], K, dist, *poses[k], fisheye) for k in kept}
        worst = max(kept, key=view_rms.get)
        limit = max(3.0 * float(np.median(list(view_rms.values()))), 1.0)
        if view_rms[worst] <= limit or len(rejected) >= max_drop or len(kept) <= MIN_VIEWS:
            break
        kept.remove(worst)
        rejected.append(worst)
    # Rejected views: their error under the final model (pose by PnP) for the report.
    for k in rejected:
        if not fisheye:
            ok, r, t = cv2.solvePnP(objs[k], imgs[k], K, dist)
            view_rms[k] = _view_rms(objs[k], imgs[k], K, dist, r, t, False) if ok else float("nan")
    total = np.concatenate([imgs[k] for k in kept])
    sq = sum(view_rms[k] ** 2 * len(imgs[k]) for k in kept) / len(total)
    camera = Camera(name=name, size=tuple(size), matrix=K, dist=dist, rvec=np.zeros(3), tvec=np.zeros(3), fisheye=fisheye)
    return IntrinsicsResult(camera, float(np.sqrt(sq)), tuple(kept), view_rms, tuple(rejected), poses)

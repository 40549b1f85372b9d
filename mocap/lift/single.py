"""One camera's lifted views -> :class:`~mocap.data.Keypoints3D` (single-camera sessions).

With the camera's calibration, each person's root-relative skeleton is placed in the calibration's
world (:func:`lifting.place`: scale from the height, depth by reprojection onto the 2D keypoints,
feet on the floor when ``world_frame`` is "floor", depth smoothed over time). Without one, the
result is the root-relative skeleton in the camera's frame (x right, y down, z forward; the hips'
midpoint at the origin) with ``world_frame`` "unaligned", and an :class:`UncalibratedWarning`.

Every point the model gave is kept (a monocular model guesses the limbs it cannot see too): it is
marked ``SOURCE_LIFTED`` with ``n_views`` 1, the camera's 2D confidence as ``score`` (low where
the camera did not see it) and, with a calibration, its reprojection error in that camera.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from lifting import Placement, place
from mocap.data import SOURCE_LIFTED, SOURCE_TRIANGULATED, WORLD_FRAMES, Keypoints3D
from mocap.errors import SettingsError
from mocap.lift.views import LiftedViews, calibration_pixels, default_camera, normalized, skeletons


class UncalibratedWarning(UserWarning):
    """A camera without calibration: 3D stays root-relative in the camera's frame."""


@dataclass(frozen=True, eq=False)
class SingleCameraResult:
    """``keypoints`` of one camera, the :class:`~lifting.Placement` behind them and the camera's name."""

    keypoints: Keypoints3D
    placement: Placement
    camera: str


def lift_camera(views: LiftedViews, camera_name: str | None = None, camera=None, *, height: float | None = None,
                world_frame: str = "z_up", min_score: float = 0.3, smoothing: float = 0.25,
                min_size_px: float = 40.0, foot_clearance=None) -> SingleCameraResult:
    """3D keypoints from one camera of ``views`` (see the module docstring).

    camera: the camera's ``calibration.Camera`` (None: no calibration); world_frame: what the
    calibration's world is ("floor", "z_up", "unaligned"; see :class:`~mocap.data.Keypoints3D`).
    height: the person's height in metres (None: measured from the floor when it is known, else
    typical; the result's ``placement`` says which). foot_clearance: see :func:`lifting.place`.
    """
    if world_frame not in WORLD_FRAMES:
        raise SettingsError(f"world frame must be one of {', '.join(WORLD_FRAMES)}, got {world_frame!r}")
    if height is not None and not 0.5 <= height <= 2.6:
        raise SettingsError(f"height must be the person's height in metres (0.5-2.6), got {height}")
    c = views.camera(camera_name)
    name = views.keypoints.camera_names[c]
    kp2d = views.keypoints
    if camera is None:
        warnings.warn(f"camera {name} has no calibration: the 3D keypoints are root-relative (the hips' midpoint "
                      f"at the origin) in the camera's frame (x right, y down, z forward), world frame "
                      f"'unaligned'; give a calibration to place them in the world", UncalibratedWarning,
                      stacklevel=2)
        world_frame, extrinsics = "unaligned", None
        focal = default_camera(kp2d.image_sizes[c])[1]
    else:
        extrinsics = (camera.R, camera.tvec)
        focal = float(camera.matrix[0, 0])
    observed = None if camera is None else calibration_pixels(views, c, camera)
    uv = normalized(views, c) if camera is None else camera.undistort_points(observed)
    rel = skeletons(views, c, camera, height, uv=uv)
    score = kp2d.score[c]
    placed = place(rel, uv, score, extrinsics=extrinsics, height=height, floor_known=world_frame == "floor",
                   fps=kp2d.fps, smoothing=smoothing, min_score=min_score, focal=focal, min_size_px=min_size_px,
                   foot_clearance=foot_clearance)
    xyz = placed.xyz
    ok = np.isfinite(xyz).all(-1)
    reproj = np.full(ok.shape, np.nan)
    if camera is not None:
        reproj = np.where(ok, np.linalg.norm(camera.project(xyz) - observed, axis=-1), np.nan)
    placed_any = ok.any(-1)  # (T, P)
    detections = np.where(placed_any, np.arange(ok.shape[1])[None, :], -1)[None]
    kp3d = Keypoints3D(xyz=xyz, score=np.where(ok, score, 0.0), reproj_error=reproj, n_views=ok.astype(np.int16),
                       layout=kp2d.layout, fps=kp2d.fps, frame_index=kp2d.frame_index, world_frame=world_frame,
                       source=np.where(ok, SOURCE_LIFTED, SOURCE_TRIANGULATED), camera_names=(name,),
                       detections=detections)
    return SingleCameraResult(kp3d, placed, name)

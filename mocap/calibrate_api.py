"""Python functions behind ``mocap calibrate``, ``mocap calibration board`` and ``mocap calibration
people`` (re-exported by ``mocap.api``)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from calibration.boards import board_from_settings
from calibration.errors import CalibrationError
from calibration.group import CameraGroup
from calibration.people import PeopleCalibration, calibrate_from_people
from calibration.pipeline import CalibrationResult, calibrate_folder
from calibration.toml_format import write_toml
from mocap.data import Keypoints2D
from mocap.report.metrics import calibration_pixels


def calibrate(folder: str | os.PathLike, output: str | os.PathLike | None = None, *, board: str = "charuco",
              squares: tuple[int, int] = (7, 5), square_size: float = 0.06, marker_size: float | None = None,
              dictionary: str = "DICT_4X4_50", legacy: bool = False, fisheye: bool = False, every: int = 1,
              floor: str | None = None, intrinsics_only: bool = False, report: bool = True) -> CalibrationResult:
    """Calibrate the cameras of ``folder`` (one image sub-folder or video per camera) and write
    ``output`` (default ``folder/calibration.toml``) and the report beside it."""
    the_board = board_from_settings(board, tuple(squares), square_size, marker_size, dictionary, legacy)
    output = Path(output) if output is not None else Path(folder) / "calibration.toml"
    return calibrate_folder(folder, the_board, output, intrinsics_only=intrinsics_only, fisheye=fisheye, step=every,
                            floor=floor, report=report)


def calibrate_from_keypoints(intrinsics: CameraGroup, keypoints: Keypoints2D, output: str | os.PathLike | None = None, *,
                             height: float | None = None, refine_focal: bool = False,
                             min_score: float = 0.5) -> tuple[CameraGroup, PeopleCalibration]:
    """Camera poses from people's 2D keypoints (person ``p`` must be the same person in every
    camera); ``intrinsics`` gives each camera's intrinsics by name. Keypoints from videos of another
    size than a camera's intrinsics (``keypoints.image_sizes``) are rescaled to it first, as
    triangulation does. Writes ``output`` when given."""
    missing = [n for n in keypoints.camera_names if n not in intrinsics.names]
    if missing:
        raise CalibrationError(f"no intrinsics for cameras {', '.join(missing)}; the intrinsics file has "
                               f"{', '.join(intrinsics.names)}")
    cameras = [intrinsics[n] for n in keypoints.camera_names]
    # Keypoints from videos of another size than the intrinsics' (resampled phones) in the calibration's pixels.
    xy = calibration_pixels(keypoints, CameraGroup(tuple(cameras)))
    result = calibrate_from_people(cameras, xy, keypoints.score, height=height, refine_focal=refine_focal,
                                   min_score=min_score)
    group = CameraGroup(tuple(result.cameras), {"adjusted": True, "error": result.rms, "world_frame": result.world_frame,
                                                "calibration": "from people" + (f", height {height} m" if height else
                                                                                ", scale arbitrary")})
    if output is not None:
        write_toml(group, output)
    return group, result


def largest_person(keypoints: Keypoints2D) -> Keypoints2D:
    """One person per camera and frame: the detection whose confident keypoints span the largest box.

    Calibrating from people needs person p to be the same person in every view, which raw
    detections do not promise; before cameras are calibrated, the usual rule is that the subject is
    the person nearest the cameras, hence the largest in each image.
    """
    xy = np.where((keypoints.score > 0)[..., None], keypoints.xy, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a person slot with no keypoint is all NaN
        span = np.nanmax(xy, axis=-2) - np.nanmin(xy, axis=-2)  # (C, T, P, 2)
    area = np.nan_to_num(span[..., 0] * span[..., 1], nan=-1.0)
    best = np.argmax(area, axis=-1)[..., None]  # (C, T, 1)
    pick_xy = np.take_along_axis(keypoints.xy, best[..., None, None], axis=2)
    pick_score = np.take_along_axis(keypoints.score, best[..., None], axis=2)
    return Keypoints2D(xy=pick_xy, score=pick_score, camera_names=keypoints.camera_names,
                       image_sizes=keypoints.image_sizes, layout=keypoints.layout, fps=keypoints.fps)

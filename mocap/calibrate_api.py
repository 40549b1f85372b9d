"""Python functions behind ``mocap calibrate`` and ``mocap calibration board`` (for ``mocap.api``)."""

from __future__ import annotations

import os
from pathlib import Path

from calibration.boards import board_from_settings
from calibration.errors import CalibrationError
from calibration.group import CameraGroup
from calibration.people import PeopleCalibration, calibrate_from_people
from calibration.pipeline import CalibrationResult, calibrate_folder
from calibration.toml_format import write_toml
from mocap.data import Keypoints2D


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
    camera); ``intrinsics`` gives each camera's intrinsics by name. Writes ``output`` when given."""
    missing = [n for n in keypoints.camera_names if n not in intrinsics.names]
    if missing:
        raise CalibrationError(f"no intrinsics for cameras {', '.join(missing)}; the intrinsics file has "
                               f"{', '.join(intrinsics.names)}")
    cameras = [intrinsics[n] for n in keypoints.camera_names]
    result = calibrate_from_people(cameras, keypoints.xy, keypoints.score, height=height, refine_focal=refine_focal,
                                   min_score=min_score)
    group = CameraGroup(tuple(result.cameras), {"adjusted": True, "error": result.rms, "world_frame": result.world_frame,
                                                "calibration": "from people" + (f", height {height} m" if height else
                                                                                ", scale arbitrary")})
    if output is not None:
        write_toml(group, output)
    return group, result

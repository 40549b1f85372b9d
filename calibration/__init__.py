"""Calibrated cameras: projection, undistortion and calibration files.

This package stands alone (numpy, scipy, OpenCV; never ``mocap``). Conventions: OpenCV's camera
frame (x right, y down, z forward), world → camera poses ``x_cam = R x_world + t`` in metres,
pixels with the origin at the centre of the top-left pixel. See :mod:`calibration.camera`.
"""

from calibration.boards import CharucoBoard, Checkerboard, Detection, board_from_settings
from calibration.bundle import BundleResult, bundle_adjust
from calibration.camera import Camera
from calibration.errors import CalibrationError
from calibration.formats import load_calibration, save_calibration
from calibration.export import export_calibration
from calibration.extrinsics import initial_poses
from calibration.group import CameraGroup
from calibration.intrinsics import IntrinsicsResult, calibrate_intrinsics
from calibration.people import PeopleCalibration, calibrate_from_people, floor_from_feet
from calibration.pipeline import CalibrationResult, calibrate_detections, calibrate_folder, detect_all
from calibration.qualisys import read_qualisys
from calibration.toml_format import UnitsWarning, read_toml, write_toml
from calibration.world import align_to_floor_board, world_frame

__all__ = [
    "Camera",
    "CameraGroup",
    "CalibrationError",
    "load_calibration",
    "save_calibration",
    "read_toml",
    "write_toml",
    "UnitsWarning",
    "read_qualisys",
    "CharucoBoard",
    "Checkerboard",
    "Detection",
    "board_from_settings",
    "calibrate_intrinsics",
    "IntrinsicsResult",
    "initial_poses",
    "bundle_adjust",
    "BundleResult",
    "align_to_floor_board",
    "world_frame",
    "detect_all",
    "calibrate_detections",
    "calibrate_folder",
    "CalibrationResult",
    "calibrate_from_people",
    "floor_from_feet",
    "PeopleCalibration",
    "export_calibration",
]

"""Calibrated cameras: projection, undistortion and calibration files.

This package stands alone (numpy, scipy, OpenCV; never ``mocap``). Conventions: OpenCV's camera
frame (x right, y down, z forward), world → camera poses ``x_cam = R x_world + t`` in metres,
pixels with the origin at the centre of the top-left pixel. See :mod:`calibration.camera`.
"""

from calibration.camera import Camera
from calibration.errors import CalibrationError
from calibration.formats import load_calibration, save_calibration
from calibration.group import CameraGroup
from calibration.qualisys import read_qualisys
from calibration.toml_format import read_toml, write_toml

__all__ = [
    "Camera",
    "CameraGroup",
    "CalibrationError",
    "load_calibration",
    "save_calibration",
    "read_toml",
    "write_toml",
    "read_qualisys",
]

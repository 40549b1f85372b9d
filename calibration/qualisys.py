"""Import a Qualisys Track Manager calibration (``.qca.txt``, XML) as a :class:`CameraGroup`.

The file holds ``<calibration><cameras><camera serial=… viewrotation=…>`` elements, each with
``fov_video`` (the video window on the sensor), ``intrinsic`` and ``transform``. Conventions, as
worked out from the Pose2Sim demo lab file and its data (4 cameras, 1088×1920 portrait video):

* **Sensor units.** Intrinsics are in sensor sub-pixels, 64 per pixel: ``sensorMaxU`` 69568 =
  1087 × 64 and ``sensorMaxV`` 122816 = 1919 × 64, the last pixel of ``fov_video``.
* **Image size** is ``fov_video``'s ``right - left + 1`` × ``bottom - top + 1`` (1088 × 1920).
* **Camera matrix.** ``fx = focalLengthU / 64``, ``fy = focalLengthV / 64``; the principal point
  ``centerPointU / 64 - left``, ``centerPointV / 64 - top``: centerPoint is a sensor coordinate,
  and the video image starts at the fov origin (``left = top = 0`` in the demo, where the two
  readings agree). ``skew / 64`` goes to ``matrix[0, 1]`` (0 in every file we have seen).
* **Distortion** ``[k1, k2, p1, p2, k3]`` = ``radialDistortion1, radialDistortion2,
  tangentalDistortion1, tangentalDistortion2, radialDistortion3``, as written, in OpenCV's
  normalized model. Not divided by 64 (as some converters do): calibrating three of the same
  cameras from the demo's checkerboard photos gives k1 ≈ -0.05 and k2 ≈ 0.10…0.15, against the
  file's -0.047 and 0.135…0.140.
* **Pose.** ``transform`` holds a rotation ``M = [[r11, r12, r13], [r21, r22, r23], [r31, r32,
  r33]]`` and the camera centre ``x, y, z`` in world millimetres. The rows of ``M`` are the
  camera's axes in world coordinates (``M`` is world → camera, ``Mᵀ`` camera → world) for a camera
  frame in the OpenGL style: x right and y *up* in the image, the camera looking along its
  **−Z**. So ``R = diag(1, -1, -1) · M`` (x right, y down, z forward) and ``t = -R · C / 1000``.
  Evidence: with ``M`` as world → camera the world origin, where the subject stands, lies
  2.5–4 m down each camera's −Z axis, inside its image (with ``Mᵀ`` it is far off-axis); the
  OpenPose keypoints of the 4 views triangulated by DLT reproject with a median error of 12 px
  with this ``R``, and more than 75 px with any other half turn of the axes; the surveyed points
  of the beam project onto the beam in every still; and the poses equal those of Pose2Sim's own
  conversion of the file.
* ``viewrotation`` (0, 90, 180 or 270: how QTM turns the camera's picture) is 0 in the demo
  file; other values are refused, since we have no file to confirm which way they turn.
* The calibration describes 1088-pixel-wide frames; the demo's cam01/cam02 *videos* are 1080
  wide because they were resampled horizontally by 1080/1088, not cropped (matching their frames
  against the 1088-wide stills picks a scale of 1.005–1.008 and no shift; 1.000 for cam03/04).
  Keypoints from such a video need ``u' = (u + 0.5) · 1088/1080 - 0.5`` to use this calibration;
  the reader reports the calibration's own size.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from calibration.camera import Camera
from calibration.errors import CalibrationError
from calibration.fileio import check_input_file
from calibration.group import CameraGroup
from calibration.rotation import matrix_to_rvec

SENSOR_UNITS_PER_PIXEL = 64.0
# Qualisys camera frame (x right, y up, looking along -z) → OpenCV camera frame (x right, y down,
# looking along +z): a half turn about x.
QUALISYS_TO_OPENCV = np.diag([1.0, -1.0, -1.0])
_ROTATION_KEYS = tuple(f"r{i}{j}" for i in (1, 2, 3) for j in (1, 2, 3))


def read_qualisys(path: str | os.PathLike) -> CameraGroup:
    """Load every camera of a Qualisys ``.qca.txt`` file, in file order, named by ``serial``.

    ``metadata`` records ``source = "qualisys"`` and each camera's ``avg-residual`` (QTM's value,
    as written).
    """
    path = check_input_file(path)
    try:
        root = ET.fromstring(path.read_bytes())
    except ET.ParseError as exc:
        raise CalibrationError(f"malformed XML: {exc}", path) from None
    except OSError as exc:
        raise CalibrationError(f"cannot be read: {exc.strerror}", path) from None
    if root.tag != "calibration":
        problem = f"is not a Qualisys calibration: the root element is <{root.tag}>, not <calibration>"
        raise CalibrationError(problem, path)
    elements = root.findall("cameras/camera")
    if not elements:
        raise CalibrationError("holds no <camera> element in <cameras>", path)
    cameras = [_camera(element, i, path) for i, element in enumerate(elements, start=1)]
    names = [c.name for c in cameras]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise CalibrationError(f"camera serials are repeated: {', '.join(map(repr, repeated))}", path)
    residuals = [_float(e, "avg-residual", c.name, path, default=float("nan")) for e, c in zip(elements, cameras)]
    return CameraGroup(tuple(cameras), {"source": "qualisys", "avg_residual": residuals})


def _float(element: ET.Element, key: str, camera: str, path: Path, default: float | None = None) -> float:
    """A numeric attribute of ``element`` (of the camera named ``camera``), or CalibrationError."""
    text = element.get(key)
    if text is None:
        if default is not None:
            return default
        raise CalibrationError(f"camera {camera!r}: <{element.tag}> has no attribute '{key}'", path)
    try:
        value = float(text)
    except ValueError:
        problem = f"camera {camera!r}: <{element.tag}> attribute '{key}' is not a number: {text!r}"
        raise CalibrationError(problem, path) from None
    if not np.isfinite(value):
        raise CalibrationError(f"camera {camera!r}: <{element.tag}> attribute '{key}' is not finite", path)
    return value


def _child(element: ET.Element, tag: str, camera: str, path: Path) -> ET.Element:
    child = element.find(tag)
    if child is None:
        raise CalibrationError(f"camera {camera!r}: no <{tag}> element", path)
    return child


def _camera(element: ET.Element, index: int, path: Path) -> Camera:
    name = element.get("serial") or f"camera{index}"
    rotation = _float(element, "viewrotation", name, path, default=0.0)
    if rotation != 0:
        raise CalibrationError(f"camera {name!r}: viewrotation={rotation:g} is not supported (only 0)", path)

    fov = _child(element, "fov_video", name, path)
    left, top, right, bottom = (_float(fov, k, name, path) for k in ("left", "top", "right", "bottom"))
    size = (right - left + 1, bottom - top + 1)
    if size[0] <= 0 or size[1] <= 0:
        box = f"left={left:g}, top={top:g}, right={right:g}, bottom={bottom:g}"
        raise CalibrationError(f"camera {name!r}: <fov_video> is empty ({box})", path)

    intrinsic = _child(element, "intrinsic", name, path)

    def value(key: str, default: float | None = None) -> float:
        return _float(intrinsic, key, name, path, default)

    unit = SENSOR_UNITS_PER_PIXEL
    matrix = np.array(
        [
            [value("focalLengthU") / unit, value("skew", 0.0) / unit, value("centerPointU") / unit - left],
            [0.0, value("focalLengthV") / unit, value("centerPointV") / unit - top],
            [0.0, 0.0, 1.0],
        ]
    )
    dist = np.array(
        [
            value("radialDistortion1"),
            value("radialDistortion2"),
            value("tangentalDistortion1"),
            value("tangentalDistortion2"),
            value("radialDistortion3", 0.0),
        ]
    )

    transform = _child(element, "transform", name, path)
    qualisys_rotation = np.array([_float(transform, k, name, path) for k in _ROTATION_KEYS]).reshape(3, 3)
    centre = np.array([_float(transform, k, name, path) for k in "xyz"]) / 1000.0
    R = QUALISYS_TO_OPENCV @ qualisys_rotation
    try:
        rvec = matrix_to_rvec(R)
    except ValueError as exc:
        raise CalibrationError(f"camera {name!r}: <transform> {exc}", path) from None
    try:
        return Camera(name, size, matrix, dist, rvec, -R @ centre)
    except ValueError as exc:
        raise CalibrationError(str(exc), path) from None

"""Export a :class:`CameraGroup` to other tools' calibration files.

* ``qualisys``: Qualisys Track Manager XML (``.qca.txt``), the exact inverse of
  :func:`calibration.qualisys.read_qualisys` (see its docstring for every convention: sensor
  units of 64 per pixel, OpenGL-style camera axes, camera centre in millimetres). A round trip
  through both gives back the same cameras. Fisheye cameras cannot be written (QTM's model is
  OpenCV's pinhole one).
* ``pose2sim`` / ``anipose``: the native TOML (:func:`calibration.toml_format.write_toml`), which
  both read as it is.
* ``caliscope``: its ``camera_array.toml`` (:mod:`calibration.caliscope`).
* ``freemocap``: the anipose layout with translations in millimetres (the unit FreeMoCap's
  calibrations carry with its default board).

Every file is written atomically.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from calibration.caliscope import dumps_caliscope
from calibration.errors import CalibrationError
from calibration.fileio import atomic_write_text
from calibration.group import CameraGroup
from calibration.qualisys import QUALISYS_TO_OPENCV, SENSOR_UNITS_PER_PIXEL
from calibration.toml_format import write_toml

FORMATS = ("pose2sim", "anipose", "freemocap", "qualisys", "caliscope")


def dumps_qualisys(group: CameraGroup) -> str:
    """The Qualisys XML text of ``group``."""
    root = ET.Element("calibration", {"source": "mocap", "type": "regular"})
    ET.SubElement(root, "results", {"min-max-diff": "0.", "std-dev": "0."})
    cams = ET.SubElement(root, "cameras")
    unit = SENSOR_UNITS_PER_PIXEL
    for cam in group:
        if cam.fisheye:
            raise CalibrationError(f"camera {cam.name!r} is fisheye; Qualisys files hold pinhole cameras only")
        w, h = cam.size
        el = ET.SubElement(cams, "camera", {"active": "1", "serial": cam.name, "viewrotation": "0", "model": "none"})
        box = {"left": "0", "top": "0", "right": str(w - 1), "bottom": str(h - 1)}
        for tag in ("fov_marker", "fov_marker_max", "fov_video", "fov_video_max"):
            ET.SubElement(el, tag, box)
        M = QUALISYS_TO_OPENCV @ cam.R  # the inverse of R = diag(1, -1, -1) · M
        transform = {f"r{i + 1}{j + 1}": repr(float(M[i, j])) for i in range(3) for j in range(3)}
        transform.update({k: repr(float(v * 1000.0)) for k, v in zip("xyz", cam.position)})
        ET.SubElement(el, "transform", transform)
        K = cam.matrix
        d = np.zeros(5)
        d[: min(5, len(cam.dist))] = cam.dist[:5]
        ET.SubElement(el, "intrinsic", {
            "focalLengthU": repr(float(K[0, 0] * unit)), "focalLengthV": repr(float(K[1, 1] * unit)),
            "centerPointU": repr(float(K[0, 2] * unit)), "centerPointV": repr(float(K[1, 2] * unit)),
            "skew": repr(float(K[0, 1] * unit)), "sensorMinU": "0", "sensorMinV": "0",
            "sensorMaxU": str(int((w - 1) * unit)), "sensorMaxV": str(int((h - 1) * unit)),
            "radialDistortion1": repr(float(d[0])), "radialDistortion2": repr(float(d[1])),
            "radialDistortion3": repr(float(d[4])), "tangentalDistortion1": repr(float(d[2])),
            "tangentalDistortion2": repr(float(d[3])),
        })
    ET.indent(root)
    return "<?xml version='1.0' encoding='ASCII'?>\n" + ET.tostring(root, encoding="unicode") + "\n"


def export_calibration(group: CameraGroup, path: str | os.PathLike, fmt: str) -> Path:
    """Write ``group`` to ``path`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise CalibrationError(f"unknown export format {fmt!r}; known: {', '.join(FORMATS)}")
    if fmt == "qualisys":
        return atomic_write_text(path, dumps_qualisys(group))
    if fmt == "caliscope":
        return atomic_write_text(path, dumps_caliscope(group))
    if fmt == "freemocap":
        cams = tuple(c.with_pose(c.R, c.tvec * 1000.0) for c in group)
        return write_toml(CameraGroup(cams, group.metadata), path, metadata={"units": "mm"})
    return write_toml(group, path)

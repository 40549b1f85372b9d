"""Load any calibration file we read; save in the native TOML.

``load_calibration`` picks the reader from the file name, then from the content:

* ``*.toml`` → anipose / Pose2Sim / FreeMoCap / caliscope TOML (:func:`calibration.toml_format.read_toml`);
* ``*.qca.txt``, or a file whose text starts with ``<?xml`` or ``<calibration`` → Qualisys
  (:func:`calibration.qualisys.read_qualisys`);
* a file without either suffix whose text parses as a TOML calibration is read as one too.
"""

from __future__ import annotations

import os
from pathlib import Path

from calibration.errors import CalibrationError
from calibration.fileio import check_input_file
from calibration.group import CameraGroup
from calibration.qualisys import read_qualisys
from calibration.toml_format import read_toml, write_toml

SUPPORTED = "anipose / Pose2Sim / FreeMoCap / caliscope TOML (.toml) or Qualisys XML (.qca.txt)"


def load_calibration(path: str | os.PathLike) -> CameraGroup:
    """The cameras of a calibration file in any supported format (CalibrationError otherwise)."""
    path = check_input_file(path)
    name = path.name.lower()
    if name.endswith(".toml"):
        return read_toml(path)
    if name.endswith(".qca.txt") or name.endswith(".qca"):
        return read_qualisys(path)
    with open(path, "rb") as f:
        head = f.read(256).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<?xml") or head.startswith(b"<calibration"):
        return read_qualisys(path)
    try:
        return read_toml(path)
    except CalibrationError:
        raise CalibrationError(f"is not a calibration file this program reads; supported: {SUPPORTED}", path) from None


def save_calibration(group: CameraGroup, path: str | os.PathLike, *, metadata: dict | None = None) -> Path:
    """Write ``group`` as a calibration TOML (atomically); returns the path."""
    return write_toml(group, path, metadata=metadata)

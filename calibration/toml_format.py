"""The anipose / Pose2Sim calibration TOML: our native calibration file.

One table per camera, in camera order, then an optional ``[metadata]`` table::

    [cam_01]
    name = "cam01"
    size = [1088, 1920]                  # width, height in pixels
    matrix = [[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]]
    distortions = [k1, k2, p1, p2, k3]   # 4, 5 or 8 (pinhole); k1..k4 when fisheye = true
    rotation = [rx, ry, rz]              # Rodrigues, world → camera
    translation = [tx, ty, tz]           # world → camera: x_cam = R x_world + t
    fisheye = false

    [metadata]
    adjusted = false
    error = 0.0

Writing: table names ``cam_01``, ``cam_02``… zero-padded so that aniposelib, which sorts the
table names as strings, keeps our camera order; every float in full precision (``repr``), so a
round trip is exact. Translations are written in the group's units (metres for groups this
package builds).

Reading tolerates what the tools in the field write:

* aniposelib (``CameraGroup.dump``): ``[cam_0]``…, ``[metadata]`` possibly empty, no ``fisheye``
  key on pinhole cameras; a ``[metadata]`` table is copied into ``CameraGroup.metadata``.
* Pose2Sim: ``size`` as floats (``[1088.0, 1920.0]``), tables named after the cameras,
  ``[metadata]`` with ``adjusted`` and ``error``.
* FreeMoCap: anipose's layout with trailing commas, fisheye cameras and a ``[metadata]`` table
  of strings. FreeMoCap writes ``translation`` in the units of its board (millimetres for its
  default ChArUco board): a ``[metadata] units`` of mm or cm, or, without one, cameras more than
  50 units from the origin, are converted to metres with a :class:`UnitsWarning` (the metadata
  then says ``units = "m"`` and ``converted_from_units``).
* ``rotation`` given as a 3×3 matrix instead of a rotation vector is accepted too.

Cameras keep the file's table order. A table is a camera table when it has any of ``matrix``,
``distortions``, ``rotation``, ``translation`` or ``size``; other tables (``[metadata]``) are
skipped. A camera table missing ``name`` takes the table's name.
"""

from __future__ import annotations

import os
import tomllib
import warnings
from pathlib import Path

import numpy as np

from calibration.camera import Camera
from calibration.errors import CalibrationError
from calibration.caliscope import caliscope_tables, is_caliscope
from calibration.fileio import atomic_write_text, check_input_file, read_text
from calibration.group import CameraGroup
from calibration.rotation import as_rvec
from calibration.toml_values import toml_key, toml_value

_CAMERA_KEYS = ("matrix", "distortions", "rotation", "translation", "size")


# --- reading ----------------------------------------------------------------------------------


def read_toml(path: str | os.PathLike) -> CameraGroup:
    """Load an anipose / Pose2Sim / FreeMoCap / caliscope calibration TOML (CalibrationError if malformed)."""
    path = check_input_file(path)
    try:
        document = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise CalibrationError(f"malformed TOML: {exc}", path) from None
    if is_caliscope(document):
        tables = caliscope_tables(document, path)
    else:
        tables = [(key, table) for key, table in document.items()
                  if key != "metadata" and isinstance(table, dict) and any(k in table for k in _CAMERA_KEYS)]
    cameras = [_camera_from_table(key, table, path) for key, table in tables]
    if not cameras:
        problem = "holds no camera table (a table with name, size, matrix, distortions, rotation, translation)"
        raise CalibrationError(problem, path)
    names = [c.name for c in cameras]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise CalibrationError(f"camera names are repeated: {', '.join(map(repr, repeated))}", path)
    metadata = dict(document["metadata"]) if isinstance(document.get("metadata"), dict) else {}
    cameras, metadata = _in_metres(cameras, metadata, path)
    return CameraGroup(tuple(cameras), metadata)


class UnitsWarning(UserWarning):
    """A calibration's translations were converted to metres."""


UNIT_SCALES = {"m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0, "cm": 0.01, "mm": 0.001,
               "millimeter": 0.001, "millimeters": 0.001, "millimetre": 0.001, "millimetres": 0.001}
# Camera centres further than this from the world origin cannot be metres in a capture room:
# such a file without a units entry is in millimetres (FreeMoCap writes its board's unit, mm).
MAX_ROOM_METRES = 50.0


def _in_metres(cameras: list, metadata: dict, path) -> tuple[list, dict]:
    """Cameras with translations in metres: a ``[metadata] units`` of mm or cm (FreeMoCap's files,
    our FreeMoCap export) is converted, as is a file without units whose cameras sit more than
    50 units from the origin (millimetres); either way with a UnitsWarning saying so."""
    said = str(metadata.get("units", "")).strip().lower()
    if said and said not in UNIT_SCALES:
        raise CalibrationError(f"[metadata] units = {metadata['units']!r}: expected one of mm, cm, m", path)
    scale, why = UNIT_SCALES.get(said, 1.0), f'[metadata] units = "{said}"'
    if not said:
        distance = float(np.median([np.linalg.norm(c.position) for c in cameras]))
        if distance > MAX_ROOM_METRES:
            scale, why = 0.001, (f"no units given, and the cameras sit {distance:.0f} units from the origin: "
                                 "millimetres")
    if scale == 1.0:
        return cameras, metadata
    warnings.warn(f"{path}: camera translations in {'millimetres' if scale == 0.001 else 'centimetres'} ({why}); "
                  "converted to metres", UnitsWarning, stacklevel=3)
    cameras = [c.with_pose(c.rvec, c.tvec * scale) for c in cameras]
    return cameras, {**metadata, "units": "m", "converted_from_units": said or "mm"}


def _camera_from_table(key: str, table: dict, path: Path) -> Camera:
    name = str(table.get("name", key))

    def fail(problem: str) -> CalibrationError:
        return CalibrationError(f"camera [{key}] ({name!r}): {problem}", path)

    def field(field_name: str, shapes: tuple[tuple[int, ...], ...]) -> np.ndarray:
        if field_name not in table:
            raise fail(f"missing field '{field_name}'")
        try:
            value = np.asarray(table[field_name], dtype=np.float64)
        except (TypeError, ValueError):
            raise fail(f"field '{field_name}' must hold numbers, got {table[field_name]!r}") from None
        if value.shape not in shapes:
            expected = " or ".join(f"{s[0]} numbers" if len(s) == 1 else f"a {s[0]}×{s[1]} array" for s in shapes)
            raise fail(f"field '{field_name}' must be {expected}, got shape {value.shape}")
        if not np.all(np.isfinite(value)):
            raise fail(f"field '{field_name}' holds non-finite values")
        return value

    fisheye = table.get("fisheye", False)
    if not isinstance(fisheye, (bool, int)):
        raise fail(f"field 'fisheye' must be true or false, got {fisheye!r}")
    size = field("size", ((2,),))
    matrix = field("matrix", ((3, 3),))
    # fisheye: OpenCV's k1..k4; pinhole: k1, k2, p1, p2[, k3[, k4, k5, k6]]
    dist = field("distortions", ((4,),) if fisheye else ((4,), (5,), (8,)))
    rotation = field("rotation", ((3,), (3, 3)))
    translation = field("translation", ((3,), (3, 1))).reshape(3)  # caliscope may write a column
    if np.any(size <= 0) or np.any(size != np.round(size)):
        raise fail(f"field 'size' must be a positive whole [width, height], got {size.tolist()}")
    try:
        rvec = as_rvec(rotation)
    except ValueError as exc:
        raise fail(f"field 'rotation': {exc}") from None
    try:
        return Camera(name, tuple(size.astype(int)), matrix, dist, rvec, translation, bool(fisheye))
    except ValueError as exc:
        raise fail(str(exc).removeprefix(f"camera {name!r}: ")) from None


# --- writing ----------------------------------------------------------------------------------


def write_toml(group: CameraGroup, path: str | os.PathLike, *, metadata: dict | None = None) -> Path:
    """Write ``group`` as a calibration TOML, atomically; returns the path.

    The ``[metadata]`` table holds Pose2Sim's ``adjusted`` (default false) and ``error``
    (default 0.0), then ``group.metadata``, then ``metadata`` (later entries win).
    """
    return atomic_write_text(path, dumps_toml(group, metadata=metadata))


def dumps_toml(group: CameraGroup, *, metadata: dict | None = None) -> str:
    """The TOML text :func:`write_toml` writes."""
    width = max(2, len(str(len(group))))
    lines: list[str] = []
    for i, camera in enumerate(group, start=1):
        lines += [
            f"[cam_{i:0{width}d}]",
            f"name = {toml_value(camera.name)}",
            f"size = {toml_value(list(camera.size))}",
            f"matrix = {toml_value(camera.matrix)}",
            f"distortions = {toml_value(camera.dist)}",
            f"rotation = {toml_value(camera.rvec)}",
            f"translation = {toml_value(camera.tvec)}",
            f"fisheye = {toml_value(camera.fisheye)}",
            "",
        ]
    table = {"adjusted": False, "error": 0.0, **group.metadata, **(metadata or {})}
    lines.append("[metadata]")
    for key, value in table.items():
        if value is None:  # TOML has no null; leaving the key out says the same
            continue
        try:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
        except ValueError as exc:
            raise ValueError(f"metadata {key!r}: {exc}") from None
    return "\n".join(lines) + "\n"

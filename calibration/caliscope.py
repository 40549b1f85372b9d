"""caliscope's camera files: the current ``camera_array.toml`` and the legacy ``config.toml``.

* ``camera_array.toml``: one table per camera under ``[cameras.<cam_id>]`` (an integer id, no
  name) with ``size``, ``matrix``, ``distortions``, ``rotation`` (Rodrigues, or a 3×3 matrix in
  files migrated from older versions), ``translation`` (world → camera, OpenCV axes, metres),
  ``fisheye``, and caliscope's own ``rotation_count``, ``error``, ``exposure``, ``grid_count``.
* legacy ``config.toml``: ``[cam_<port>]`` tables with a ``port`` and the same fields, beside the
  project's other settings.

A camera without extrinsics (caliscope keeps cameras it has not posed yet) or marked ``ignore``
cannot be used to triangulate and is left out; a file with no posed camera is an error. Cameras are
named ``cam_<id>``. Written files use the current layout, ids in the group's order, with the names
they stand for in a comment (caliscope has nowhere else to keep them).
"""

from __future__ import annotations

from pathlib import Path

from calibration.errors import CalibrationError
from calibration.group import CameraGroup
from calibration.toml_values import toml_value


def is_caliscope(document: dict) -> bool:
    """Does a parsed TOML document come from caliscope (either layout)?"""
    nested = document.get("cameras")
    if isinstance(nested, dict) and nested and all(isinstance(t, dict) for t in nested.values()):
        return True
    return any(isinstance(t, dict) and "port" in t and "matrix" in t for t in document.values())


def caliscope_tables(document: dict, path: Path) -> list[tuple[str, dict]]:
    """(name, table) of every posed, not ignored camera of a caliscope document."""
    if isinstance(document.get("cameras"), dict):
        tables = [(f"cam_{key}", table) for key, table in document["cameras"].items()]
    else:
        tables = [(key, table) for key, table in document.items() if isinstance(table, dict) and "port" in table]
    posed = [(name, {**table, "name": name}) for name, table in tables
             if not table.get("ignore", False) and "rotation" in table and "translation" in table]
    if not posed:
        raise CalibrationError("is a caliscope file without any posed camera (no rotation and translation yet): "
                               "run caliscope's extrinsic calibration first", path)
    return posed


def dumps_caliscope(group: CameraGroup) -> str:
    """``group`` as caliscope's ``camera_array.toml`` text."""
    order = ", ".join(f"{i} = {cam.name}" for i, cam in enumerate(group))
    lines = [f"# caliscope camera_array.toml written by mocap; cam_id: {order}"]
    for i, cam in enumerate(group):
        lines += [
            f"[cameras.{i}]",
            f"cam_id = {i}",
            f"size = {toml_value(list(cam.size))}",
            "rotation_count = 0",
            f"matrix = {toml_value(cam.matrix)}",
            f"distortions = {toml_value(cam.dist)}",
            f"translation = {toml_value(cam.tvec)}",
            f"rotation = {toml_value(cam.rvec)}",
            f"fisheye = {toml_value(cam.fisheye)}",
            "",
        ]
    return "\n".join(lines)

"""``render-pose-maps`` as one call: a saved result -> pose-map PNGs in a folder per camera."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from mocap.errors import CalibrationFileError, InputFileError, SettingsError

log = logging.getLogger("mocap.posemaps")
ORBIT_SIZE = (768, 1024)


def load_any(path: str | os.PathLike):
    """A pose2d.npz, pose3d.npz or motion.npz, told apart by the file's own tag."""
    from mocap.data import Keypoints2D, Keypoints3D, Motion, load_tagged

    return load_tagged(path, (Keypoints2D, Keypoints3D, Motion), "pose2d.npz, pose3d.npz or motion.npz")


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'WxH' -> (W, H); SettingsError for anything else."""
    if text is None:
        return None
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise SettingsError(f"--size must be WIDTHxHEIGHT in pixels (e.g. 768x1024), not {text!r}") from None
    if w < 16 or h < 16 or w > 16384 or h > 16384:
        raise SettingsError(f"--size {text}: each side must be 16 to 16384 pixels")
    return w, h


def render_pose_maps(input_path, output_dir, *, camera: tuple[str, str] | None = None, orbit: int | None = None,
                     size: tuple[int, int] | str | None = None, pose3d=None, min_score: float = 0.3,
                     progress: bool = True) -> list[Path]:
    """Pose maps of a saved result into ``output_dir/<camera>/<frame:06d>.png``; returns the folders.

    * ``pose2d.npz``: each camera's 2D keypoints at their own image size (``pose3d``: a
      triangulation's ``pose3d.npz`` whose per-view left/right decisions are applied first);
    * ``pose3d.npz`` / ``motion.npz``: projected into ``camera`` = (calibration file, camera name)
      at its calibrated size (or ``size``), or into ``orbit`` virtual cameras around the subject
      (``size`` default 768 x 1024).
    """
    from mocap.data import Keypoints2D, Keypoints3D
    from mocap.fileio import make_output_folder
    from mocap.posemaps import motion_keypoints, orbit_cameras, resize_camera, write_pose_maps_2d, write_pose_maps_3d

    data = load_any(input_path)
    size = parse_size(size) if isinstance(size, str) or size is None else tuple(int(v) for v in size)
    out = make_output_folder(output_dir)
    if isinstance(data, Keypoints2D):
        if camera is not None or orbit is not None or size is not None:
            raise SettingsError("a pose2d.npz is drawn at each camera's own size: --camera, --orbit and --size "
                                "are for 3D input (pose3d.npz, motion.npz)")
        if pose3d is not None:
            from mocap.pose2d.swaps import apply_view_swaps

            data = apply_view_swaps(data, Keypoints3D.load(pose3d))
        return write_pose_maps_2d(data, out, min_score, progress)
    if (camera is None) == (orbit is None):
        raise SettingsError("give exactly one of --camera CAL NAME or --orbit N for 3D input")
    if isinstance(data, Keypoints3D):
        xyz, score, frames = data.xyz, np.where(np.isfinite(data.xyz[..., 0]), data.score, 0.0), data.frame_index
        if orbit is not None and data.world_frame == "unaligned":
            log.warning("%s: the world has no known up (world_frame 'unaligned'); the orbit turns about its Z axis",
                        input_path)
    else:
        try:
            xyz = motion_keypoints(data)
        except ValueError as exc:
            raise InputFileError(str(exc), input_path) from exc
        score, frames = np.where(np.isfinite(xyz[..., 0]), 1.0, 0.0), data.frame_index
    if orbit is not None:
        if int(orbit) < 1:
            raise SettingsError(f"--orbit needs at least one camera, not {orbit}")
        try:
            cams = orbit_cameras(xyz, int(orbit), size or ORBIT_SIZE)
        except ValueError as exc:
            raise InputFileError(str(exc), input_path) from exc
    else:
        from mocap.api import load_calibration

        cal, name = camera
        group = load_calibration(cal)
        if name not in group.names:
            raise CalibrationFileError(f"has no camera {name!r} (cameras: {', '.join(group.names)})", cal)
        cam = group[name]
        cams = [resize_camera(cam, size) if size else cam]
    return write_pose_maps_3d(xyz, score, cams, out, frames, min_score, progress)

"""DWPose / ControlNet pose maps: 2D results per camera, or captured 3D from any camera.

``write_pose_maps_2d(kp2d, out)`` writes ``out/<camera>/<frame:06d>.png`` for every camera of a
:class:`Keypoints2D` (the repaired labels it holds; pass a triangulation's ``Keypoints3D`` to use
its per-view swap decisions too, :func:`mocap.pose2d.swaps.apply_view_swaps`);
``write_pose_maps_3d(xyz, score, cameras, out)`` projects 3D points into each camera
(:mod:`mocap.posemaps.render`: calibrated cameras, :func:`orbit_cameras`). Drawing follows the
OpenPose/ControlNet colour convention (:mod:`mocap.posemaps.draw`). Each PNG is written
atomically; frame numbers are the source video frames (``frame_index``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from mocap.errors import OutputError
from mocap.fileio import atomic_write, make_output_folder
from mocap.posemaps.draw import BODY_COLORS, BODY_LIMBS, HAND_COLORS, HAND_EDGES, draw_pose_map  # noqa: F401
from mocap.posemaps.render import (  # noqa: F401
    look_at, motion_keypoints, orbit_cameras, project_points, render_frames, resize_camera,
)


def write_png(path: Path, rgb: np.ndarray) -> Path:
    """One RGB image as a PNG, atomically."""
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise OutputError("could not encode the pose map as PNG", path)
    with atomic_write(path, "wb") as f:
        f.write(data.tobytes())
    return path


def _write_sequence(maps, folder: Path, frame_index, total: int, desc: str, progress: bool) -> Path:
    make_output_folder(folder)
    for number, rgb in tqdm(zip(frame_index, maps), total=total, desc=desc, unit="map", disable=not progress):
        write_png(folder / f"{int(number):06d}.png", rgb)
    return folder


def write_pose_maps_2d(keypoints, out_dir, min_score: float = 0.3, progress: bool = True) -> list[Path]:
    """Pose maps of every camera of ``keypoints`` (Keypoints2D) at its image size -> the folders."""
    folders = []
    for c, cam in enumerate(keypoints.camera_names):
        w, h = (int(v) for v in keypoints.image_sizes[c])
        if w <= 0 or h <= 0:
            raise OutputError(f"camera {cam}: image size unknown, cannot size its pose maps", out_dir)
        maps = (draw_pose_map(keypoints.xy[c, t], keypoints.score[c, t], (w, h), min_score)
                for t in range(keypoints.n_frames))
        folders.append(_write_sequence(maps, Path(out_dir) / cam, keypoints.frame_index, keypoints.n_frames,
                                       f"pose maps {cam}", progress))
    return folders


def write_pose_maps_3d(xyz: np.ndarray, score: np.ndarray, cameras, out_dir, frame_index=None,
                       min_score: float = 0.3, progress: bool = True) -> list[Path]:
    """Pose maps of 3D points ``xyz`` (T, P, 133, 3), ``score`` (T, P, 133) seen by each of
    ``cameras`` (:class:`calibration.Camera`) -> ``out_dir/<camera name>/`` folders."""
    frames = np.arange(len(xyz)) if frame_index is None else np.asarray(frame_index)
    return [_write_sequence(render_frames(xyz, score, cam, min_score), Path(out_dir) / cam.name, frames, len(xyz),
                            f"pose maps {cam.name}", progress) for cam in cameras]

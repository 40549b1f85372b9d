"""Video frames with the 2D detection and the triangulated skeleton reprojected onto them.

For a few time steps spread over the clip, each camera's source frame (``frame_index``) is read,
scaled to ``height`` pixels, and drawn with the camera's 2D detection of the person (grey) and the
3D skeleton projected through the calibration (colour): where the two part, that camera disagrees
with the others, or its calibration is off.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

GREY_ID, SKELETON_ID = 7, 0  # colours of mocap.pose2d.overlay's palette


def pick_steps(n_frames: int, count: int, found: np.ndarray | None = None) -> np.ndarray:
    """``count`` time steps spread evenly over the clip (among the steps in ``found`` when given)."""
    steps = np.flatnonzero(found) if found is not None and found.any() else np.arange(n_frames)
    if count <= 0 or not len(steps):
        return np.zeros(0, dtype=int)
    return steps[np.unique(np.linspace(0, len(steps) - 1, count + 2)[1:-1].round().astype(int))]


def read_frame(video: Path, index: int) -> np.ndarray | None:
    from mocap.video import VideoReader

    for _, frame in VideoReader(video).frames(int(index), int(index) + 1):
        return frame
    return None


def draw_frame(frame: np.ndarray, detected_xy, detected_score, reprojected_xy, height: int = 480,
               min_score: float = 0.3) -> np.ndarray:
    """``frame`` scaled to ``height`` with the detection (K, 2) and the reprojection (K, 2) drawn."""
    from mocap.pose2d.overlay import draw_poses

    scale = height / frame.shape[0]
    image = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    seen = np.isfinite(reprojected_xy).all(-1)
    draw_poses(image, reprojected_xy[None] * scale, seen[None].astype(float), ids=[SKELETON_ID], min_score=0.5,
               thickness=2)
    if detected_xy is not None:  # on top, thin: where it leaves the colour, the two disagree
        draw_poses(image, detected_xy[None] * scale, detected_score[None], ids=[GREY_ID], min_score=min_score,
                   thickness=1)
    return image


def write_png(image: np.ndarray, path: Path) -> Path:
    from mocap.errors import OutputError

    if not cv2.imwrite(str(path), image):
        raise OutputError("could not write this picture", path)
    return path

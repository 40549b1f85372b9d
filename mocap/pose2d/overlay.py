"""Skeleton overlays on video frames, for checking 2D results by eye.

:func:`write_overlays` draws a finished :class:`Keypoints2D` (person slots, repaired labels: pass
it through :func:`mocap.pose2d.swaps.apply_view_swaps` to show a triangulation's decisions too)
onto its videos. :class:`OverlayWriter` draws each person's bones (:data:`mocap.skeleton.BONES`,
confident ends only) and keypoints on the frame, coloured per person slot, and writes either one
video per camera (``<out>/<camera>_overlay.mp4``) or an image sequence
(``<out>/<camera>/<frame:06d>.jpg``). Videos are written to a temporary name and renamed when
closed (a crash leaves no half file under the final name).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from mocap.errors import OutputError
from mocap.skeleton import BONES

_PALETTE = np.array([(66, 135, 245), (245, 66, 93), (66, 245, 135), (245, 200, 66), (200, 66, 245),
                     (66, 230, 245), (245, 130, 66), (150, 150, 150)], dtype=np.uint8)


def draw_poses(image: np.ndarray, xy: np.ndarray, score: np.ndarray, ids=None, min_score: float = 0.3,
               thickness: int | None = None) -> np.ndarray:
    """Draw people ``xy`` (P, 133, 2), ``score`` (P, 133) on ``image`` (in place); returns it."""
    bones = np.asarray(BONES)
    thickness = thickness or max(1, round(max(image.shape[:2]) / 500))
    ids = np.arange(len(xy)) if ids is None else np.asarray(ids)
    for p in range(len(xy)):
        color = tuple(int(v) for v in _PALETTE[int(ids[p]) % len(_PALETTE)])
        ok = (score[p] > min_score) & np.isfinite(xy[p]).all(-1)
        seg = bones[ok[bones[:, 0]] & ok[bones[:, 1]]]
        if len(seg):  # all bones of a person in one polylines call
            lines = np.round(xy[p][seg]).astype(np.int32)
            cv2.polylines(image, list(lines), False, color, thickness, cv2.LINE_AA)
        for x, y in np.round(xy[p][ok]).astype(np.int32):
            cv2.circle(image, (int(x), int(y)), thickness + 1, color, -1, cv2.LINE_AA)
    return image


class OverlayWriter:
    """Overlay output for several cameras: ``mode`` "video" or "images"."""

    def __init__(self, out_dir, camera_names, fps: float, mode: str = "video", scale: float = 0.5):
        self.out_dir, self.names, self.fps, self.mode, self.scale = Path(out_dir), list(camera_names), fps, mode, scale
        if mode not in ("video", "images"):
            raise OutputError(f"overlay mode must be 'video' or 'images', not {mode!r}")
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the overlay folder ({exc})", self.out_dir) from exc
        self._writers: dict[int, tuple[cv2.VideoWriter, Path, Path]] = {}
        self.paths: list[Path] = []

    def add(self, t: int, frames, people) -> None:
        """Frames of one time step (one per camera, None when missing) and, per camera, the people
        to draw as ``(xy (P, 133, 2), score (P, 133), ids (P,))``."""
        for c, (frame, (xy, score, pid)) in enumerate(zip(frames, people)):
            if frame is None:
                continue
            img = cv2.resize(frame, None, fx=self.scale, fy=self.scale) if self.scale != 1 else frame.copy()
            draw_poses(img, xy * self.scale, score, pid)
            if self.mode == "images":
                folder = self.out_dir / self.names[c]
                folder.mkdir(exist_ok=True)
                path = folder / f"{t:06d}.jpg"
                tmp = folder / f".{t:06d}.tmp.jpg"
                if not cv2.imwrite(str(tmp), img):
                    raise OutputError("could not write the overlay image", path)
                os.replace(tmp, path)
                continue
            if c not in self._writers:
                final = self.out_dir / f"{self.names[c]}_overlay.mp4"
                tmp = self.out_dir / f".{self.names[c]}_overlay.tmp.mp4"
                vw = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (img.shape[1], img.shape[0]))
                if not vw.isOpened():
                    raise OutputError("OpenCV cannot write an mp4 video here", final)
                self._writers[c] = (vw, tmp, final)
            self._writers[c][0].write(img)

    def discard(self) -> None:
        """Drop unfinished videos (after an error): nothing half-written stays."""
        for vw, tmp, _ in self._writers.values():
            vw.release()
            tmp.unlink(missing_ok=True)
        self._writers = {}

    def close(self) -> list[Path]:
        for vw, tmp, final in self._writers.values():
            vw.release()
            os.replace(tmp, final)
            self.paths.append(final)
        self._writers = {}
        if self.mode == "images":
            self.paths = [self.out_dir / n for n in self.names if (self.out_dir / n).is_dir()]
        return self.paths


def write_overlays(videos, keypoints, out_dir, mode: str = "video", scale: float = 0.5,
                   progress: bool = True, frames=None) -> list[Path]:
    """Draw ``keypoints`` (a :class:`Keypoints2D`, one camera per video, in order) onto the frames
    ``keypoints.frame_index`` of ``videos`` -> the overlay videos or image folders. ``frames``: a
    :class:`~mocap.video.FrameTable` over ``frame_index`` saying which frame of each video shows
    each step (synchronized videos); images are then named by the step."""
    from tqdm import tqdm

    from mocap.video import VideoReader, read_synchronized

    readers = [v if isinstance(v, VideoReader) else VideoReader(v) for v in videos]
    frame_index = np.asarray(keypoints.frame_index)
    if not len(frame_index):
        return []
    steps = np.diff(frame_index)
    stride = int(steps[0]) if len(steps) and np.all(steps == steps[0]) else 1
    row = {int(f): i for i, f in enumerate(frame_index)}
    fps = readers[0].info.fps / stride
    if frames is None:
        reading = read_synchronized(readers, int(frame_index[0]), int(frame_index[-1]) + 1, stride)
    else:
        reading = read_synchronized(readers, table=frames)
    writer = OverlayWriter(out_dir, keypoints.camera_names, fps, mode, scale)
    slots = np.arange(keypoints.n_persons)
    try:
        for t, images in tqdm(reading, total=len(frame_index), desc="overlays", unit="frame", disable=not progress):
            if t not in row:
                continue
            i = row[t]
            writer.add(t, images, [(keypoints.xy[c, i], keypoints.score[c, i], slots)
                                   for c in range(keypoints.n_cameras)])
    except BaseException:
        writer.discard()
        raise
    return writer.close()

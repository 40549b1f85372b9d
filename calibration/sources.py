"""Where board pictures come from: one sub-folder of images, or one video, per camera.

``DIR/cam01/*.jpg``, ``DIR/cam02/*.jpg``… (images with the same file name in different camera
folders were taken at the same instant), or ``DIR/cam01.mp4``, ``DIR/cam02.mp4``… (the same
frame index of different videos is the same instant). The camera is named after the folder or
the video's file stem. Frames of a video are sampled every ``step`` frames.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from calibration.errors import CalibrationError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv")


@dataclass(frozen=True)
class CameraSource:
    """The pictures of one camera: a folder of images or a video file."""

    name: str
    path: Path

    @property
    def is_video(self) -> bool:
        return self.path.is_file()

    def frames(self, step: int = 1) -> Iterator[tuple[str, np.ndarray]]:
        """``(instant, grey image)`` pairs; CalibrationError for unreadable files or a size change."""
        size = None
        for key, where, image in (self._video(step) if self.is_video else self._images()):
            if size is None:
                size = image.shape[:2]
            elif image.shape[:2] != size:
                raise CalibrationError(
                    f"camera {self.name!r}: image size {image.shape[1]}×{image.shape[0]} differs from the "
                    f"camera's first image ({size[1]}×{size[0]}); one camera must keep one resolution", where)
            yield key, image

    def _images(self):
        files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for file in files:
            image = cv2.imread(os.fspath(file), cv2.IMREAD_GRAYSCALE)
            if image is None:
                raise CalibrationError(f"camera {self.name!r}: cannot decode this image (corrupt or not an image)", file)
            yield file.stem, file, image

    def _video(self, step: int):
        capture = cv2.VideoCapture(os.fspath(self.path))
        if not capture.isOpened():
            raise CalibrationError(f"camera {self.name!r}: cannot open this video (corrupt or unknown codec)", self.path)
        index, read_any = 0, False
        try:
            while True:
                ok = capture.grab()
                if not ok:
                    break
                if index % step == 0:
                    ok, frame = capture.retrieve()
                    if not ok or frame is None:
                        raise CalibrationError(f"camera {self.name!r}: frame {index} cannot be decoded", self.path)
                    read_any = True
                    yield f"{index:06d}", self.path, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
                index += 1
        finally:
            capture.release()
        if not read_any:
            raise CalibrationError(f"camera {self.name!r}: no frame could be read from this video (corrupt?)", self.path)

    def fps(self) -> float | None:
        if not self.is_video:
            return None
        capture = cv2.VideoCapture(os.fspath(self.path))
        fps = capture.get(cv2.CAP_PROP_FPS)
        capture.release()
        return float(fps) if fps and fps > 0 else None


def discover(folder: str | os.PathLike) -> list[CameraSource]:
    """The cameras of a calibration folder, sorted by name (CalibrationError if there are none)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CalibrationError("calibration folder not found", folder)
    sources = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in entry.iterdir()):
            sources.append(CameraSource(entry.name, entry))
        elif entry.is_file() and entry.suffix.lower() in VIDEO_SUFFIXES:
            sources.append(CameraSource(entry.stem, entry))
    if not sources:
        raise CalibrationError("holds no camera: expected one sub-folder of images or one video per camera", folder)
    names = [s.name for s in sources]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise CalibrationError(f"camera {', '.join(repeated)} has both a folder and a video; keep one", folder)
    return sources

"""Streaming video reading: one frame at a time, never a whole video in memory.

:class:`VideoReader` opens one file with OpenCV, checks it (exists, non-empty, decodable first
frame) and yields ``(index, frame)`` for a frame range and stride. :func:`read_synchronized` reads
several cameras in parallel threads (OpenCV's decoders release the GIL) and yields, per time step,
the list of the cameras' frames; a bounded queue per camera keeps memory to a few frames.
"""

from __future__ import annotations

import os
import queue
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from mocap.errors import InputFileError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv")


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int
    height: int
    fps: float
    n_frames: int  # as the container claims it; a truncated file may hold fewer


class VideoReader:
    """A video file read frame by frame (BGR uint8 frames, as OpenCV gives them).

    Raises :class:`InputFileError` naming the file when it is missing, empty, or not a video that
    OpenCV can decode.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.is_file():
            raise InputFileError("video file not found", self.path)
        if self.path.stat().st_size == 0:
            raise InputFileError("video file is empty (0 bytes)", self.path)
        cap = cv2.VideoCapture(str(self.path))
        try:
            ok, frame = cap.read() if cap.isOpened() else (False, None)
            if not ok or frame is None:
                raise InputFileError("not a readable video (OpenCV cannot decode a first frame; "
                                     "the file may be truncated or in an unsupported format)", self.path)
            fps = cap.get(cv2.CAP_PROP_FPS)
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        finally:
            cap.release()
        self.info = VideoInfo(self.path, int(frame.shape[1]), int(frame.shape[0]),
                              float(fps) if fps and np.isfinite(fps) and fps > 0 else 30.0, max(n, 0))

    @property
    def name(self) -> str:
        return self.path.stem

    def frames(self, start: int = 0, stop: int | None = None, stride: int = 1) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(frame_index, frame)`` for indices start, start+stride, ... < stop.

        Frames between strides are grabbed but not decoded to images (``grab`` is cheap). A file
        that ends early (truncated) stops the iteration with a warning naming the file.
        """
        if start < 0 or stride < 1 or (stop is not None and stop < start):
            raise ValueError(f"bad frame range start={start} stop={stop} stride={stride}")
        cap = cv2.VideoCapture(str(self.path))
        try:
            if start:
                cap.set(cv2.CAP_PROP_POS_FRAMES, start)
            index = start
            while stop is None or index < stop:
                ok, frame = cap.read()
                if not ok:
                    if stop is not None and self.info.n_frames and index < min(stop, self.info.n_frames):
                        warnings.warn(f"{self.path}: video ended at frame {index}, the file claims "
                                      f"{self.info.n_frames} frames (truncated?)", stacklevel=2)
                    return
                yield index, frame
                for _ in range(stride - 1):
                    index += 1
                    if (stop is not None and index >= stop) or not cap.grab():
                        return
                index += 1
        finally:
            cap.release()


def find_videos(folder: str | os.PathLike) -> list[Path]:
    """The video files of a session's ``videos/`` folder (or of ``folder`` itself), sorted by name."""
    folder = Path(folder)
    videos_dir = folder / "videos" if (folder / "videos").is_dir() else folder
    if not videos_dir.is_dir():
        raise InputFileError("folder not found", folder)
    files = sorted(p for p in videos_dir.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    if not files:
        raise InputFileError(f"no video files ({', '.join(VIDEO_SUFFIXES)}) found", videos_dir)
    return files


_END = object()


def _pump(reader: VideoReader, q: queue.Queue, start, stop, stride, stop_event: threading.Event):
    try:
        for item in reader.frames(start, stop, stride):
            while not stop_event.is_set():
                try:
                    q.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if stop_event.is_set():
                return
    except Exception as exc:  # handed to the consumer, which re-raises it in its own thread
        q.put(exc)
        return
    q.put(_END)


def read_synchronized(readers: list[VideoReader], start: int = 0, stop: int | None = None, stride: int = 1,
                      buffer: int = 4) -> Iterator[tuple[int, list[np.ndarray | None]]]:
    """Yield ``(frame_index, [frame of camera c or None])`` for all cameras, decoding in parallel.

    Each camera is decoded in its own thread into a queue of ``buffer`` frames. Iteration goes on
    while at least one camera still has frames; a camera that ended early gives ``None``.
    """
    queues = [queue.Queue(maxsize=buffer) for _ in readers]
    stop_event = threading.Event()
    threads = [threading.Thread(target=_pump, args=(r, q, start, stop, stride, stop_event), daemon=True)
               for r, q in zip(readers, queues)]
    for t in threads:
        t.start()
    done = [False] * len(readers)
    try:
        while True:
            frames, index = [], None
            for c, q in enumerate(queues):
                item = _END if done[c] else q.get()
                if isinstance(item, Exception):
                    raise item
                if item is _END:
                    done[c] = True
                    frames.append(None)
                else:
                    index = item[0]
                    frames.append(item[1])
            if all(done):
                return
            yield index, frames
    finally:
        stop_event.set()
        for t in threads:
            t.join(timeout=5)

"""Streaming video reading: one frame at a time, never a whole video in memory.

:class:`VideoReader` opens one file with OpenCV, checks it (exists, non-empty, decodable first
frame) and yields ``(index, frame)`` for a frame range and stride. :func:`read_synchronized` reads
several cameras in parallel threads (OpenCV's decoders release the GIL) and yields, per time step,
the list of the cameras' frames; a bounded queue per camera keeps memory to a few frames.

Synchronized cameras start at different frames of their own videos, and a camera that dropped
frames has none for some time steps: a :class:`FrameTable` says which frame of each video goes
with each time step, and :func:`read_synchronized` reads by it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from calibration.sources import VIDEO_SUFFIXES  # one list for session videos and board videos
from mocap.errors import InputFileError


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    width: int
    height: int
    fps: float
    n_frames: int  # as the container claims it; a truncated file may hold fewer


@dataclass(frozen=True)
class FrameTable:
    """Which video frame each camera shows at each time step.

    ``steps`` (T,): the steps' numbers, strictly increasing (what ``Keypoints2D.frame_index``
    records: for synchronized videos, the common timeline of :mod:`mocap.sync`); ``frames`` (C, T):
    camera c's own frame at step t, -1 where it has none (a dropped frame, or past its video's end).
    A camera's frames increase along the steps.
    """

    steps: np.ndarray
    frames: np.ndarray

    def __post_init__(self):
        steps = np.asarray(self.steps, dtype=np.int64).reshape(-1)
        frames = np.asarray(self.frames, dtype=np.int64)
        if frames.ndim != 2 or frames.shape[1] != len(steps):
            raise ValueError(f"frames must be (cameras, {len(steps)} steps), got {frames.shape}")
        if np.any(np.diff(steps) <= 0):
            raise ValueError("steps must increase strictly")
        for row in frames:
            if np.any(np.diff(row[row >= 0]) <= 0):
                raise ValueError("each camera's frames must increase along the steps")
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "frames", frames)

    @classmethod
    def regular(cls, n_cameras: int, start: int, stop: int, stride: int = 1) -> "FrameTable":
        """Every camera at frames ``start, start + stride, ... < stop`` (videos that start together)."""
        steps = np.arange(start, stop, stride, dtype=np.int64)
        return cls(steps, np.tile(steps, (n_cameras, 1)))

    @property
    def n_cameras(self) -> int:
        return self.frames.shape[0]

    @property
    def stride(self) -> int:
        """The steps' spacing (1 for fewer than two steps)."""
        return int(self.steps[1] - self.steps[0]) if len(self.steps) > 1 else 1


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

    def count_frames(self) -> int:
        """The frames the file really holds (grabbed one by one: for containers that do not say)."""
        cap = cv2.VideoCapture(str(self.path))
        n = 0
        while cap.grab():
            n += 1
        cap.release()
        return n

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


    def frames_at(self, indices) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(frame_index, frame)`` for the increasing frame ``indices`` (frames between them
        are grabbed, not decoded); stops early, with a warning naming the file, where it ends."""
        wanted = np.asarray(indices, dtype=np.int64)
        if not len(wanted):
            return
        if wanted[0] < 0 or np.any(np.diff(wanted) <= 0):
            raise ValueError("frame indices must be >= 0 and increase strictly")
        cap = cv2.VideoCapture(str(self.path))
        try:
            index = int(wanted[0])
            if index:
                cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            for target in wanted.tolist():
                while index < target:
                    if not cap.grab():
                        break
                    index += 1
                ok, frame = cap.read() if index == target else (False, None)
                if not ok:
                    warnings.warn(f"{self.path}: video ended at frame {index}; frame {target} was asked for "
                                  f"(the file claims {self.info.n_frames} frames)", stacklevel=2)
                    return
                yield index, frame
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


def _pump(q: queue.Queue, items, stop_event: threading.Event):
    try:
        for item in items:
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


@contextlib.contextmanager
def _decoding(sources, buffer: int):
    """One thread per camera decoding its ``(index, frame)`` source into a queue of ``buffer``
    frames; yields the queues, and stops the threads on leaving."""
    queues = [queue.Queue(maxsize=buffer) for _ in sources]
    stop_event = threading.Event()
    threads = [threading.Thread(target=_pump, args=(q, source, stop_event), daemon=True)
               for q, source in zip(queues, sources)]
    for t in threads:
        t.start()
    try:
        yield queues
    finally:
        stop_event.set()
        for t in threads:
            t.join(timeout=5)


def _take(q: queue.Queue):
    """The next item of a camera's queue (``_END`` after its last); its thread's error is raised here."""
    item = q.get()
    if isinstance(item, Exception):
        raise item
    return item


def read_synchronized(readers: list[VideoReader], start: int = 0, stop: int | None = None, stride: int = 1,
                      buffer: int = 4, *, table: FrameTable | None = None
                      ) -> Iterator[tuple[int, list[np.ndarray | None]]]:
    """Yield ``(frame_index, [frame of camera c or None])`` for all cameras, decoding in parallel.

    Each camera is decoded in its own thread into a queue of ``buffer`` frames. Iteration goes on
    while at least one camera still has frames; a camera that ended early gives ``None``.

    With ``table`` (a :class:`FrameTable`, one row per reader) ``start``/``stop``/``stride`` are
    not used: step t yields ``table.steps[t]`` and camera c's frame ``table.frames[c, t]`` (None
    where that is -1).
    """
    if table is not None:
        if table.n_cameras != len(readers):
            raise ValueError(f"the frame table has {table.n_cameras} cameras for {len(readers)} videos")
        yield from _read_table(readers, table, buffer)
        return
    done = [False] * len(readers)
    with _decoding([r.frames(start, stop, stride) for r in readers], buffer) as queues:
        while True:
            frames, index = [], None
            for c, q in enumerate(queues):
                item = _END if done[c] else _take(q)
                done[c] = item is _END
                frames.append(None if done[c] else item[1])
                index = index if done[c] else item[0]
            if all(done):
                return
            yield index, frames


def _read_table(readers: list[VideoReader], table: FrameTable, buffer: int):
    """:func:`read_synchronized` by a frame table: each camera's thread reads the frames of its row."""
    done = [False] * len(readers)
    with _decoding([r.frames_at(row[row >= 0]) for r, row in zip(readers, table.frames)], buffer) as queues:
        for t, step in enumerate(table.steps.tolist()):
            frames = []
            for c, q in enumerate(queues):
                wanted = table.frames[c, t] >= 0 and not done[c]
                item = _take(q) if wanted else None  # frames_at yields exactly the row's frames, in order
                done[c] = done[c] or item is _END
                frames.append(item[1] if wanted and not done[c] else None)
            if all(done):
                return
            yield step, frames

"""Live camera sources and the newest frame set of several of them.

``open_source(spec)``: a device index (``0``), a stream URL (``rtsp://``, ``http://`` ..., opened
with OpenCV) or a video file (checked by :class:`mocap.video.VideoReader`).

* A **device or stream** is read continuously by its own thread, which keeps only its newest frame
  (timestamped when read): a slow consumer sees the newest, the ones it missed are gone.
* A **video file** plays as a camera would film it, on one wall clock shared by every file:
  frame ``k`` is due at ``clock + k / fps`` and carries that time as its timestamp. It is decoded
  on demand: :meth:`VideoFileSource.read_at` decodes forward to the frame due now, skipping the
  ones in between with ``grab`` (a codec must still decode them, but they are not converted or
  kept). Decoding ahead of need would spend the CPU the pose model needs, and cameras decoded
  at different speeds would drift apart; on demand, every file gives the same instant.
  ``loop`` restarts a file at its end. When decoding cannot keep up (four 60 fps 1080p files and a
  pose model on two cores cannot), the files' clock **slips**: a set never asks for more than
  ``max_skip`` seconds of video past the previous one, so the backlog, and the latency, stay
  bounded; the seconds slipped are counted (``FrameSets.slipped``).

:class:`FrameSets` hands out the newest set: for files the frame due now in every file (decoded
in parallel, one thread per camera), for devices each one's newest frame; never one it already
gave.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mocap.errors import InputFileError, SettingsError
from mocap.video import VideoReader


@dataclass(frozen=True, eq=False)
class CameraFrame:
    index: int  # frame number (files: in the file, counting loops; devices: since opened)
    timestamp: float  # Unix seconds: when it was (or, for a file, would have been) captured
    image: np.ndarray  # BGR uint8


class VideoFileSource:
    """A video file played in real time on a shared clock (see the module doc)."""

    is_file = True

    def __init__(self, path, *, loop: bool = False):
        reader = VideoReader(path)  # checks the file; InputFileError naming it
        self.path, self.loop, self.name = Path(path), loop, reader.name
        self.fps, self.size = reader.info.fps, (reader.info.width, reader.info.height)
        self.ended = False
        self.decoded = self.skipped = 0
        self._cap = None
        self._next = 0  # index of the next frame the capture would give
        self._offset = 0  # frames of the loops before the current one
        self._clock = None

    def start(self, clock: float | None = None) -> "VideoFileSource":
        self._clock = time.time() if clock is None else clock
        self._cap = cv2.VideoCapture(str(self.path))
        return self

    def due(self, now: float | None = None) -> int:
        """The frame due at ``now`` (-1 before the clock starts)."""
        now = time.time() if now is None else now
        return int(np.floor((now - self._clock) * self.fps))

    def slip(self, seconds: float) -> None:
        """Hold the clock back: frames become due ``seconds`` later."""
        self._clock += seconds

    def timestamp(self, index: int) -> float:
        return self._clock + index / self.fps

    def _grab(self) -> bool:
        """Move past one frame (the codec decodes it); at the end loop, or end (False)."""
        for _ in range(2):
            if self._cap.grab():
                self._next += 1
                return True
            if not self.loop or self._next == self._offset:  # nothing read since (re)opening
                break
            self._cap.release()
            self._cap = cv2.VideoCapture(str(self.path))
            self._offset = self._next
        self.ended = True
        return False

    def read_at(self, index: int) -> CameraFrame | None:
        """Frame ``index`` (decoding forward to it), or None when the file ended before it."""
        if self.ended or index < self._next:
            return None
        while self._next < index:
            if not self._grab():
                return None
            self.skipped += 1
        if not self._grab():
            return None
        ok, image = self._cap.retrieve()
        if not ok:
            self.ended = True
            return None
        self.decoded += 1
        return CameraFrame(index, self.timestamp(index), image)

    def stop(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class DeviceSource:
    """A camera device (index) or a stream URL, read by its own thread through OpenCV."""

    is_file = False

    def __init__(self, spec: str):
        self.spec = spec
        self.name = f"cam{spec}" if spec.isdigit() else (spec.rstrip("/").rsplit("/", 1)[-1] or "stream")
        self._cap = cv2.VideoCapture(int(spec) if spec.isdigit() else spec)
        if not self._cap.isOpened():
            self._cap.release()
            raise SettingsError(f"camera {spec!r} cannot be opened (no such device, or the stream is unreachable)")
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or 30.0
        self.size = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.ended = False
        self.error: Exception | None = None
        self.decoded = 0
        self._latest: CameraFrame | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, clock: float | None = None) -> "DeviceSource":
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}", daemon=True)
        self._thread.start()
        return self

    def _run(self):
        try:
            while not self._stop.is_set():
                ok, image = self._cap.read()
                if not ok:
                    return
                with self._lock:
                    self._latest = CameraFrame(self.decoded, time.time(), image)
                self.decoded += 1
        except Exception as exc:  # handed to the consumer
            self.error = exc
        finally:
            self.ended = True
            self._cap.release()

    def latest(self) -> CameraFrame | None:
        with self._lock:
            return self._latest

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def open_source(spec, *, loop: bool = False):
    text = str(spec)
    if text.isdigit() or "://" in text:
        return DeviceSource(text)
    if not Path(text).exists():
        raise InputFileError("camera is neither a device index, a stream URL nor an existing video file", text)
    return VideoFileSource(text, loop=loop)


class FrameSets:
    """The newest frame set of ``sources`` each time :meth:`next` is called (see the module doc)."""

    def __init__(self, sources, max_skip: float = 0.5):
        self.sources = list(sources)
        self.max_skip = max_skip
        self.slipped = 0.0  # seconds the files' clock was held back
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(self.sources)), thread_name_prefix="decode")
        self._last_file = -1
        self._last_device: list = [None] * len(self.sources)

    @property
    def ended(self) -> bool:
        return any(s.ended for s in self.sources)

    def next(self, stop: threading.Event | None = None, poll: float = 0.002):
        """The next set (list of CameraFrame), or None once a source ended or ``stop`` is set."""
        files = [s for s in self.sources if s.is_file]
        while not (stop is not None and stop.is_set()) and not self.ended:
            for s in self.sources:
                if getattr(s, "error", None) is not None:
                    raise s.error
            index = min((s.due() for s in files), default=0)
            if files and self._last_file >= 0:
                fps = min(s.fps for s in files)
                excess = (index - self._last_file) / fps - self.max_skip
                if excess > 0:  # decoding is behind: hold the clock back rather than let the backlog grow
                    for s in files:
                        s.slip(excess)
                    self.slipped += excess
                    index = min(s.due() for s in files)
            devices = [None if s.is_file else s.latest() for s in self.sources]
            fresh_devices = all(d is not None and d is not self._last_device[i]
                                for i, d in enumerate(devices) if not self.sources[i].is_file)
            if index <= self._last_file or index < 0 or not fresh_devices:
                time.sleep(poll)
                continue
            decoded = dict(zip(files, self._pool.map(lambda s: s.read_at(index), files)))
            if any(f is None for f in decoded.values()):
                return None
            self._last_file = index if files else self._last_file
            self._last_device = devices
            return [decoded[s] if s.is_file else devices[i] for i, s in enumerate(self.sources)]
        return None

    def close(self) -> None:
        self._pool.shutdown(wait=True)

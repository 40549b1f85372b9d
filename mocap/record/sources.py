"""Where frames come from: a camera device, a stream URL, or a video file standing in for a camera.

:func:`open_source` tells them apart (digits or ``/dev/...``: a device; ``scheme://``: a stream;
else a video file that must exist) and opens it, checking that a first frame arrives within
``timeout`` seconds. Every source's :meth:`~Source.read` returns one frame and the
``time.monotonic_ns()`` at the middle of its grab, or None when the source failed or ended.

A video file plays at its own rate (or ``fps``) from :meth:`~Source.start`: frame k becomes
available at ``start + k / fps``, like a camera's; a reader that falls more than ``buffer``
frames behind loses the oldest ones (a V4L2 camera queues 4 buffers), and the file's own frame
numbers say exactly which were dropped.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import cv2
import numpy as np

from mocap.errors import InputFileError

FILE_BUFFER = 4  # frames a file source holds for a late reader, as a V4L2 driver queues


@contextlib.contextmanager
def _opencv_quiet():
    """OpenCV's own warnings (timeouts, failed backends) would repeat our clearer message."""
    previous = cv2.getLogLevel() if hasattr(cv2, "getLogLevel") else None
    cv2.setLogLevel(0)  # silent
    try:
        yield
    finally:
        if previous is not None:
            cv2.setLogLevel(previous)


def kind_of(spec: str) -> str:
    spec = str(spec)
    if spec.isdigit() or spec.startswith("/dev/"):
        return "device"
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", spec):
        return "stream"
    return "file"


def default_name(spec: str, position: int) -> str:
    kind = kind_of(spec)
    if kind == "device":
        return f"cam{re.sub(r'[^0-9]', '', spec) or position}"
    if kind == "stream":
        return f"stream{position}"
    return Path(spec).stem


class Source:
    """One camera. ``read()`` -> ``(frame, t_ns, number)`` or None; ``number`` is the file's own
    frame number for file sources (None for cameras, whose drops show in their timestamps)."""

    kind = "camera"

    def __init__(self, spec: str, *, fps: float | None = None, size=None, timeout: float = 10.0):
        self.spec, self.asked_fps, self.asked_size, self.timeout = str(spec), fps, size, timeout
        self.cap = None
        self.fps = float(fps) if fps else 0.0

    def _capture(self) -> cv2.VideoCapture:
        raise NotImplementedError

    def open(self) -> None:
        """Open and wait for a first frame (kept for the first read); InputFileError on failure."""
        with _opencv_quiet():
            self.cap = self._capture()
            if not self.cap.isOpened():
                raise InputFileError(self._no_open_message(), self.spec)
            if self.asked_size:
                self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.asked_size[0])
                self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.asked_size[1])
            if self.asked_fps:
                self.cap.set(cv2.CAP_PROP_FPS, self.asked_fps)
            reported = self.cap.get(cv2.CAP_PROP_FPS)
            if not self.asked_fps and reported and np.isfinite(reported) and 1 <= reported <= 1000:
                self.fps = float(reported)
            self._first = self._grab()
        if self._first is None:
            self.close()
            raise InputFileError(f"opened, but no frame came within {self.timeout:g} s", self.spec)

    def _no_open_message(self) -> str:
        return "does not open"

    def start(self, t0_ns: int) -> None:
        """Every source is started at one moment (file sources start playing then)."""

    def _grab(self):
        before = time.monotonic_ns()
        ok = self.cap.grab()
        after = time.monotonic_ns()
        if not ok:
            return None
        ok, frame = self.cap.retrieve()
        return (frame, (before + after) // 2, None) if ok and frame is not None else None

    def read(self):
        if getattr(self, "_first", None) is not None:
            first, self._first = self._first, None
            return first
        with _opencv_quiet():
            return self._grab()

    def reopen(self) -> bool:
        """After a failure: try once to open again (True when frames come again)."""
        self.close()
        try:
            self.open()
        except InputFileError:
            return False
        return True

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None

    @property
    def ended(self) -> bool:
        """A file that played to its end (a camera never ends; it fails)."""
        return False


class DeviceSource(Source):
    kind = "device"

    def _capture(self):
        target = int(self.spec) if self.spec.isdigit() else self.spec
        return cv2.VideoCapture(target)

    def _no_open_message(self) -> str:
        import glob

        found = sorted(glob.glob("/dev/video*"))
        present = f"devices present: {', '.join(found)}" if found else "no /dev/video* device is present"
        return f"camera device does not open (not connected, in use by another program, or no permission; {present})"


class StreamSource(Source):
    kind = "stream"

    def _capture(self):
        ms = int(self.timeout * 1000)
        return cv2.VideoCapture(self.spec, cv2.CAP_FFMPEG,
                                [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])

    def _no_open_message(self) -> str:
        return (f"the stream did not deliver within {self.timeout:g} s (nothing sent, not a video stream, or "
                f"unreachable)")


class FileSource(Source):
    """A video file played as a camera (module doc)."""

    kind = "file"

    def __init__(self, spec: str, *, fps=None, size=None, timeout: float = 10.0, buffer: int = FILE_BUFFER):
        super().__init__(spec, fps=fps, size=None, timeout=timeout)
        self.buffer = buffer
        self._t0 = None
        self._next = 0  # the file's next frame number
        self._done = False

    def _capture(self):
        return cv2.VideoCapture(self.spec)

    def open(self) -> None:
        path = Path(self.spec)
        if not path.is_file():
            raise InputFileError("not a camera index, a stream URL or an existing video file", self.spec)
        from mocap.video import VideoReader

        info = VideoReader(path).info  # checks it is a readable video
        self.fps = float(self.asked_fps or info.fps)
        with _opencv_quiet():
            self.cap = self._capture()

    def start(self, t0_ns: int) -> None:
        self._t0 = t0_ns

    def _due(self, k: int) -> int:
        return self._t0 + int(round(k * 1e9 / self.fps))

    def read(self):
        if self._done or self.cap is None:
            return None
        now = time.monotonic_ns()
        wait = self._due(self._next) - now
        if wait > 0:
            time.sleep(wait / 1e9)
        else:  # late: frames older than the buffer holds are gone
            newest = int((now - self._t0) * self.fps // 1e9)
            while newest - self._next >= self.buffer:
                if not self.cap.grab():
                    self._done = True
                    return None
                self._next += 1
        before = time.monotonic_ns()
        ok, frame = self.cap.read()
        after = time.monotonic_ns()
        if not ok or frame is None:
            self._done = True
            return None
        number = self._next
        self._next += 1
        return frame, (before + after) // 2, number

    def reopen(self) -> bool:
        return False

    @property
    def ended(self) -> bool:
        return self._done


def open_source(spec: str, *, fps: float | None = None, size=None, timeout: float = 10.0) -> Source:
    """The source for ``spec`` (module doc), opened; InputFileError naming it when it cannot be."""
    cls = {"device": DeviceSource, "stream": StreamSource, "file": FileSource}[kind_of(spec)]
    source = cls(spec, fps=fps, size=size, timeout=timeout)
    source.open()
    return source

"""A camera device or a stream URL, opened through OpenCV with a time-out.

:meth:`Camera.open` opens it, asks for the frame size and rate (a camera may ignore both), and
waits for a first frame (kept for the first :meth:`~Camera.grab`): a stream is opened by FFmpeg
with open and read time-outs of ``timeout`` seconds, so a server that accepts and never sends
fails in that time. When it does not open or never delivers, one :class:`InputFileError` names
the spec and says which. :meth:`~Camera.grab` returns the next :class:`Frame`, stamped with
``time.monotonic_ns()`` at the middle of the grab (OpenCV's ``grab`` is the moment the driver
hands the frame over; decoding it, ``retrieve``, comes after), or None once the camera failed;
:meth:`~Camera.reopen` tries once to open it again.
"""

from __future__ import annotations

import contextlib
import glob
import threading
import time

import cv2
import numpy as np

from mocap.cameras.frame import Frame
from mocap.cameras.spec import default_name, kind_of
from mocap.errors import InputFileError

_quiet_lock = threading.Lock()
_quiet_users = 0
_quiet_saved = None


@contextlib.contextmanager
def opencv_quiet():
    """OpenCV's own warnings (time-outs, failed backends) would repeat our clearer message.

    OpenCV's log level is one setting of the process: the level is restored when the last of
    the threads inside this block leaves it (not by each, which could restore "silent").
    """
    global _quiet_users, _quiet_saved
    if not hasattr(cv2, "getLogLevel"):
        yield
        return
    with _quiet_lock:
        if _quiet_users == 0:
            _quiet_saved = cv2.getLogLevel()
            cv2.setLogLevel(0)  # silent
        _quiet_users += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_users -= 1
            if _quiet_users == 0:
                cv2.setLogLevel(_quiet_saved)


class Camera:
    """A device (``0``, ``/dev/video2``) or stream (``rtsp://...``), see the module doc.

    ``fps``: the rate asked, else the one the camera reports (0.0 when it reports none that is
    plausible: the caller decides what an unknown rate means). ``delivered`` counts frames
    since first opened (a reopened camera goes on counting); it is each frame's ``index``.
    """

    def __init__(self, spec, *, fps: float | None = None, size=None, timeout: float = 10.0, name: str | None = None):
        self.spec = str(spec)
        self.kind = kind_of(self.spec)
        if self.kind == "file":
            raise ValueError(f"{self.spec!r} is a file, not a camera")
        self.name = name or default_name(self.spec, 0)
        self.asked_fps, self.asked_size, self.timeout = fps, size, timeout
        self.fps = float(fps) if fps else 0.0
        self.delivered = 0
        self._cap = None
        self._first: Frame | None = None

    def _capture(self) -> cv2.VideoCapture:
        if self.kind == "device":
            return cv2.VideoCapture(int(self.spec) if self.spec.isdigit() else self.spec)
        ms = int(self.timeout * 1000)
        return cv2.VideoCapture(self.spec, cv2.CAP_FFMPEG,
                                [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])

    def _no_open_message(self) -> str:
        if self.kind == "stream":
            return (f"the stream did not deliver within {self.timeout:g} s (nothing sent, not a video stream, or "
                    f"unreachable)")
        found = sorted(glob.glob("/dev/video*"))
        present = f"devices present: {', '.join(found)}" if found else "no /dev/video* device is present"
        return f"camera device does not open (not connected, in use by another program, or no permission; {present})"

    def open(self) -> "Camera":
        """Open and wait for a first frame; InputFileError naming the spec when either fails."""
        with opencv_quiet():
            self._cap = self._capture()
            if not self._cap.isOpened():
                self.close()
                raise InputFileError(self._no_open_message(), self.spec)
            if self.asked_size:
                self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.asked_size[0])
                self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.asked_size[1])
            if self.asked_fps:
                self._cap.set(cv2.CAP_PROP_FPS, self.asked_fps)
            reported = self._cap.get(cv2.CAP_PROP_FPS)
            if not self.asked_fps and reported and np.isfinite(reported) and 1 <= reported <= 1000:
                self.fps = float(reported)
            self._first = self._grab()
        if self._first is None:
            self.close()
            raise InputFileError(f"opened, but no frame came within {self.timeout:g} s", self.spec)
        return self

    def _grab(self) -> Frame | None:
        if self._cap is None:
            return None
        before = time.monotonic_ns()
        ok = self._cap.grab()
        after = time.monotonic_ns()
        if not ok:
            return None
        ok, image = self._cap.retrieve()
        if not ok or image is None:
            return None
        frame = Frame(self.delivered, (before + after) // 2, image)
        self.delivered += 1
        return frame

    def grab(self) -> Frame | None:
        """The next frame (the one kept by :meth:`open` first), or None when the camera failed."""
        if self._first is not None:
            first, self._first = self._first, None
            return first
        with opencv_quiet():
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
        if self._cap is not None:
            self._cap.release()
            self._cap = None

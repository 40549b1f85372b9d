"""A video file standing in for a camera: it plays at its own rate (or the one asked) from the
moment it is started, and its frames keep the file's own frame numbers.

After :meth:`VideoFile.start` on a :class:`~mocap.cameras.Clock`, frame ``k`` is due at
``start + k / fps`` on the monotonic clock and is stamped with that time (when a camera would
have captured it; :mod:`mocap.cameras.frame`). :meth:`~VideoFile.read_at` decodes forward to
the frame asked, moving past the ones in between with ``grab`` (the codec still decodes them,
but they are not converted or kept) and never back: which frame to ask for is the reader's
policy (every frame with a small buffer for a late reader, or the newest due). :meth:`~VideoFile.slip`
holds the schedule back. With ``loop`` the file starts again at its end and the frame numbers
go on counting (frame ``n_frames + 3`` is the fourth frame again).
"""

from __future__ import annotations

import math
import time

import cv2

from mocap.cameras.frame import Clock, Frame
from mocap.video import VideoReader


class VideoFile:
    """A video file played as a camera (module doc); ``InputFileError`` naming it when it is not a
    readable video."""

    kind = "file"

    def __init__(self, spec, *, fps: float | None = None, loop: bool = False, name: str | None = None):
        reader = VideoReader(spec)  # checks the file
        self.spec, self.loop = str(spec), loop
        self.name = name or reader.name
        self.fps = float(fps or reader.info.fps)
        self.ended = False
        self.clock: Clock | None = None  # the instant it was started (frame 0 due, before any slip)
        self._t0 = 0  # when frame 0 is due, monotonic ns
        self._cap = cv2.VideoCapture(self.spec)
        self._next = 0  # the frame number the capture gives next
        self._offset = 0  # frames of the loops before the current one

    def start(self, clock=None) -> "VideoFile":
        """Frame 0 is due at ``clock`` (a Clock, Unix seconds, or None for now)."""
        self.clock = Clock.at(clock)
        self._t0 = self.clock.ns
        return self

    @property
    def next_index(self) -> int:
        """The frame a read that skips nothing gives."""
        return self._next

    def due(self, now_ns: int | None = None) -> int:
        """The newest frame due at ``now_ns`` (monotonic; default now); negative before the start."""
        now_ns = time.monotonic_ns() if now_ns is None else now_ns
        return math.floor((now_ns - self._t0) * self.fps / 1e9)

    def due_ns(self, index: int) -> int:
        """When frame ``index`` is due (monotonic ns): its capture time."""
        return self._t0 + round(index * 1e9 / self.fps)

    def slip(self, seconds: float) -> None:
        """Hold the schedule back: frames become due ``seconds`` later."""
        self._t0 += round(seconds * 1e9)

    def _grab(self) -> bool:
        """Move past one frame (the codec decodes it); at the end loop, or end (False)."""
        for _ in range(2):
            if self._cap.grab():
                self._next += 1
                return True
            if not self.loop or self._next == self._offset:  # nothing read since (re)opening
                break
            self._cap.release()
            self._cap = cv2.VideoCapture(self.spec)
            self._offset = self._next
        self.ended = True
        return False

    def read_at(self, index: int) -> Frame | None:
        """Frame ``index`` (decoding forward to it), or None when the file ended before it or
        ``index`` is already behind."""
        if self.ended or self._cap is None or index < self._next:
            return None
        while self._next < index:
            if not self._grab():
                return None
        if not self._grab():
            return None
        ok, image = self._cap.retrieve()
        if not ok or image is None:
            self.ended = True
            return None
        return Frame(index, self.due_ns(index), image)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

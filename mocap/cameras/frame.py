"""A captured frame, and the one clock capture times are on.

Every capture time is ``time.monotonic_ns()`` (integer nanoseconds): it never jumps when the
wall clock is set, it is what ``videos/<cam>_timestamps.csv`` holds, and it is one clock for
every camera of a process, so times compare across cameras. A device or stream frame is
stamped at the middle of its grab; a video file's frame ``k`` at the moment it is due on the
file's schedule (``start + k / fps``), when a camera would have captured it.

Consumers that need wall time (the live wire protocol's Unix timestamp) convert at their edge
with a :class:`Clock`: one instant read on both clocks, ``unix_of(t_ns) = unix + (t_ns - ns) / 1e9``.
Converting relative to a Clock keeps a file's frame times exact: on a Clock made from Unix
seconds ``u``, frame ``k`` of a 25 fps file is at exactly ``u + k / 25``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

# Unix nanoseconds minus monotonic nanoseconds, read once: every conversion in the process uses
# the same offset, so two sources started on the same Unix time start on the same nanosecond.
UNIX_OFFSET_NS = time.time_ns() - time.monotonic_ns()


@dataclass(frozen=True, eq=False)
class Frame:
    index: int  # a file's own frame number (counting loops); a camera's frames delivered since opened
    t_ns: int  # capture time, time.monotonic_ns() (module doc)
    image: np.ndarray  # BGR uint8, as OpenCV gives it


@dataclass(frozen=True)
class Clock:
    """One instant on both clocks: ``ns`` on ``time.monotonic_ns()``, ``unix`` in Unix seconds."""

    ns: int
    unix: float

    @classmethod
    def at(cls, when=None) -> "Clock":
        """``when``: a Clock (returned as it is), Unix seconds, or None for now."""
        if isinstance(when, Clock):
            return when
        if when is None:
            ns = time.monotonic_ns()
            return cls(ns, (ns + UNIX_OFFSET_NS) / 1e9)
        return cls(round(when * 1e9) - UNIX_OFFSET_NS, float(when))

    def after(self, seconds: float) -> "Clock":
        return Clock(self.ns + round(seconds * 1e9), self.unix + seconds)

    def unix_of(self, t_ns: int) -> float:
        """Unix seconds of the monotonic time ``t_ns``."""
        return self.unix + (t_ns - self.ns) / 1e9

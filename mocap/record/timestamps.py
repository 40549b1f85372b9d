"""``videos/<cam>_timestamps.csv``: one row per video frame, ``frame,timestamp_ns``.

``timestamp_ns`` is ``time.monotonic_ns()`` at the middle of the grab of that frame (one clock for
every camera of a recording, so timestamps compare across cameras). Frame numbers are the video
file's own, 0, 1, 2, ...; a dropped frame is not in the video, so it shows as a longer step
between two timestamps, never as a missing frame number.

:func:`frame_slots` assigns each frame its frame period (slot) from the timestamps, so dropped
frames (and a camera's outage) are counted and located.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mocap.errors import InputFileError
from mocap.fileio import read_text

HEADER = "frame,timestamp_ns"


def timestamps_path(videos_dir: str | os.PathLike, camera: str) -> Path:
    return Path(videos_dir) / f"{camera}_timestamps.csv"


def read_timestamps(path: str | os.PathLike) -> np.ndarray:
    """(N,) int64 nanoseconds of frames 0..N-1; InputFileError naming the file and line when the
    file is not ``frame,timestamp_ns`` rows with frames 0, 1, 2, ... and increasing times."""
    path = Path(path)
    lines = read_text(path).splitlines()
    if not lines or lines[0].strip().replace(" ", "") != HEADER:
        raise InputFileError(f"first line must be the header '{HEADER}'", path)
    values = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split(",")
        try:
            frame, ns = int(parts[0]), int(parts[1])
        except (ValueError, IndexError):
            raise InputFileError(f"line {number}: expected 'frame,timestamp_ns' integers, got {line!r}", path) from None
        if frame != len(values):
            raise InputFileError(f"line {number}: frame {frame} where frame {len(values)} was expected", path)
        if values and ns <= values[-1]:
            raise InputFileError(f"line {number}: timestamp {ns} is not after the previous one ({values[-1]})", path)
        values.append(ns)
    if len(values) < 2:
        raise InputFileError(f"holds {len(values)} frame(s); synchronization needs at least 2", path)
    return np.array(values, dtype=np.int64)


def frame_slots(timestamps_ns, period_ns: float | None = None) -> tuple[np.ndarray, float, float]:
    """``(slots, period_ns, start_ns)``: each frame's frame period and the camera's clock line.

    Frames are stepped by ``max(1, round(step / period))`` periods (``period`` given, else the
    median step), a line ``t = start + period * slot`` is fitted, and each frame is put on its
    nearest period of that line (kept increasing), then the line refitted: a late grab (jitter
    up to half a period) does not count as a drop, and a gap of n periods counts n - 1 dropped.
    """
    t = np.asarray(timestamps_ns, dtype=np.float64)
    if len(t) < 2:
        return np.zeros(len(t), np.int64), float(period_ns or np.nan), float(t[0]) if len(t) else np.nan
    steps = np.diff(t)
    period = float(period_ns) if period_ns else float(np.median(steps))
    slots = np.concatenate([[0], np.cumsum(np.maximum(1, np.rint(steps / period)))])
    for _ in range(2):
        period, start = np.polyfit(slots, t - t[0], 1)
        start += t[0]
        slots = np.rint((t - start) / period)
        slots = np.maximum.accumulate(slots - np.arange(len(t))) + np.arange(len(t))  # strictly increasing
        slots -= slots[0]
    period, start = np.polyfit(slots, t - t[0], 1)
    return slots.astype(np.int64), float(period), float(start + t[0])


def count_dropped(slots: np.ndarray) -> list[tuple[int, int]]:
    """``[(frame, periods missing after it), ...]`` from :func:`frame_slots`' slots."""
    gaps = np.diff(slots) - 1
    where = np.flatnonzero(gaps > 0)
    return [(int(f), int(gaps[f])) for f in where]


class TimestampsWriter:
    """Rows appended as frames come (flushed every ``flush_every`` rows and when closed)."""

    def __init__(self, path: str | os.PathLike, flush_every: int = 30):
        self.path = Path(path)
        self._file = open(self.path, "w", encoding="utf-8", newline="\n")
        self._file.write(HEADER + "\n")
        self._rows = 0
        self._flush_every = flush_every

    def write(self, frame: int, timestamp_ns: int) -> None:
        self._file.write(f"{frame},{timestamp_ns}\n")
        self._rows += 1
        if self._rows % self._flush_every == 0:
            self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

"""``mocap record``: several cameras at once, each in its own thread, written as frames come.

Every camera is opened first (:func:`mocap.cameras.open_all`: all at once, each within its
time-out); if any cannot be opened nothing is recorded. Then all are started
at one moment and each capture thread loops: take the next frame (on the monotonic clock: a
camera's stamped at the middle of its grab, a file's at its due time), encode it into the
camera's video and append its row to ``<cam>_timestamps.csv``; nothing is kept but the previous
frame (to count duplicates). Record's policy on top of :mod:`mocap.cameras`: every frame is taken;
a video file standing in for a camera plays at its rate and holds :data:`FILE_BUFFER` frames for
a late reader (older ones are lost, as from a camera driver's queue; the file's frame numbers
count them), and simply ends; a camera that stops delivering is reported with the time, the
others go on, and it is reopened every half second until it delivers again (its timestamps then
show the gap) or the recording ends.

The recording stops at ``duration``, when every source has ended, or at SIGINT / SIGTERM (Ctrl-C):
the threads finish the frame in hand, every writer is closed so each file is complete and
playable, and the files, written under hidden temporary names, are renamed into place. Per
camera: frames, dropped frames (from the file's frame numbers for file sources, else from the
timestamps: a step of n periods is n - 1 dropped), duplicated frames (identical to the previous
one) and failures, also written to ``videos/record.json``.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from mocap.cameras import Camera, Clock, Frame, VideoFile, default_name, open_all
from mocap.errors import OutputError, SettingsError
from mocap.fileio import atomic_write, make_output_folder, publish
from mocap.record.timestamps import TimestampsWriter, count_dropped, frame_slots, timestamps_path

CODECS = {"mp4v": ".mp4", "mjpg": ".avi"}
FILE_BUFFER = 4  # frames a file source holds for a late reader, as a V4L2 driver queues
REOPEN_EVERY = 0.5  # seconds between attempts to reopen a failed camera
SUMMARY = "record.json"


@dataclass(frozen=True)
class CameraReport:
    name: str
    source: str
    kind: str  # device, stream, file
    frames: int
    fps: float
    size: tuple[int, int]
    dropped: int
    duplicated: int
    failures: tuple[str, ...]
    end: str  # why it stopped: "stopped", "file ended", "failed"
    video: Path | None  # None when it never delivered a frame
    timestamps: Path | None


@dataclass(frozen=True)
class RecordResult:
    folder: Path
    cameras: tuple[CameraReport, ...]
    seconds: float
    interrupted: bool  # stopped by SIGINT / SIGTERM (or the caller's stop event)
    summary: Path


@dataclass
class _Capture:
    """One camera's thread state: its source, writers and counters."""

    name: str
    source: Camera | VideoFile
    video: Path
    stamps: Path
    codec: str
    size: tuple[int, int] | None
    t0: int = 0
    frames: int = 0
    duplicated: int = 0
    dropped_numbers: int = 0
    failures: list[str] = field(default_factory=list)
    end: str = "stopped"
    times: list[int] = field(default_factory=list)
    _writer: cv2.VideoWriter | None = None
    _csv: TimestampsWriter | None = None
    _tmp_video: Path | None = None
    _tmp_csv: Path | None = None
    _previous: np.ndarray | None = None
    _next_number: int = 0

    def _open_writers(self, frame: np.ndarray) -> None:
        folder = self.video.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.video.name}.", suffix=self.video.suffix, dir=folder)
        os.close(fd)
        self._tmp_video = Path(tmp)
        h, w = frame.shape[:2]
        self.size = self.size or (w, h)
        fps = self.source.fps or 30.0
        self._writer = cv2.VideoWriter(str(self._tmp_video), cv2.VideoWriter_fourcc(*self.codec), fps, self.size)
        if not self._writer.isOpened():
            raise OutputError(f"OpenCV cannot write {self.codec} video here", self._tmp_video)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.stamps.name}.", suffix=".csv", dir=folder)
        os.close(fd)
        self._tmp_csv = Path(tmp)
        self._csv = TimestampsWriter(self._tmp_csv)

    def _write(self, got: Frame) -> None:
        frame = got.image
        if self._writer is None:
            self._open_writers(frame)
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        if self._previous is not None and np.array_equal(frame, self._previous):
            self.duplicated += 1
        if self.source.kind == "file":  # its own frame numbers say which were lost
            self.dropped_numbers += got.index - self._next_number
            self._next_number = got.index + 1
        self._writer.write(frame)
        self._csv.write(self.frames, got.t_ns)
        self.times.append(got.t_ns)
        self.frames += 1
        self._previous = frame

    def _next_frame(self) -> Frame | None:
        """A camera's next grab; a file's next frame when it is due, or, for a reader more than
        FILE_BUFFER frames late, the oldest frame the buffer still holds."""
        source = self.source
        if source.kind != "file":
            return source.grab()
        index = max(source.next_index, source.due() - FILE_BUFFER + 1)
        wait = source.due_ns(index) - time.monotonic_ns()
        if wait > 0:
            time.sleep(wait / 1e9)
        return source.read_at(index)

    def run(self, stop: threading.Event, deadline: int | None) -> None:
        try:
            while not stop.is_set():
                got = self._next_frame()
                if got is None:
                    if self.source.kind == "file":
                        self.end = "file ended"
                        break
                    self._recover(stop)
                    continue
                if deadline is not None and got.t_ns >= deadline:
                    break
                self._write(got)
        except Exception as exc:  # one camera's error (a full disk, a codec) must not stop the others
            self.failures.append(f"stopped by an error after {self.frames} frames: {exc}")
            self.end = "failed"
        finally:
            self.source.close()
            self._close_writers()

    def _recover(self, stop: threading.Event) -> None:
        lost = (time.monotonic_ns() - self.t0) / 1e9
        message = f"no frame at {lost:.2f} s"
        while not stop.is_set():
            if self.source.reopen():
                self.failures.append(f"{message}; delivering again at {(time.monotonic_ns() - self.t0) / 1e9:.2f} s")
                return
            stop.wait(REOPEN_EVERY)
        self.failures.append(f"{message}; did not come back")
        self.end = "failed"

    def _close_writers(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if self._csv is not None:
            self._csv.close()

    def dropped(self) -> int:
        if self.source.kind == "file":
            return self.dropped_numbers
        if len(self.times) < 3:
            return 0
        period = 1e9 / self.source.fps if self.source.fps else None
        return sum(n for _, n in count_dropped(frame_slots(self.times, period)[0]))

    def publish(self) -> tuple[Path | None, Path | None]:
        """Rename the finished files into place (none when no frame came)."""
        if self.frames == 0:
            for tmp in (self._tmp_video, self._tmp_csv):
                if tmp is not None and tmp.exists():
                    tmp.unlink()
            return None, None
        publish(self._tmp_video, self.video)
        publish(self._tmp_csv, self.stamps)
        return self.video, self.stamps


def _check_settings(cameras, names, duration, fps, size, codec, timeout):
    if not cameras:
        raise SettingsError("give at least one camera (device index, stream URL or video file)")
    if duration is not None and not duration > 0:
        raise SettingsError(f"--duration must be positive seconds, got {duration}")
    if fps is not None and not fps > 0:
        raise SettingsError(f"--fps must be positive, got {fps}")
    if size is not None and (len(size) != 2 or min(size) <= 0):
        raise SettingsError(f"--size must be WIDTH HEIGHT in pixels, got {size}")
    if codec not in CODECS:
        raise SettingsError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    if not timeout > 0:
        raise SettingsError(f"--timeout must be positive seconds, got {timeout}")
    names = list(names) if names else [default_name(c, i) for i, c in enumerate(cameras)]
    if len(names) != len(cameras):
        raise SettingsError(f"{len(names)} names for {len(cameras)} cameras")
    for n in names:
        if not n or "/" in n or "\\" in n or n.startswith("."):
            raise SettingsError(f"camera name {n!r} cannot be a file name")
    seen: dict[str, int] = {}
    unique = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return unique


class _Signals:
    """SIGINT / SIGTERM set the stop event while recording (main thread only), then are restored."""

    def __init__(self, stop: threading.Event):
        self.stop, self.caught, self.saved = stop, False, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.saved[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.caught = True
        self.stop.set()

    def __exit__(self, *exc):
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        return False


def record(session_dir: str | os.PathLike, cameras, *, names=None, duration: float | None = None,
           fps: float | None = None, size=None, codec: str = "mp4v", timeout: float = 10.0,
           overwrite: bool = False, stop_event: threading.Event | None = None, progress: bool = True) -> RecordResult:
    """Record ``cameras`` (device indices, stream URLs, video files) into ``session_dir/videos/``.

    Writes ``<name>.mp4`` (``.avi`` for ``codec="mjpg"``), ``<name>_timestamps.csv`` per camera
    and ``record.json``; see the module doc. ``size`` (width, height) is asked of cameras, and any
    frame of another size is resized to it; ``fps`` is asked of cameras and is the rate file
    sources play at. Without ``duration`` it records until every source ended, or SIGINT/SIGTERM
    or ``stop_event``. Existing recordings are kept unless ``overwrite``.
    """
    cameras = [str(c) for c in cameras]
    names = _check_settings(cameras, names, duration, fps, size, codec, timeout)
    folder = Path(session_dir)
    videos = make_output_folder(folder / "videos")
    targets = [(videos / f"{n}{CODECS[codec]}", timestamps_path(videos, n)) for n in names]
    if not overwrite:
        for video, stamps in targets:
            for path in (video, stamps):
                if path.exists():
                    raise OutputError("already holds a recording; choose another folder or pass --overwrite", path)
    sources = open_all(cameras, names=names, fps=fps, size=tuple(size) if size else None, timeout=timeout)
    captures = [_Capture(n, s, v, t, codec.upper() if codec == "mjpg" else codec, tuple(size) if size else None)
                for n, s, (v, t) in zip(names, sources, targets)]
    stop = stop_event or threading.Event()
    with _Signals(stop):
        start = Clock.at().after(0.02)  # every source starts at one moment
        t0 = start.ns
        deadline = None if duration is None else t0 + int(duration * 1e9)
        for c in captures:
            c.t0 = t0
            if c.source.kind == "file":
                c.source.start(start)
        threads = [threading.Thread(target=c.run, args=(stop, deadline), name=f"record-{c.name}", daemon=True)
                   for c in captures]
        for t in threads:
            t.start()
        with tqdm(total=duration, unit="s", desc="recording", disable=not progress,
                  bar_format="{desc}: {n:.1f}/{total_fmt} s {postfix}" if duration else "{desc}: {n:.1f} s {postfix}") as bar:
            timed_out = False
            while any(t.is_alive() for t in threads):
                now = time.monotonic_ns()
                if deadline is not None and now >= deadline + 200_000_000 and not stop.is_set():
                    timed_out = True  # a source blocked past the end: its thread ends at its next frame
                    stop.set()
                bar.n = max(0.0, (now - t0) / 1e9)
                bar.set_postfix_str(" ".join(f"{c.name} {c.frames}" for c in captures), refresh=True)
                time.sleep(0.1)
        interrupted = stop.is_set() and not timed_out  # a signal, or the caller's stop event
        stop.set()
        for t in threads:
            t.join()
        seconds = (time.monotonic_ns() - t0) / 1e9
        reports = []
        for c in captures:
            video, stamps = c.publish()
            reports.append(CameraReport(c.name, c.source.spec, c.source.kind, c.frames, float(c.source.fps),
                                        tuple(c.size) if c.size else (0, 0), c.dropped(), c.duplicated,
                                        tuple(c.failures), c.end if c.frames else "failed", video, stamps))
        summary = videos / SUMMARY
        with atomic_write(summary) as f:
            json.dump({"seconds": round(seconds, 3), "interrupted": interrupted,
                       "cameras": [{"name": r.name, "source": r.source, "kind": r.kind, "frames": r.frames,
                                    "fps": r.fps, "size": list(r.size), "dropped": r.dropped,
                                    "duplicated": r.duplicated, "failures": list(r.failures), "end": r.end}
                                   for r in reports]}, f, indent=2)
    return RecordResult(folder, tuple(reports), seconds, interrupted, summary)

"""Live's camera policy: only the newest frames, video files on one shared clock, the newest set.

The sources are :mod:`mocap.cameras`' (a spec told apart and opened with a time-out, frames
grabbed and stamped on the monotonic clock, video files standing in for cameras); on top:

* A **device or stream** is read continuously by its own thread (:class:`NewestFrame`), which
  keeps only its newest frame: a slow consumer sees the newest, the ones it missed are gone.
* A **video file** plays as a camera would film it, every file started on one clock: frame ``k``
  is due at ``clock + k / fps`` and carries that time. It is decoded on demand: the frame set
  asks each file for the frame due now (:meth:`~mocap.cameras.VideoFile.read_at`, which skips
  the ones in between). Decoding ahead of need would spend the CPU the pose model needs, and
  cameras decoded at different speeds would drift apart; on demand, every file gives the same
  instant. ``loop`` restarts a file at its end. When decoding cannot keep up (four 60 fps 1080p
  files and a pose model on two cores cannot), the files' clock **slips**: a set never asks for
  more than ``max_skip`` seconds of video past the previous one, so the backlog, and the
  latency, stay bounded; the seconds slipped are counted (``FrameSets.slipped``).

:class:`FrameSets` hands out the newest set: for files the frame due now in every file (decoded
in parallel, one thread per camera), for devices each one's newest frame; never one it already
gave. Its frames carry Unix seconds (:class:`CameraFrame`), the clock of the live wire protocol,
converted from the capture times through the clock the sources were started on.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from mocap.cameras import Camera, Clock, Frame, open_all
from mocap.cameras import open_source as open_camera_source

DEFAULT_FPS = 30.0  # the rate of a camera that reports none


@dataclass(frozen=True, eq=False)
class CameraFrame:
    index: int  # frame number (files: in the file, counting loops; devices: since opened)
    timestamp: float  # Unix seconds: when it was (or, for a file, would have been) captured
    image: np.ndarray  # BGR uint8


class NewestFrame:
    """A device or stream read by its own thread, keeping only its newest frame (module doc)."""

    def __init__(self, camera: Camera):
        self.camera, self.name, self.kind = camera, camera.name, camera.kind
        self.fps = camera.fps or DEFAULT_FPS
        self.ended = False
        self.error: Exception | None = None
        self.clock: Clock | None = None
        self._latest: Frame | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, clock=None) -> "NewestFrame":
        """Start reading; ``clock`` (a Clock, Unix seconds, or None for now) converts its times."""
        self.clock = Clock.at(clock)
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}", daemon=True)
        self._thread.start()
        return self

    def _run(self):
        try:
            while not self._stop.is_set():
                frame = self.camera.grab()
                if frame is None:
                    return
                with self._lock:
                    self._latest = frame
        except Exception as exc:  # handed to the consumer
            self.error = exc
        finally:
            self.ended = True
            self.camera.close()

    def latest(self) -> Frame | None:
        with self._lock:
            return self._latest

    def close(self) -> None:
        self._stop.set()
        if self._thread is None:
            self.camera.close()
        else:  # the reader closes the camera itself, after the grab in hand
            self._thread.join(timeout=5)


def _live(source):
    return source if source.kind == "file" else NewestFrame(source)


def open_source(spec, *, loop: bool = False, timeout: float = 10.0, position: int = 0):
    """One of ``mocap live``'s sources: a video file as it is, a device or stream in its reader."""
    return _live(open_camera_source(spec, loop=loop, timeout=timeout, position=position))


def open_sources(specs, *, loop: bool = False, timeout: float = 10.0) -> list:
    """Every one of ``specs`` (:func:`mocap.cameras.open_all`: at once), as :func:`open_source` gives."""
    return [_live(s) for s in open_all(specs, loop=loop, timeout=timeout)]


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

    def next(self, stop: threading.Event | None = None, poll: float = 0.002) -> list[CameraFrame] | None:
        """The next set, or None once a source ended or ``stop`` is set."""
        files = [s for s in self.sources if s.kind == "file"]
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
            devices = [None if s.kind == "file" else s.latest() for s in self.sources]
            fresh_devices = all(d is not None and d is not self._last_device[i]
                                for i, d in enumerate(devices) if self.sources[i].kind != "file")
            if index <= self._last_file or index < 0 or not fresh_devices:
                time.sleep(poll)
                continue
            decoded = dict(zip(files, self._pool.map(lambda s: s.read_at(index), files)))
            if any(f is None for f in decoded.values()):
                return None
            self._last_file = index if files else self._last_file
            self._last_device = devices
            frames = [decoded[s] if s.kind == "file" else devices[i] for i, s in enumerate(self.sources)]
            return [CameraFrame(f.index, s.clock.unix_of(f.t_ns), f.image) for s, f in zip(self.sources, frames)]
        return None

    def close(self) -> None:
        self._pool.shutdown(wait=True)

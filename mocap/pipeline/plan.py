"""What a session holds before any stage runs: its cameras and their videos, checked against each other.

:func:`plan_session` finds one video per camera in ``videos/`` (or the ``[session] cameras`` listed),
opens each (a missing, empty or undecodable file is an error naming it), and compares them:

* frame rates must agree within 0.5 % (container rates such as 59.94 and 60 do; anything further
  apart cannot be triangulated frame by frame): an error listing every camera's rate otherwise;
  ``[session] fps`` replaces the rates the files state;
* lengths may differ: the run uses the first frames every video has, and says so in a warning
  (``length_warning``; not given when the videos are synchronized, whose lengths differ anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.errors import InputFileError, SettingsError
from mocap.session import Session, SessionSettings

RATE_TOLERANCE = 0.005


@dataclass(frozen=True)
class CameraVideo:
    name: str
    path: Path
    width: int
    height: int
    fps: float
    n_frames: int  # as the container says (0: unknown)


@dataclass(frozen=True)
class SessionPlan:
    cameras: tuple[CameraVideo, ...]
    fps: float  # the videos' frame rate
    n_frames: int  # frames every video has (0: unknown)
    warnings: tuple[str, ...] = ()
    length_warning: str | None = None  # one of the warnings: the videos' lengths differ

    def synchronized(self) -> "SessionPlan":
        """This plan for synchronized videos: their lengths differing is no news."""
        import dataclasses

        return dataclasses.replace(self, warnings=tuple(w for w in self.warnings if w != self.length_warning),
                                   length_warning=None)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cameras]

    @property
    def paths(self) -> list[Path]:
        return [c.path for c in self.cameras]

    @property
    def single_camera(self) -> bool:
        return len(self.cameras) == 1


def _listing(values: dict, unit: str) -> str:
    return ", ".join(f"{name} {value:g}{unit}" for name, value in values.items())


def session_videos(session: Session, settings: SessionSettings) -> list[Path]:
    """The video file of each camera, in camera order (InputFileError / SettingsError naming what is wrong)."""
    from mocap.video import VIDEO_SUFFIXES

    folder = session.videos_dir
    if not folder.is_dir():
        raise InputFileError("folder not found: put one video per camera here (the file stem is the camera "
                             "name), or run `mocap init` on the session", folder)
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES
                   and not p.name.startswith("."))
    if not files:
        raise InputFileError(f"holds no video ({', '.join(VIDEO_SUFFIXES)}); put one video per camera here "
                             "(the file stem is the camera name)", folder)
    by_name: dict[str, Path] = {}
    for f in files:
        if f.stem in by_name:
            raise InputFileError(f"two videos for camera {f.stem!r}: {by_name[f.stem].name} and {f.name}", folder)
        by_name[f.stem] = f
    wanted = list(settings["session"]["cameras"])
    if not wanted:
        return list(by_name.values())
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise SettingsError(f"[session] cameras lists {', '.join(missing)}, which videos/ lacks; videos/ holds "
                            f"{', '.join(by_name)}", settings.path)
    return [by_name[n] for n in wanted]


def plan_session(session: Session, settings: SessionSettings) -> SessionPlan:
    """The cameras of ``session`` with their videos checked (see the module docstring)."""
    from mocap.video import VideoReader

    infos = [VideoReader(p).info for p in session_videos(session, settings)]
    override = settings["session"]["fps"]
    rates = {i.path.stem: i.fps for i in infos}
    warnings = []
    if override > 0:
        fps = float(override)
    else:
        low, high = min(rates.values()), max(rates.values())
        if high > low * (1 + RATE_TOLERANCE):
            slowest = min(rates, key=rates.get)
            raise InputFileError(
                f"the videos have different frame rates: {_listing(rates, ' fps')} ({slowest} is "
                f"{(1 - low / high):.1%} slower than the fastest). Their frames cannot be paired in time: "
                "re-encode them to one rate, or set [session] fps if a file states its rate wrong. Nothing "
                "was run", session.videos_dir)
        fps = float(np.median(list(rates.values())))
        if high != low:
            warnings.append(f"the videos' frame rates differ slightly ({_listing(rates, ' fps')}); using {fps:g} fps")
    counts = {i.path.stem: i.n_frames for i in infos}
    known = [n for n in counts.values() if n > 0]
    n_frames = min(known) if known else 0
    length_warning = None
    if known and max(known) != n_frames:
        longer = {k: v for k, v in counts.items() if v != n_frames}
        length_warning = (f"the videos have different lengths: {_listing(counts, ' frames')}; using the first "
                          f"{n_frames} frames of each (" + ", ".join(f"{k} loses its last {v - n_frames}"
                                                                    for k, v in longer.items()) + ")")
        warnings.append(length_warning)
    cameras = tuple(CameraVideo(i.path.stem, i.path, i.width, i.height, float(fps if override > 0 else i.fps),
                                i.n_frames) for i in infos)
    return SessionPlan(cameras, fps, n_frames, tuple(warnings), length_warning)

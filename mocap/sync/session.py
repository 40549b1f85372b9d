"""``mocap sync DIR``: find each camera's offset with the method the session allows, write sync.toml.

Methods, and what each needs from the session folder:

* ``timestamps``: ``videos/<cam>_timestamps.csv`` for every camera (``mocap record`` writes them);
  gives drift and dropped frames too.
* ``audio``: an audio track in every video (decoded with PyAV).
* ``motion``: ``output/pose2d.npz`` of the unsynchronized videos (every camera's step t is its own
  frame ``frame_index[t]``), e.g. from ``mocap pose2d`` before any sync.
* ``manual``: offsets given by the user (``offsets={"cam02": 7}``: cam02's frame 7 is the
  reference's frame 0).
* ``auto``: the first of timestamps, audio, motion the session has, saying in ``note`` what it
  used and why it passed over the others.

Offsets are in frames of the reference camera (default: the first camera by name). Each camera
has a confidence in [0, 1]; one below ``min_confidence`` becomes a warning naming the camera, as
does a drift that adds up to half a frame over the recording, dropped frames, and a common range
shorter than half the shortest clip: they are in ``SyncResult.warnings`` and in sync.toml (the
command line prints them).
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import numpy as np

from mocap.errors import InputFileError, SettingsError
from mocap.fileio import make_output_folder
from mocap.sync.result import SYNC_FILE, CameraSync, SyncResult, common_range, save_sync

METHODS = ("auto", "timestamps", "audio", "motion", "manual")
AUTO_ORDER = ("timestamps", "audio", "motion")
FPS_TOLERANCE = 0.02  # cameras whose frame rates differ more cannot share whole-frame offsets
MIN_MOTION_STEPS = 10


class _Session:
    """What a session folder holds for synchronization: cameras, their videos, frame counts, rates."""

    def __init__(self, folder: Path, pose2d: Path | None, cameras=None, keypoints=None):
        from mocap.video import VIDEO_SUFFIXES, VideoReader

        if not folder.is_dir():
            raise InputFileError("session folder not found" if not folder.exists() else "not a folder", folder)
        self.folder = folder
        self.videos_dir = folder / "videos"
        self.pose2d = pose2d if pose2d is not None else folder / "output" / "pose2d.npz"
        videos = sorted(p for p in self.videos_dir.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()) \
            if self.videos_dir.is_dir() else []
        self.videos = {p.stem: p for p in videos}
        if cameras is not None:
            missing = [n for n in cameras if n not in self.videos]
            if missing:
                raise InputFileError(f"no video for camera {missing[0]}", self.videos_dir)
            self.videos = {n: self.videos[n] for n in cameras}
        self.info = {name: VideoReader(p).info for name, p in self.videos.items()}
        self._kp2d = keypoints  # given keypoints stand in for the pose2d file
        if self.videos:
            self.names = list(self.videos)
        elif self.pose2d.is_file():
            self.names = list(self.keypoints().camera_names)
        else:
            raise InputFileError("no videos in videos/ and no output/pose2d.npz: nothing to synchronize", folder)
        if len(self.names) < 2:
            raise InputFileError(f"has one camera ({self.names[0]}); synchronization needs two or more",
                                 self.videos_dir if self.videos else self.pose2d)

    def keypoints(self):
        if self._kp2d is None:
            from mocap.data import Keypoints2D

            self._kp2d = Keypoints2D.load(self.pose2d)
        return self._kp2d

    def n_frames(self, name: str) -> int:
        if name in self.info:
            if self.info[name].n_frames <= 0:  # the container does not say: count them
                from mocap.video import VideoReader

                self.info[name] = dataclasses.replace(self.info[name],
                                                      n_frames=VideoReader(self.videos[name]).count_frames())
            return self.info[name].n_frames
        return int(self.keypoints().frame_index[-1]) + 1

    def fps(self, name: str) -> float:
        return self.info[name].fps if name in self.info else self.keypoints().fps * self._stride()

    def _stride(self) -> int:
        d = np.diff(self.keypoints().frame_index)
        return int(d[0]) if d.size else 1

    def timestamps_file(self, name: str) -> Path:
        from mocap.record.timestamps import timestamps_path

        return timestamps_path(self.videos_dir, name)

    def why_not(self, method: str) -> str | None:
        """None when ``method`` can run on this session, else the reason it cannot (naming a file)."""
        if method == "timestamps":
            missing = [self.timestamps_file(n) for n in self.names if not self.timestamps_file(n).is_file()]
            return f"no timestamps file {missing[0]}" if missing else None
        if method == "audio":
            from mocap.sync.audio import has_audio

            if not self.videos:
                return f"no videos in {self.videos_dir}"
            silent = [p for p in self.videos.values() if not has_audio(p)]
            return f"{silent[0]} has no audio track" if silent else None
        if method == "motion":
            if self._kp2d is None and not self.pose2d.is_file():
                return f"no 2D keypoints {self.pose2d} (run `mocap pose2d` on the unsynchronized videos)"
            missing = [n for n in self.names if n not in self.keypoints().camera_names]
            if missing:
                return f"{self.pose2d} has no keypoints for camera {missing[0]}"
            return None
        return None


def sync_session(session_dir: str | os.PathLike, method: str = "auto", *, reference: str | None = None,
                 offsets: dict[str, float] | None = None, max_offset: float | None = None,
                 min_confidence: float = 0.5, pose2d: str | os.PathLike | None = None,
                 output: str | os.PathLike | None = None, cameras=None, keypoints=None) -> SyncResult:
    """Synchronize a session's cameras and write ``output/sync.toml`` (or ``output``).

    max_offset: the largest offset to look for, in seconds (default: what keeps half of the
    shortest clip in common). cameras: the cameras to synchronize, in order (default every video,
    by name). keypoints: the unsynchronized 2D keypoints for motion sync (a ``Keypoints2D``),
    instead of the ``pose2d`` file. Raises InputFileError / SettingsError naming the file or setting.
    """
    result = measure_sync(session_dir, method, reference=reference, offsets=offsets, max_offset=max_offset,
                          min_confidence=min_confidence, pose2d=pose2d, cameras=cameras, keypoints=keypoints)
    out = Path(output) if output is not None else Path(session_dir) / SYNC_FILE
    make_output_folder(out.parent)
    save_sync(result, out)
    return result


def measure_sync(session_dir: str | os.PathLike, method: str = "auto", *, reference: str | None = None,
                 offsets: dict[str, float] | None = None, max_offset: float | None = None,
                 min_confidence: float = 0.5, pose2d: str | os.PathLike | None = None, cameras=None,
                 keypoints=None, origin: str = "mocap sync") -> SyncResult:
    """:func:`sync_session` without writing anything: the :class:`SyncResult` (``origin`` says
    who measured it: ``mocap run`` records its own)."""
    if method not in METHODS:
        raise SettingsError(f"unknown sync method {method!r}; choose one of {', '.join(METHODS)}")
    if not 0 <= min_confidence <= 1:
        raise SettingsError(f"min_confidence must be within 0..1, got {min_confidence}")
    asked = "manual" if offsets else method
    session = _Session(Path(session_dir), Path(pose2d) if pose2d is not None else None, cameras, keypoints)
    names = session.names
    reference = reference or names[0]
    if reference not in names:
        raise SettingsError(f"reference camera {reference!r} is not one of the session's cameras ({', '.join(names)})")
    ref = names.index(reference)
    rates = {n: session.fps(n) for n in names}
    if max(rates.values()) > min(rates.values()) * (1 + FPS_TOLERANCE):
        listing = ", ".join(f"{n} {f:g}" for n, f in rates.items())
        raise InputFileError(f"the cameras have different frame rates ({listing} fps); whole-frame offsets need one "
                             f"rate (record them at one rate, or convert the videos)", session.videos_dir)
    fps = rates[reference]
    shortest = min(names, key=session.n_frames)
    if max_offset is not None:
        if max_offset <= 0:
            raise SettingsError(f"max_offset must be positive, got {max_offset}")
        clip = session.n_frames(shortest) / fps
        if max_offset >= clip:
            raise SettingsError(f"a max offset of {max_offset:g} s is longer than the clip of {shortest} "
                                f"({clip:.2f} s): cameras that far apart share no frame")
    extra: list[str] = []  # warnings found while measuring
    if method == "manual" or offsets:
        method, note = "manual", "offsets given by the user"
        values = _manual(offsets or {}, names, ref)
        found = [{"offset": v, "confidence": 1.0} for v in values]
    else:
        method, note = _choose(session, method)
        found = _measure(session, method, ref, fps, max_offset, extra)
    cameras = [CameraSync(name=n, offset=float(f["offset"]), confidence=float(f["confidence"]), method=method,
                          n_frames=session.n_frames(n), fps=float(f.get("fps", rates[n])),
                          drift_ppm=float(f.get("drift_ppm", math.nan)), dropped=tuple(f.get("dropped", ())))
               for n, f in zip(names, found)]
    span = common_range(cameras)
    if span is None:
        far = max(cameras, key=lambda c: abs(c.offset))
        raise InputFileError(f"the cameras share no frame: {far.name}'s offset of {far.offset:+.1f} frames is longer "
                             f"than the clips ({', '.join(f'{c.name} {c.n_frames}' for c in cameras)} frames)",
                             session.folder)
    warnings = extra + _warnings(cameras, span, min_confidence, session.n_frames(shortest))
    result = SyncResult(method=method, requested=asked, reference=reference, fps=float(fps), first_frame=span[0],
                        stop_frame=span[1], cameras=tuple(cameras), note=note, warnings=tuple(warnings), origin=origin)
    return result


def _manual(offsets: dict[str, float], names: list[str], ref: int) -> list[float]:
    unknown = [n for n in offsets if n not in names]
    if unknown:
        raise SettingsError(f"offset given for {unknown[0]!r}, which is not a camera of the session "
                            f"({', '.join(names)})")
    values = [float(offsets.get(n, 0.0)) for n in names]
    if any(not math.isfinite(v) for v in values):
        raise SettingsError("offsets must be finite numbers of frames")
    return [v - values[ref] for v in values]


def first_available(session_dir: str | os.PathLike, order=AUTO_ORDER, *, cameras=None,
                    keypoints=None) -> tuple[str | None, str]:
    """The first method of ``order`` the session allows, and a note saying why the ones before it
    could not be used; ``(None, note)`` when none can (what ``auto`` picks from)."""
    return _first(_Session(Path(session_dir), None, cameras, keypoints), order)


def _first(session: _Session, order) -> tuple[str | None, str]:
    passed = []
    for candidate in order:
        reason = session.why_not(candidate)
        if reason is None:
            return candidate, f"auto: used {candidate}" + (f" ({', '.join(passed)})" if passed else "")
        passed.append(f"not {candidate}: {reason}")
    return None, "; ".join(passed)


def _choose(session: _Session, method: str) -> tuple[str, str]:
    if method != "auto":
        reason = session.why_not(method)
        if reason is not None:
            raise InputFileError(f"{method} sync is not possible: {reason}", session.folder)
        return method, f"{method} sync, as asked"
    found, note = _first(session, AUTO_ORDER)
    if found is None:
        raise InputFileError(f"nothing to synchronize with: {note}; or give the offsets (--offset CAM=FRAMES)",
                             session.folder)
    return found, note


def _measure(session: _Session, method: str, ref: int, fps: float, max_offset: float | None,
             warnings: list[str]) -> list[dict]:
    names = session.names
    if method == "timestamps":
        from mocap.record.timestamps import read_timestamps
        from mocap.sync.timestamps import timestamp_offsets

        stamps = [read_timestamps(session.timestamps_file(n)) for n in names]
        for n, t in zip(names, stamps):
            if n in session.info and session.info[n].n_frames and abs(len(t) - session.info[n].n_frames) > 1:
                warnings.append(f"{session.timestamps_file(n)}: {len(t)} timestamps for the "
                                f"{session.info[n].n_frames} frames its video claims")
        periods = [1e9 / session.info[n].fps if n in session.info else None for n in names]
        found = timestamp_offsets(stamps, ref, periods_ns=None if None in periods else periods)
        if max_offset is not None:
            for n, f in zip(names, found):
                if abs(f["offset"]) > max_offset * fps:
                    raise InputFileError(f"{n}'s timestamps put it {f['offset'] / fps:+.2f} s from {names[ref]}, "
                                         f"beyond the max offset of {max_offset:g} s", session.timestamps_file(n))
        return found
    if method == "audio":
        from mocap.sync.audio import audio_offsets, read_audio

        tracks = [read_audio(session.videos[n]) for n in names]
        values, confidence = audio_offsets(tracks, fps, reference=ref, max_lag_s=max_offset)
    else:
        from mocap.sync.motion import motion_offsets

        kp = session.keypoints()
        if kp.n_frames < MIN_MOTION_STEPS:
            raise InputFileError(f"holds {kp.n_frames} time steps; motion sync needs {MIN_MOTION_STEPS} or more",
                                 session.pose2d)
        order = [kp.camera_names.index(n) for n in names]
        sub = _cameras(kp, order)
        values, confidence = motion_offsets(sub, reference=ref,
                                            max_lag=None if max_offset is None else int(max_offset * fps))
    return [{"offset": float(v), "confidence": float(c)} for v, c in zip(values, confidence)]


def _cameras(kp, order: list[int]):
    return dataclasses.replace(kp, xy=kp.xy[order], score=kp.score[order],
                               camera_names=tuple(kp.camera_names[i] for i in order),
                               image_sizes=kp.image_sizes[order], swapped=kp.swapped[order])


def _warnings(cameras: list[CameraSync], span: tuple[int, int], min_confidence: float, shortest: int) -> list[str]:
    out = []
    n_common = span[1] - span[0]
    for c in cameras:
        if c.confidence < min_confidence:
            out.append(f"{c.name}: low confidence {c.confidence:.2f} in its offset of {c.offset:+.2f} frames "
                       f"({c.method}); check it, or synchronize with another method")
        if not math.isnan(c.drift_ppm) and abs(c.drift_ppm) * 1e-6 * n_common >= 0.5:
            out.append(f"{c.name}: its clock drifts {c.drift_ppm:+.0f} ppm against the reference, "
                       f"{abs(c.drift_ppm) * 1e-6 * n_common:.1f} frames over the common range")
        if c.dropped:
            n = sum(k for _, k in c.dropped)
            out.append(f"{c.name}: {n} dropped frame(s) in {len(c.dropped)} gap(s), the first after frame "
                       f"{c.dropped[0][0]}")
    if n_common < 0.5 * shortest:
        out.append(f"the cameras share only {n_common} frames ({n_common / max(shortest, 1):.0%} of the shortest clip)")
    return out

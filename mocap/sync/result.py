"""What synchronization found, and ``output/sync.toml``, the file every later stage reads.

The common timeline counts the reference camera's frame periods: step ``k`` of the timeline is
the reference camera's frame ``k`` (when it dropped no frame). Camera c's frame period at step k
is ``slot = offset + rate * k``, rounded to a whole period (``rate = 1 + drift_ppm / 1e6``, 1
when the drift is unknown); a recording that dropped frames has no video frame for some periods,
and its later frames sit that many periods later (``dropped``). :meth:`SyncResult.source_frames`
turns steps into each video's own frame numbers (-1 where it has none).

``Keypoints2D.frame_index`` of synchronized keypoints holds timeline steps (the reference
camera's frame numbers); camera c's own frame of step k is ``source_frames(c, k)``, which is
``k + frame_offset`` without drift or drops. ``first_frame`` .. ``stop_frame`` (exclusive) is the
range of steps every camera has; a stage that reads videos starts each one at its own
``start_frame`` (= its source frame of ``first_frame``).

``output/sync.toml``::

    version = 1
    method = "audio"          # what was used (auto says which, in note)
    requested = "auto"
    reference = "cam01"
    fps = 30.0                # the reference camera's frame rate
    first_frame = 13          # common range, in timeline steps (the reference's frame numbers)
    stop_frame = 287          # exclusive
    note = "auto: no timestamps; every video has an audio track"
    warnings = ["cam03: low confidence 0.21 (...)"]
    origin = "mocap sync"     # who wrote it: "mocap sync", or "mocap run" (its pose2d stage)

    [cameras.cam02]
    offset = -12.96           # sub-frame: this camera's frame at the reference's frame 0
    frame_offset = -13        # round(offset): camera frame = reference frame + frame_offset
    start_frame = 0           # its frame at first_frame: where reading it starts
    confidence = 0.93         # 0..1; below the warning threshold a warning names the camera
    method = "audio"
    n_frames = 300
    fps = 30.0
    drift_ppm = 41.5          # only where timestamps gave it
    dropped = [[120, 2]]      # only where timestamps showed them: after video frame 120, 2 missing
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from calibration.toml_values import toml_key, toml_value
from mocap.errors import InputFileError
from mocap.fileio import atomic_write, read_text

SYNC_FILE = Path("output") / "sync.toml"
VERSION = 1


@dataclass(frozen=True)
class CameraSync:
    name: str
    offset: float  # this camera's frame period at timeline step 0 (sub-frame)
    confidence: float
    method: str
    n_frames: int
    fps: float
    drift_ppm: float = math.nan  # NaN: unknown
    dropped: tuple[tuple[int, int], ...] = ()  # (video frame, periods missing after it)

    @property
    def frame_offset(self) -> int:
        """Whole frames: this camera's frame = reference frame + frame_offset (at the start)."""
        return int(np.rint(self.offset))

    @property
    def rate(self) -> float:
        return 1.0 if math.isnan(self.drift_ppm) else 1.0 + self.drift_ppm * 1e-6

    def slots(self, steps) -> np.ndarray:
        """Whole frame periods of this camera at timeline ``steps``."""
        return np.rint(self.offset + self.rate * np.asarray(steps, dtype=float)).astype(np.int64)

    def frames_of_slots(self, slots) -> np.ndarray:
        """Video frame numbers of frame periods (-1 where the recording has none)."""
        slots = np.asarray(slots, dtype=np.int64)
        frames = slots
        if self.dropped:
            after = np.array([a for a, _ in self.dropped], dtype=np.int64)
            length = np.array([n for _, n in self.dropped], dtype=np.int64)
            missing = np.cumsum(length)  # periods missing up to and including each gap
            start = after + 1 + missing - length  # first missing period of each gap
            k = np.searchsorted(start, slots, side="right") - 1  # the last gap starting at or before
            last = np.maximum(k, 0)
            in_gap = (k >= 0) & (slots < start[last] + length[last])
            frames = np.where(in_gap, -1, slots - np.where(k >= 0, missing[last], 0))
        return np.where((frames >= 0) & (frames < self.n_frames), frames, -1)

    @property
    def last_slot(self) -> int:
        return self.n_frames - 1 + sum(n for _, n in self.dropped)


@dataclass(frozen=True)
class SyncResult:
    method: str
    requested: str
    reference: str
    fps: float
    first_frame: int
    stop_frame: int
    cameras: tuple[CameraSync, ...]
    note: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    origin: str = "mocap sync"  # "mocap run" when the session runner measured it

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)

    @property
    def n_frames(self) -> int:
        return self.stop_frame - self.first_frame

    def camera(self, name: str) -> CameraSync:
        for c in self.cameras:
            if c.name == name:
                return c
        raise KeyError(f"no camera {name!r} in the synchronization (cameras: {', '.join(self.names)})")

    def steps(self, stride: int = 1) -> np.ndarray:
        """The common timeline steps, every ``stride``-th: what ``frame_index`` holds."""
        return np.arange(self.first_frame, self.stop_frame, stride, dtype=np.int64)

    def source_frames(self, name: str, steps=None) -> np.ndarray:
        """Camera ``name``'s own video frame of each timeline step (-1 where it has none)."""
        cam = self.camera(name)
        return cam.frames_of_slots(cam.slots(self.steps() if steps is None else steps))

    def frame_table(self, names, steps) -> "FrameTable":  # noqa: F821
        """The :class:`~mocap.video.FrameTable` of cameras ``names`` at timeline ``steps``: how a
        stage reads synchronized videos (each from its own frame, none where one was dropped)."""
        from mocap.video import FrameTable

        steps = np.asarray(steps, dtype=np.int64)
        return FrameTable(steps, np.stack([self.source_frames(n, steps) for n in names]) if len(names) else
                          np.zeros((0, len(steps)), np.int64))

    @property
    def start_frames(self) -> dict[str, int]:
        """Each video's first synchronized frame: its source frame of ``first_frame``."""
        return {c.name: int(c.frames_of_slots(c.slots([self.first_frame]))[0]) for c in self.cameras}


def common_range(cameras: list[CameraSync]) -> tuple[int, int] | None:
    """``(first, stop)`` timeline steps every camera has a frame period for; None when none."""
    reach = max(abs(c.offset) for c in cameras) + max(c.last_slot for c in cameras) + 2
    rate_reach = max(abs(c.rate) for c in cameras)
    steps = np.arange(-int(reach) - 1, int(reach * max(rate_reach, 1.0)) + 2)
    inside = np.ones(len(steps), bool)
    for c in cameras:
        s = c.slots(steps)
        inside &= (s >= 0) & (s <= c.last_slot)
    if not inside.any():
        return None
    where = np.flatnonzero(inside)
    return int(steps[where[0]]), int(steps[where[-1]] + 1)


# --- the file ---------------------------------------------------------------------------------


def dumps_sync(result: SyncResult) -> str:
    lines = ["# mocap sync: camera c's frame = reference frame + frame_offset (see mocap.sync.result)",
             f"version = {VERSION}"]
    for key in ("method", "requested", "reference", "fps", "first_frame", "stop_frame", "note", "origin"):
        lines.append(f"{key} = {toml_value(getattr(result, key))}")
    lines.append(f"warnings = {toml_value(list(result.warnings))}")
    for cam in result.cameras:
        lines += ["", f"[cameras.{toml_key(cam.name)}]", f"offset = {toml_value(round(float(cam.offset), 4))}",
                  f"frame_offset = {cam.frame_offset}",
                  f"start_frame = {result.start_frames[cam.name]}",
                  f"confidence = {toml_value(round(float(cam.confidence), 3))}",
                  f"method = {toml_value(cam.method)}", f"n_frames = {cam.n_frames}",
                  f"fps = {toml_value(float(cam.fps))}"]
        if not math.isnan(cam.drift_ppm):
            lines.append(f"drift_ppm = {toml_value(round(float(cam.drift_ppm), 2))}")
        if cam.dropped:
            lines.append(f"dropped = {toml_value([list(d) for d in cam.dropped])}")
    return "\n".join(lines) + "\n"


def save_sync(result: SyncResult, path: str | os.PathLike) -> Path:
    """Write ``result`` as sync.toml, atomically."""
    with atomic_write(path) as f:
        f.write(dumps_sync(result))
    return Path(path)


def sync_path(session_or_file: str | os.PathLike) -> Path:
    """A session folder's ``output/sync.toml``, or the file itself."""
    path = Path(session_or_file)
    return path / SYNC_FILE if path.is_dir() else path


def load_sync(session_or_file: str | os.PathLike) -> SyncResult:
    """The synchronization of a session (its ``output/sync.toml``) or of a sync.toml file.

    Raises InputFileError naming the file (and key) when it is missing or malformed.
    """
    path = sync_path(session_or_file)
    text = read_text(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"not valid TOML ({exc})", path) from None

    def get(table, key, kind, where=""):
        if key not in table:
            raise InputFileError(f"missing key {where}{key!r}", path)
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise InputFileError(f"key {where}{key!r} must be {kind.__name__}, got {value!r}", path)
        return value

    if doc.get("version") != VERSION:
        raise InputFileError(f"sync file version {doc.get('version')!r}; this mocap reads version {VERSION}", path)
    tables = doc.get("cameras")
    if not isinstance(tables, dict) or not tables:
        raise InputFileError("no [cameras.NAME] tables", path)
    cameras = []
    for name, table in tables.items():
        where = f"cameras.{name}."
        if not isinstance(table, dict):
            raise InputFileError(f"{where[:-1]} must be a table", path)
        dropped = table.get("dropped", [])
        if not (isinstance(dropped, list) and all(isinstance(d, list) and len(d) == 2 and
                                                  all(isinstance(v, int) and v >= 0 for v in d) for d in dropped)):
            raise InputFileError(f"key {where}'dropped' must list [video frame, frames missing] pairs", path)
        cam = CameraSync(name=name, offset=get(table, "offset", float, where),
                         confidence=get(table, "confidence", float, where), method=get(table, "method", str, where),
                         n_frames=get(table, "n_frames", int, where), fps=get(table, "fps", float, where),
                         drift_ppm=float(table.get("drift_ppm", math.nan)),
                         dropped=tuple((int(a), int(n)) for a, n in dropped))
        if cam.n_frames <= 0 or not math.isfinite(cam.offset):
            raise InputFileError(f"camera {name!r}: offset must be finite and n_frames positive", path)
        cameras.append(cam)
    reference = get(doc, "reference", str)
    if reference not in tables:
        raise InputFileError(f"reference camera {reference!r} has no [cameras.{reference}] table", path)
    warnings = doc.get("warnings", [])
    return SyncResult(method=get(doc, "method", str), requested=str(doc.get("requested", "")), reference=reference,
                      fps=get(doc, "fps", float), first_frame=get(doc, "first_frame", int),
                      stop_frame=get(doc, "stop_frame", int), cameras=tuple(cameras), note=str(doc.get("note", "")),
                      warnings=tuple(str(w) for w in warnings) if isinstance(warnings, list) else (),
                      origin=str(doc.get("origin", "mocap sync")))

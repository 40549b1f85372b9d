"""Synchronization in ``mocap run``: which sync the 2D stage applies, and the frames it reads by it.

The pose2d stage begins here. Its synchronization (:func:`sync_plan`), in this order:

* ``output/sync.toml`` written by ``mocap sync`` (any origin but ``mocap run``) is used as it is,
  whatever ``[sync]`` says, and kept among the stage's outputs; delete it to synchronize by the
  settings again;
* one camera: nothing to synchronize;
* ``[sync] method``: ``timestamps``, ``audio`` and ``manual`` are measured before the 2D
  (:func:`mocap.sync.measure_sync`); ``motion`` needs the 2D of the unsynchronized videos first:
  the stage estimates every camera's frames ``[pose2d] start .. stop`` (every frame, whatever the
  stride), measures, then puts those keypoints on the common timeline (:func:`mocap.sync.apply_sync`):
  the 2D is not run twice; ``none``: the videos start together.
* ``auto``: timestamps when every camera has them, else audio when every video has a sound track,
  else **none**, and the stage's summary says so. Auto never picks motion: motion needs the 2D
  first and repeated movements can fool it (the top complaint about motion sync); ask for it.

A synchronization measured here is written to ``output/sync.toml`` with ``origin = "mocap run"``.
The frames read then (:func:`frame_table`): the timeline steps are the sync's common range (the
reference camera's frame numbers) within ``[pose2d] start .. stop``, every ``stride``-th; camera
c reads its own frame of each step, ``source_frames(c, step)`` (with drift, and none for a frame
it dropped). Without a sync every camera reads frames ``start .. stop`` of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.errors import InputFileError, SettingsError
from mocap.sync.result import SYNC_FILE

RUN_ORIGIN = "mocap run"
AUTO_METHODS = ("timestamps", "audio")


@dataclass(frozen=True)
class SyncPlan:
    method: str  # "file" (a sync.toml of `mocap sync`), "timestamps", "audio", "manual", "motion", "none"
    note: str  # why, for the stage's summary

    @property
    def synchronized(self) -> bool:
        return self.method != "none"


def sync_file(session) -> Path:
    return session.root / SYNC_FILE


def foreign_sync(session) -> Path | None:
    """``output/sync.toml`` when ``mocap sync`` (not this runner) wrote it, else None."""
    from mocap.sync import load_sync

    path = sync_file(session)
    if not path.is_file():
        return None
    try:
        return None if load_sync(path).origin == RUN_ORIGIN else path
    except InputFileError:
        return path  # not ours; the stage reads it and says what is wrong


def sync_plan(session, settings, names) -> SyncPlan:
    """Which synchronization the 2D stage applies to cameras ``names`` (see the module docstring)."""
    if foreign_sync(session) is not None:
        return SyncPlan("file", "output/sync.toml as `mocap sync` wrote it (delete it to synchronize by [sync])")
    s = settings["sync"]
    if len(names) < 2:
        return SyncPlan("none", "one camera")
    if s["method"] == "none":
        return SyncPlan("none", "[sync] method = none: the videos are taken to start together")
    if s["method"] != "auto":
        return SyncPlan(s["method"], f"[sync] method = {s['method']}")
    from mocap.sync import first_available

    found, note = first_available(session.root, AUTO_METHODS, cameras=list(names))
    if found is None:
        return SyncPlan("none", f"auto found nothing to synchronize with ({note}): the videos are taken to start "
                                "together; [sync] method = \"motion\" synchronizes by the 2D keypoints")
    return SyncPlan(found, note)


def measure(ctx, plan: SyncPlan, keypoints=None):
    """The :class:`~mocap.sync.SyncResult` of ``plan`` for the session's cameras (None for "none").
    Motion takes the unsynchronized 2D ``keypoints``."""
    from mocap.sync import load_sync, measure_sync

    if plan.method == "none":
        return None
    names = ctx.plan.names
    if plan.method == "file":
        path = sync_file(ctx.session)
        sync = load_sync(path)
        missing = [n for n in names if n not in sync.names]
        if missing:
            raise InputFileError(f"has no camera {', '.join(missing)} (it has {', '.join(sync.names)}): run "
                                 "`mocap sync` again, or delete it", path)
        return sync
    s = ctx.settings["sync"]
    if s["reference"] is not None and s["reference"] not in names:
        raise SettingsError(f"[sync] reference = {s['reference']!r} is not a camera of the session "
                            f"({', '.join(names)})", ctx.settings.path)
    return measure_sync(ctx.session.root, plan.method, reference=s["reference"], offsets=s["offsets"],
                        max_offset=s["max_offset"] or None, min_confidence=s["min_confidence"], cameras=names,
                        keypoints=keypoints, origin=RUN_ORIGIN)


def _stop(ctx) -> int:
    """Where reading stops without a sync: ``[pose2d] stop``, else the end of the shortest video."""
    stop = ctx.settings["pose2d"]["stop"]
    if stop is not None:
        return int(stop)
    if ctx.plan.n_frames:
        return ctx.plan.n_frames
    from mocap.video import VideoReader

    return min(VideoReader(c.path).count_frames() for c in ctx.plan.cameras)  # the containers do not say


def steps(ctx, sync) -> np.ndarray:
    """The timeline steps the 2D stage gives (module docstring)."""
    s = ctx.settings["pose2d"]
    if sync is None:
        return np.arange(s["start"], _stop(ctx), s["stride"], dtype=np.int64)
    stop = sync.stop_frame if s["stop"] is None else min(sync.stop_frame, int(s["stop"]))
    found = np.arange(max(sync.first_frame, s["start"]), stop, s["stride"], dtype=np.int64)
    if not len(found):
        raise SettingsError(f"[pose2d] start = {s['start']} / stop = {s['stop']} leave none of the frames the "
                            f"synchronized cameras share ({sync.reference}'s {sync.first_frame}.."
                            f"{sync.stop_frame - 1})", ctx.settings.path)
    return found


def frame_table(ctx, sync):
    """Which frame of each camera's video the 2D stage reads at each step (module docstring)."""
    from mocap.video import FrameTable

    if sync is None:
        s = ctx.settings["pose2d"]
        return FrameTable.regular(len(ctx.plan.cameras), s["start"], _stop(ctx), s["stride"])
    return sync.frame_table(ctx.plan.names, steps(ctx, sync))


def unsynchronized_table(ctx):
    """Every frame ``[pose2d] start .. stop`` of each camera's own video (what motion sync measures on)."""
    from mocap.video import FrameTable, VideoReader

    s = ctx.settings["pose2d"]
    lengths = [c.n_frames or VideoReader(c.path).count_frames() for c in ctx.plan.cameras]
    stop = max(lengths) if s["stop"] is None else int(s["stop"])
    if stop <= s["start"]:
        raise SettingsError(f"[pose2d] start = {s['start']} is past the videos' end ({stop} frames)",
                            ctx.settings.path)
    table = FrameTable.regular(len(lengths), s["start"], stop, 1)
    frames = np.where(table.frames < np.array(lengths)[:, None], table.frames, -1)
    return FrameTable(table.steps, frames)


def summary(plan: SyncPlan, sync) -> str:
    """One phrase for the stage's line: what was synchronized, how."""
    if sync is None:
        return f"not synchronized ({plan.note})"
    offsets = ", ".join(f"{c.name} {c.frame_offset:+d}" for c in sync.cameras if c.name != sync.reference)
    how = f"{sync.method}, {plan.note}" if plan.method != "file" else f"{sync.method}; {plan.note}"
    return f"synchronized to {sync.reference} ({how}): {offsets}; common frames {sync.first_frame}.." \
           f"{sync.stop_frame - 1}"

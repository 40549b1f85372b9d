"""``mocap live --cameras``: cameras -> 2D -> 3D -> one-euro -> retarget -> outputs, frame by frame.

Three kinds of thread, handing over through one-slot mailboxes that keep only the newest item
(drop, never queue):

* one reader per camera (:mod:`mocap.live.cameras`), keeping its newest frames;
* the 2D stage: takes the newest frame set (:class:`~mocap.live.cameras.FrameSets`: video files
  decoded on demand at the frame due now; a set it already did is not redone), runs the pose
  backend on every camera's image in one call
  (MediaPipe keeps one tracking instance per camera), and posts the 2D keypoints;
* the 3D stage (the calling thread): takes the newest 2D set, triangulates it
  (:func:`mocap.triangulate.triangulate`, the subject only), filters it causally
  (:class:`~mocap.live.smoothing.OneEuroStream`), retargets it
  (:class:`~mocap.live.retarget.LiveRetargeter`: bone lengths fixed from the first confident
  frames) and sends it to every output.

Each frame set's timings are kept (:class:`LiveStats`, :data:`STAGES`): the wait before each
stage, each stage's own time, and the end-to-end latency from capture to sent.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from mocap.cameras import Clock
from mocap.data import Keypoints2D
from mocap.live.cameras import FrameSets
from mocap.live.frames import LiveFrame
from mocap.live.retarget import LiveRetargeter
from mocap.live.smoothing import OneEuroStream
from mocap.skeleton import N_KEYPOINTS
from mocap.triangulate import triangulate

# Per frame set: capture -> 2D start (for files mostly their decoding), the 2D stage, 2D done -> 3D
# start, the 3D stage's steps, and the end-to-end latency (capture -> sent).
STAGES = ("to_2d", "pose2d", "to_3d", "triangulate", "filter", "retarget", "send", "latency")


class Mailbox:
    """One slot: ``put`` replaces what is there (counted as dropped), ``take`` empties it."""

    def __init__(self):
        self._item, self._cond = None, threading.Condition()
        self.dropped = 0
        self.closed = False

    def put(self, item) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify()

    def take(self, timeout: float = 0.1):
        with self._cond:
            if self._item is None and not self.closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


@dataclass
class LiveStats:
    frame_sets: int = 0  # frame sets the 2D stage processed
    triangulated: int = 0  # frames with the subject found in 3D
    sent: int = 0  # frames sent (after the skeleton's calibration frames)
    dropped_2d: int = 0  # 2D results replaced before the 3D stage took them
    slipped: float = 0.0  # seconds the video files' clock was held back (decoding behind)
    seconds: float = 0.0
    times: dict = field(default_factory=lambda: {s: [] for s in STAGES})

    def summary(self) -> dict:
        """Median and 90th percentile of every stage in milliseconds."""
        return {s: (float(np.median(v)) * 1000, float(np.percentile(v, 90)) * 1000)
                for s, v in self.times.items() if v}


def _pose_loop(sets: FrameSets, backend, mailbox: Mailbox, stats: LiveStats, stop: threading.Event, errors: list):
    names = [s.name for s in sets.sources]
    streams = getattr(backend, "uses_streams", False)
    try:
        while not stop.is_set():
            frames = sets.next(stop)
            if frames is None:
                break
            t0 = time.time()
            images = [f.image for f in frames]
            poses = backend.process(images, streams=names) if streams else backend.process(images)
            t1 = time.time()
            stats.times["to_2d"].append(t0 - min(f.timestamp for f in frames))
            stats.times["pose2d"].append(t1 - t0)
            stats.frame_sets += 1
            mailbox.put((frames, poses, min(f.timestamp for f in frames), t1))
    except Exception as exc:  # handed to the 3D stage's thread
        errors.append(exc)
    finally:
        mailbox.close()


def _keypoints_2d(frames, poses, names, fps) -> Keypoints2D:
    P = max(1, max(len(p) for p in poses))
    xy = np.full((len(poses), 1, P, N_KEYPOINTS, 2), np.nan)
    score = np.zeros((len(poses), 1, P, N_KEYPOINTS))
    for c, p in enumerate(poses):
        xy[c, 0, :len(p)], score[c, 0, :len(p)] = p.xy, p.score
    sizes = np.array([(f.image.shape[1], f.image.shape[0]) for f in frames])
    return Keypoints2D(xy=xy, score=score, camera_names=names, image_sizes=sizes, fps=fps)


def run_cameras(sources, group, outputs, backend, *, fps: float | None = None, one_euro=(1.0, 0.5),
                rig: str = "default", calibration_frames: int = 15, min_score: float = 0.3,
                keypoints: bool = True, max_frames: int | None = None, duration: float | None = None,
                progress: bool = True, stop: threading.Event | None = None) -> LiveStats:
    """Run the live pipeline until the files end, ``max_frames`` are sent, ``duration`` seconds
    pass or ``stop`` is set; ``group`` holds the sources' cameras in their order."""
    from tqdm import tqdm

    fps = float(fps or sources[0].fps)
    names = [s.name for s in sources]
    stop = stop or threading.Event()
    stats, mailbox, errors = LiveStats(), Mailbox(), []
    smoother = OneEuroStream(fps, *one_euro) if one_euro else None
    retargeter = LiveRetargeter(fps, calibration_frames=calibration_frames, rig=rig)
    clock = Clock.at()  # every source starts on this clock (files play on it)
    for s in sources:
        s.start(clock)
    sets = FrameSets(sources)
    worker = threading.Thread(target=_pose_loop, args=(sets, backend, mailbox, stats, stop, errors),
                              name="live-pose2d", daemon=True)
    worker.start()
    bar = tqdm(total=max_frames, unit="frame", desc="live", disable=not progress)
    start = time.time()
    try:
        while not stop.is_set():
            if duration is not None and time.time() - start > duration:
                break
            item = mailbox.take()
            if item is None:
                if mailbox.closed:
                    break
                continue
            frames, poses, captured, posted = item
            t0 = time.time()
            stats.times["to_3d"].append(t0 - posted)
            kp3d = triangulate(group, _keypoints_2d(frames, poses, names, fps), persons=1, min_score=min_score)
            t1 = time.time()
            xyz = kp3d.xyz[0, 0]
            stats.times["triangulate"].append(t1 - t0)
            if not np.isfinite(xyz).any():
                continue
            stats.triangulated += 1
            if smoother is not None:
                xyz = smoother(xyz, captured)
            t2 = time.time()
            stats.times["filter"].append(t2 - t1)
            solved = retargeter(xyz)
            t3 = time.time()
            stats.times["retarget"].append(t3 - t2)
            if solved is None:
                continue
            skeleton, root, rotations = solved
            frame = LiveFrame(timestamp=captured, frame_index=int(frames[0].index), root=root, rotations=rotations,
                              keypoints=xyz if keypoints else None, fps=fps)
            for out in outputs:
                out.send(skeleton, frame)
            t4 = time.time()
            stats.times["send"].append(t4 - t3)
            stats.times["latency"].append(t4 - captured)
            stats.sent += 1
            bar.update(1)
            if max_frames is not None and stats.sent >= max_frames:
                break
    finally:
        stop.set()
        worker.join(timeout=10)
        sets.close()
        for s in sources:
            s.close()
        bar.close()
        stats.seconds = time.time() - start
        stats.dropped_2d = mailbox.dropped
        stats.slipped = sets.slipped
    if errors:
        raise errors[0]
    return stats

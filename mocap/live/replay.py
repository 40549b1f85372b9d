"""``mocap live --replay``: a recorded result streamed at its frame rate, as a live capture would be.

:func:`load_take` turns ``pose3d.npz`` (retargeted here onto the whole-body armature for the rig,
its keypoints sent along) or ``motion.npz`` (sent as it is) into a skeleton and frames.
:func:`replay` paces them by the wall clock: frame ``i`` is due at ``start + i / fps`` and carries
that time as its capture timestamp; when sending falls behind, the frames already overdue are
skipped (counted), never sent late in a burst.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from mocap.data import Motion
from mocap.errors import InputFileError, SettingsError
from mocap.live.frames import LiveFrame, LiveSkeleton
from mocap.skeleton import NAMES


@dataclass(frozen=True, eq=False)
class Take:
    skeleton: LiveSkeleton
    motion: Motion
    keypoints: np.ndarray | None  # (T, K, 3) sent with the poses, or None

    @property
    def fps(self) -> float:
        return self.motion.fps


def load_take(path, *, person: int = 0, rig: str = "default", keypoints: bool = True) -> Take:
    """A pose3d.npz (retargeted) or motion.npz as a :class:`Take`."""
    from mocap.api import load_result

    data = load_result(path)
    if isinstance(data, Motion):
        if data.n_frames == 0:
            raise InputFileError("holds a motion of no frames", path)
        return Take(LiveSkeleton.of(data), data, None)
    if not 0 <= person < data.n_persons:
        raise SettingsError(f"person {person} does not exist; {path} holds {data.n_persons}")
    if data.n_frames == 0:
        raise InputFileError("holds no frames", path)
    from mocap.retarget import retarget

    motion = retarget(data, person, rig=rig).motion
    kp = data.xyz[:, person] if keypoints and data.xyz.shape[2] == len(NAMES) else None
    return Take(LiveSkeleton.of(motion, NAMES if kp is not None else ()), motion, kp)


@dataclass
class ReplayStats:
    sent: int = 0  # frames handed to the outputs
    skipped: int = 0  # frames skipped because they were overdue
    seconds: float = 0.0


def replay(take: Take, outputs, *, fps: float | None = None, loop: bool = False, max_frames: int | None = None,
           duration: float | None = None, progress: bool = True, stop=None) -> ReplayStats:
    """Stream ``take`` to every output (objects with ``send(skeleton, frame)``) in real time at
    ``fps`` (default: the take's); ``stop`` is an optional ``threading.Event``."""
    from tqdm import tqdm

    rate = float(fps or take.fps)
    if not rate > 0:
        raise SettingsError(f"the replay rate must be positive, got {rate}")
    m, T = take.motion, take.motion.n_frames
    total = max_frames if max_frames is not None else (None if loop else T)
    stats = ReplayStats()
    start = time.time()
    bar = tqdm(total=total, unit="frame", desc="replay", disable=not progress)
    step = 0  # frames elapsed on the take's clock since the start
    try:
        while (loop or step < T) and (max_frames is None or stats.sent < max_frames):
            if stop is not None and stop.is_set():
                break
            due = start + step / rate
            if duration is not None and due - start > duration:
                break
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            i = step % T
            frame = LiveFrame(timestamp=due, frame_index=int(m.frame_index[i]), root=m.root_translation[i],
                              rotations=m.rotations[i], keypoints=None if take.keypoints is None else take.keypoints[i],
                              fps=rate)
            for out in outputs:
                out.send(take.skeleton, frame)
            stats.sent += 1
            bar.update(1)
            # Skip what became overdue meanwhile: the next frame is the one due now or later.
            late = int((time.time() - start) * rate) - step
            stats.skipped += max(0, late - 1) if late > 1 else 0
            step += max(1, late)
    finally:
        bar.close()
        stats.seconds = time.time() - start
    return stats

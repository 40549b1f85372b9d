"""What ``mocap live`` sends: a skeleton once, then frames; every output (the add-on's stream,
VMC) takes these two types."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.data import Motion


@dataclass(frozen=True, eq=False)
class LiveSkeleton:
    """Joint names, parents (J,) and rest offsets (J, 3) in metres, as in :class:`Motion`;
    ``keypoint_names`` name the raw keypoints frames may carry."""

    joint_names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    keypoint_names: tuple[str, ...] = ()
    subject: int = 0

    @classmethod
    def of(cls, motion: Motion, keypoint_names=(), subject: int = 0) -> "LiveSkeleton":
        return cls(tuple(motion.joint_names), np.asarray(motion.parents), np.asarray(motion.offsets),
                   tuple(keypoint_names), subject)


@dataclass(frozen=True, eq=False)
class LiveFrame:
    """One pose: ``timestamp`` (Unix seconds, when the frame was captured, or due in a replay),
    the source ``frame_index``, root translation (3,), local rotations (J, 4) w,x,y,z, optional
    keypoints (K, 3) (NaN where missing), and the stream's nominal ``fps``."""

    timestamp: float
    frame_index: int
    root: np.ndarray
    rotations: np.ndarray
    keypoints: np.ndarray | None = None
    fps: float = 0.0

"""Synchronized 2D keypoints from unsynchronized ones, by a :class:`~mocap.sync.result.SyncResult`.

For a session synchronized after pose2d ran (the motion method needs pose2d first): every
camera's step t of the input is its own video frame ``frame_index[t]``; the output's steps are
the common timeline's (the reference camera's frame numbers, every ``stride``-th from
``first_frame``, or the ``steps`` given), and camera c's keypoints at step k are those of its own
frame ``source_frames(c, k)`` (missing, NaN with score 0, where it has none).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mocap.data import Keypoints2D
from mocap.errors import InputFileError
from mocap.sync.result import SyncResult


def apply_sync(kp2d: Keypoints2D, sync: SyncResult, steps=None) -> Keypoints2D:
    """``kp2d`` (cameras in their own frame numbers) on the common timeline of ``sync`` (at the
    timeline ``steps`` given; steps no camera has are left out)."""
    missing = [n for n in kp2d.camera_names if n not in sync.names]
    if missing:
        raise InputFileError(f"the synchronization has no camera {missing[0]!r} (it has {', '.join(sync.names)})")
    index = kp2d.frame_index
    stride = int(np.diff(index)[0]) if len(index) > 1 else 1
    steps = sync.steps(stride) if steps is None else np.asarray(steps, dtype=np.int64)
    xy = np.full((kp2d.n_cameras, len(steps)) + kp2d.xy.shape[2:], np.nan)
    score = np.zeros(xy.shape[:-1])
    swapped = np.zeros(xy.shape[:3] + kp2d.swapped.shape[3:], bool)
    found = np.zeros((kp2d.n_cameras, len(steps)), bool)
    for c, name in enumerate(kp2d.camera_names):
        frames = sync.source_frames(name, steps)
        at = np.clip(np.searchsorted(index, frames), 0, len(index) - 1)
        hit = (frames >= 0) & (index[at] == frames)
        xy[c, hit], score[c, hit], swapped[c, hit] = kp2d.xy[c, at[hit]], kp2d.score[c, at[hit]], kp2d.swapped[c, at[hit]]
        found[c] = hit
        if not hit.any():
            raise InputFileError(f"camera {name}: none of its keypoint frames falls on the synchronized timeline "
                                 f"(offset {sync.camera(name).frame_offset:+d} frames, keypoints every {stride} frames "
                                 f"from frame {index[0]}); run pose2d with stride 1 or with the sync applied")
    keep = found.any(0)
    return dataclasses.replace(kp2d, xy=xy[:, keep], score=score[:, keep], swapped=swapped[:, keep],
                               frame_index=steps[keep])

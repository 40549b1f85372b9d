"""Run a backend over several cameras' videos: the 2D stage of the pipeline.

Frames are read in parallel (one decoding thread per camera, :func:`mocap.video.read_synchronized`)
and gathered ``batch_frames`` time steps at a time, so one backend call sees every camera's frames
of several time steps (the rtmw backend turns that into one pose batch). With ``detect_every`` N >
1 the detector runs on every N-th frame only; other frames reuse boxes around each tracked person's
keypoints from the last finished batch (a lag of at most ``batch_frames`` frames, which the crop
padding absorbs). A :class:`~mocap.pose2d.tracking.Tracker` per camera gives stable ids; person
slot p of a camera is its p-th track in order of first appearance.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mocap.data import WHOLEBODY, Keypoints2D
from mocap.pose2d.base import PoseBackend, Poses
from mocap.pose2d.tracking import Tracker, keypoint_box
from mocap.skeleton import N_KEYPOINTS
from mocap.video import VideoReader

log = logging.getLogger("mocap.pose2d")


class NoPersonWarning(UserWarning):
    """No person was found in a whole video."""


def estimate_videos(videos, backend: PoseBackend, *, camera_names=None, start: int = 0, stop: int | None = None,
                    stride: int = 1, batch_frames: int = 4, detect_every: int = 1, progress: bool = True,
                    on_frame=None) -> Keypoints2D:
    """2D keypoints (133 layout) of every person in every frame of each video.

    videos: paths (or :class:`VideoReader`), one per camera; camera names default to file stems.
    on_frame: optional ``f(t, frames, poses_per_camera, ids_per_camera)`` called per time step
    (the overlay writer uses it), so frames need not be kept.
    """
    from mocap.video import read_synchronized

    readers = [v if isinstance(v, VideoReader) else VideoReader(v) for v in videos]
    names = list(camera_names) if camera_names else [r.name for r in readers]
    n_cams = len(readers)
    n_total = min(r.info.n_frames for r in readers) or None
    end = stop if stop is not None else n_total
    expected = None if end is None else max(0, (end - start + stride - 1) // stride)
    trackers = [Tracker() for _ in readers]
    per_cam: list[list[tuple[Poses, np.ndarray]]] = [[] for _ in readers]
    last: list[tuple[np.ndarray, np.ndarray] | None] = [None] * n_cams  # tracked keypoints for boxes

    def flush(batch):
        images, owners, boxes = [], [], []
        for t, frames in batch:
            for c, f in enumerate(frames):
                if f is None:
                    continue
                images.append(f)
                owners.append((t, c))
                detect = detect_every <= 1 or last[c] is None or ((t - start) // stride) % detect_every == 0
                boxes.append(None if detect else _boxes_from_keypoints(*last[c]))
        results = backend.process(images, boxes) if images else []
        by_step = {}
        for (t, c), poses in zip(owners, results):
            ids = trackers[c].update(poses.boxes, poses.xy, poses.score)
            per_cam[c].append((t, poses, ids))
            if len(poses):
                last[c] = (poses.xy, poses.score)
            by_step.setdefault(t, {})[c] = (poses, ids)
        if on_frame is not None:
            for t, frames in batch:
                got = by_step.get(t, {})
                on_frame(t, frames, [got.get(c, (Poses.empty(), np.zeros(0, int)))[0] for c in range(n_cams)],
                         [got.get(c, (Poses.empty(), np.zeros(0, int)))[1] for c in range(n_cams)])

    steps: list[int] = []
    batch = []
    with tqdm(total=expected, desc=f"pose2d ({backend.describe()})", unit="frame", disable=not progress) as bar:
        for t, frames in read_synchronized(readers, start, stop, stride):
            steps.append(t)
            batch.append((t, frames))
            if len(batch) >= batch_frames:
                flush(batch)
                bar.update(len(batch))
                batch = []
        if batch:
            flush(batch)
            bar.update(len(batch))
    return _assemble(per_cam, steps, names, readers, stride)


def _boxes_from_keypoints(xy, score, grow: float = 0.1):
    """Boxes around tracked keypoints, grown by ``grow`` per side: keypoints stop at the joints,
    a detector's box at the silhouette (head top, heels)."""
    box = keypoint_box(xy, score)
    box = box[np.isfinite(box).all(1)]
    margin = (box[:, 2:] - box[:, :2]) * grow
    box = np.concatenate([box[:, :2] - margin, box[:, 2:] + margin], axis=1)
    return np.concatenate([box, np.ones((len(box), 1))], axis=1)


def _assemble(per_cam, steps, names, readers, stride) -> Keypoints2D:
    """Per-camera tracked results -> one Keypoints2D (person slots by order of first appearance)."""
    index = {t: i for i, t in enumerate(steps)}
    slot_maps = []
    for c, results in enumerate(per_cam):
        order = []
        for _, _, ids in results:
            order.extend(i for i in ids.tolist() if i not in order)
        slot_maps.append({i: s for s, i in enumerate(order)})
        if not order:
            msg = f"camera {names[c]} ({readers[c].path}): no person found in the whole video"
            warnings.warn(msg, NoPersonWarning, stacklevel=3)
            log.warning(msg)
    n_persons = max([len(m) for m in slot_maps] + [1])
    xy = np.full((len(readers), len(steps), n_persons, N_KEYPOINTS, 2), np.nan)
    score = np.zeros(xy.shape[:-1])
    for c, results in enumerate(per_cam):
        for t, poses, ids in results:
            if len(ids):
                slots = np.array([slot_maps[c][i] for i in ids.tolist()])
                xy[c, index[t], slots] = poses.xy
                score[c, index[t], slots] = poses.score
    fps = readers[0].info.fps / stride
    sizes = np.array([[r.info.width, r.info.height] for r in readers])
    return Keypoints2D(xy=xy, score=score, camera_names=names, image_sizes=sizes, layout=WHOLEBODY, fps=fps)


def output_path(session_dir) -> Path:
    return Path(session_dir) / "output" / "pose2d.npz"

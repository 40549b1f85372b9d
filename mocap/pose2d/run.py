"""Run a backend over several cameras' videos: the 2D stage of the pipeline.

Frames are read in parallel (one decoding thread per camera, :func:`mocap.video.read_synchronized`)
and gathered ``batch_frames`` time steps at a time, so one backend call sees every camera's frames
of several time steps (the rtmw backend turns that into one pose batch). Backends that track
within a video (``uses_streams``: MediaPipe's video mode) are told which camera each image comes
from, so each camera keeps its own tracker. With ``detect_every`` N > 1 the detector runs on every
N-th frame only; other frames reuse boxes around each tracked person's keypoints from the last
finished batch (a lag of at most ``batch_frames`` frames, which the crop padding absorbs).

After the last frame, per camera:

1. a :class:`~mocap.pose2d.tracking.Tracker` has given every detection a track id;
2. tracks become person slots (:mod:`mocap.pose2d.slots`): false detections (one frame, tiny)
   are dropped, and a track takes the lowest slot free over its lifetime, so P stays the most
   people seen at once;
3. left/right swaps of whole limbs are put back (:mod:`mocap.pose2d.swaps`), and recorded in
   ``Keypoints2D.swapped``.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mocap.data import WHOLEBODY, Keypoints2D
from mocap.errors import SettingsError
from mocap.pose2d.base import PoseBackend, Poses
from mocap.pose2d.slots import assign_slots, collect_tracks
from mocap.pose2d.swaps import exchange_limbs, repair_swaps
from mocap.pose2d.tracking import Tracker, keypoint_box
from mocap.skeleton import N_KEYPOINTS
from mocap.video import FrameTable, VideoReader

log = logging.getLogger("mocap.pose2d")


class NoPersonWarning(UserWarning):
    """No person was found in a whole video."""


def estimate_videos(videos, backend: PoseBackend, *, camera_names=None, start: int = 0, stop: int | None = None,
                    stride: int = 1, batch_frames: int = 4, detect_every: int = 1, progress: bool = True,
                    world: bool | str = False, repair: bool = True, frames: FrameTable | None = None):
    """2D keypoints (133 layout) of every person in every frame of each video.

    videos: paths (or :class:`VideoReader`), one per camera; camera names default to file stems.
    frames: which frame of each video to read at each step (:class:`~mocap.video.FrameTable`, e.g.
    synchronized videos, each from its own first frame), instead of ``start``/``stop``/``stride``;
    ``frame_index`` is then the table's steps.
    repair: put back left/right limb swaps (recorded in ``Keypoints2D.swapped``).

    Returns a :class:`Keypoints2D` whose ``frame_index`` holds the source frame of each step
    (``start + stride * i``). With ``world=True`` (the backend must give world points:
    ``MediaPipeBackend(world=True)``) returns ``(keypoints, world)`` where ``world`` (C, T, P,
    133, 3) holds each slot's metric 3D points in metres (MediaPipe's pose world landmarks,
    hip-centred, camera-aligned axes, with the hands' world landmarks moved onto the wrists;
    NaN where absent), in the same slots as the keypoints and with the same limb swaps put back.
    ``world`` may also name another per-point attribute of the backend's :class:`Poses` (e.g.
    ``"depth"`` of an RTMW3D backend, (P, 133, D)); it is returned the same way, (C, T, P, 133, D).
    """
    from mocap.video import read_synchronized

    attribute = "world" if world is True else (world or None)
    if world is True and not getattr(backend, "world", False):
        raise SettingsError(f"world=True needs a backend that gives world points, e.g. "
                            f"MediaPipeBackend(world=True); {backend.describe()} does not")
    readers = [v if isinstance(v, VideoReader) else VideoReader(v) for v in videos]
    names = list(camera_names) if camera_names else [r.name for r in readers]
    n_cams = len(readers)
    if frames is not None:
        if (start, stop, stride) != (0, None, 1):
            raise ValueError("give either a frame table or start/stop/stride, not both")
        expected, stride = len(frames.steps), frames.stride
    else:
        n_total = min(r.info.n_frames for r in readers) or None
        end = stop if stop is not None else n_total
        expected = None if end is None else max(0, (end - start + stride - 1) // stride)
    trackers = [Tracker() for _ in readers]
    per_cam: list[list[tuple[int, Poses, np.ndarray]]] = [[] for _ in readers]
    last: list[tuple[np.ndarray, np.ndarray] | None] = [None] * n_cams  # tracked keypoints for boxes
    steps: list[int] = []

    def flush(batch):
        images, owners, boxes = [], [], []
        for i, t, step_images in batch:
            for c, f in enumerate(step_images):
                if f is None:
                    continue
                images.append(f)
                owners.append((i, t, c))
                detect = (detect_every <= 1 or last[c] is None or i % detect_every == 0
                          or getattr(backend, "detector", True) is None)  # whole-frame backends track themselves
                boxes.append(None if detect else _boxes_from_keypoints(*last[c]))
        if not images:
            results = []
        elif getattr(backend, "uses_streams", False):
            results = backend.process(images, boxes, streams=[names[c] for _, _, c in owners])
        else:
            results = backend.process(images, boxes)
        for (i, t, c), poses in zip(owners, results):
            ids = trackers[c].update(poses.boxes, poses.xy, poses.score)
            per_cam[c].append((i, poses, ids))
            if len(poses):
                last[c] = (poses.xy, poses.score)

    batch = []
    with tqdm(total=expected, desc=f"pose2d ({backend.describe()})", unit="frame", disable=not progress) as bar:
        for t, images in read_synchronized(readers, start, stop, stride, table=frames):
            batch.append((len(steps), t, images))
            steps.append(t)
            if len(batch) >= batch_frames:
                flush(batch)
                bar.update(len(batch))
                batch = []
        if batch:
            flush(batch)
            bar.update(len(batch))
    kp, world_xyz, segment = _assemble(per_cam, steps, names, readers, stride, attribute)
    if repair:
        xy, score, swapped = repair_swaps(kp.xy, kp.score, segment)
        kp = Keypoints2D(xy=xy, score=score, camera_names=kp.camera_names, image_sizes=kp.image_sizes,
                         layout=kp.layout, fps=kp.fps, frame_index=kp.frame_index, swapped=swapped)
        if world_xyz is not None:
            world_xyz = exchange_limbs(world_xyz, np.zeros(world_xyz.shape[:-1]), swapped)[0]
    if attribute and world_xyz is None:
        world_xyz = np.full(kp.xy.shape[:-1] + (3,), np.nan)
    return (kp, world_xyz) if world else kp


def _boxes_from_keypoints(xy, score, grow: float = 0.1):
    """Boxes around tracked keypoints, grown by ``grow`` per side: keypoints stop at the joints,
    a detector's box at the silhouette (head top, heels)."""
    box = keypoint_box(xy, score)
    box = box[np.isfinite(box).all(1)]
    margin = (box[:, 2:] - box[:, :2]) * grow
    box = np.concatenate([box[:, :2] - margin, box[:, 2:] + margin], axis=1)
    return np.concatenate([box, np.ones((len(box), 1))], axis=1)


def _assemble(per_cam, steps, names, readers, stride, attribute: str | None):
    """Per-camera tracked results -> (Keypoints2D, the per-point ``attribute`` of the poses (C, T, P,
    133, D) or None, segment (C, T, P) the track id in each slot, -1 when empty)."""
    slot_maps = []
    for c, results in enumerate(per_cam):
        tracks = collect_tracks([r[0] for r in results], [r[2] for r in results], [r[1].boxes for r in results])
        slot_maps.append(assign_slots(tracks, n_steps=len(steps)))
        if not slot_maps[-1]:
            msg = f"camera {names[c]} ({readers[c].path}): no person found in the whole video"
            warnings.warn(msg, NoPersonWarning, stacklevel=3)
            log.warning(msg)
    n_persons = max([max(m.values()) + 1 for m in slot_maps if m] + [1])
    shape = (len(readers), len(steps), n_persons)
    xy = np.full(shape + (N_KEYPOINTS, 2), np.nan)
    score = np.zeros(shape + (N_KEYPOINTS,))
    world = None
    segment = np.full(shape, -1, dtype=np.int64)
    for c, results in enumerate(per_cam):
        for i, poses, ids in results:
            keep = [(j, slot_maps[c][d]) for j, d in enumerate(ids.tolist()) if d in slot_maps[c]]
            if not keep:
                continue
            rows, slots = map(np.array, zip(*keep))
            xy[c, i, slots] = poses.xy[rows]
            score[c, i, slots] = poses.score[rows]
            segment[c, i, slots] = ids[rows]
            values = getattr(poses, attribute, None) if attribute else None
            if values is not None:
                values = np.asarray(values, dtype=np.float64)
                if world is None:
                    world = np.full(shape + values.shape[1:], np.nan)
                world[c, i, slots] = values[rows]
    fps = readers[0].info.fps / stride
    sizes = np.array([[r.info.width, r.info.height] for r in readers])
    kp = Keypoints2D(xy=xy, score=score, camera_names=names, image_sizes=sizes, layout=WHOLEBODY, fps=fps,
                     frame_index=np.asarray(steps, dtype=np.int64))
    return kp, world, segment


def output_path(session_dir) -> Path:
    return Path(session_dir) / "output" / "pose2d.npz"

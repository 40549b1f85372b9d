"""Synthetic sessions with known camera offsets, for the sync tests and ``bench/sync.py``.

One synthetic person (:func:`mocap.synthetic.human_motion`) is filmed on a master timeline by a
ring of cameras; camera c starts ``starts[c]`` master frames late, so its frame f is master frame
``starts[c] + f`` and its offset against camera 0 is ``starts[0] - starts[c]``. Written per camera:

* ``videos/<cam>.mp4`` (MPEG-4 video; the person's keypoints drawn as dots, so the image moves),
  with an AAC sound track cut from one master track of irregular clicks (a decaying noise burst
  each, 2-5 a second, never periodic) under each microphone's own background noise and gain;
* ``videos/<cam>_timestamps.csv``: the master time of each frame on one clock, with grab jitter,
  an optional clock drift per camera, and optional dropped frames (missing from the video too);
* ``output/pose2d.npz``: the 2D keypoints each camera saw (0.5 px noise, 5 % dropouts), in its
  own frame numbers, as pose2d gives for unsynchronized videos.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mocap.record.timestamps import TimestampsWriter
from mocap.skeleton import BODY_BONES

AUDIO_RATE = 16000


@dataclass(frozen=True)
class SyntheticSync:
    folder: Path
    names: tuple[str, ...]
    offsets: np.ndarray  # (C,) true offsets in frames against camera 0
    fps: float
    n_frames: int


def _click_track(seconds: float, rng) -> np.ndarray:
    n = int(seconds * AUDIO_RATE)
    track = np.zeros(n)
    t = 0.1
    while t < seconds - 0.05:
        start = int(t * AUDIO_RATE)
        length = int(0.006 * AUDIO_RATE)
        burst = rng.normal(0, 1, length) * np.exp(-np.arange(length) / (0.0015 * AUDIO_RATE))
        track[start:start + length] += rng.uniform(0.4, 0.9) * burst
        t += rng.uniform(0.2, 0.5)
    return track


def _draw(xy: np.ndarray, size) -> np.ndarray:
    image = np.zeros((size[1], size[0], 3), np.uint8)
    for a, b in BODY_BONES:
        if np.isfinite(xy[[a, b]]).all():
            cv2.line(image, tuple(int(v) for v in xy[a]), tuple(int(v) for v in xy[b]), (255, 255, 255), 2)
    return image


def write_synthetic_sync(folder: str | os.PathLike, starts=(0, 7, 13), *, n_frames: int = 90, fps: float = 30.0,
                         size=(320, 240), audio: bool = True, drift_ppm=None, dropped=None, noise: float = 0.02,
                         seed: int = 0) -> SyntheticSync:
    """Write a synthetic session into ``folder`` (module doc); returns its truth.

    drift_ppm: per camera, how much faster its clock runs than the master (in its timestamps only;
    images, sound and keypoints keep the master's rate); dropped: per camera, frame numbers of its
    own (0 .. n_frames - 1) missing from its video, timestamps and keypoints (whose last rows are
    then missing, as for a video that ended early).
    """
    import av

    from mocap.data import Keypoints2D
    from mocap.synthetic import camera_ring, human_motion, observe

    folder = Path(folder)
    (folder / "videos").mkdir(parents=True, exist_ok=True)
    (folder / "output").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    starts = np.asarray(starts, dtype=int)
    n_cams, master = len(starts), n_frames + int(starts.max())
    group = camera_ring(n_cams, size=size, radius=5.0, seed=seed)
    seen = observe(group, human_motion(master, fps, seed=seed)[:, None], fps=fps, seed=seed)
    clean = group.project(human_motion(master, fps, seed=seed)[:, None])  # what the images show
    sound = _click_track(master / fps + 1.0, rng)
    drift = np.zeros(n_cams) if drift_ppm is None else np.asarray(drift_ppm, float)
    drops = [set() for _ in range(n_cams)] if dropped is None else [set(d) for d in dropped]
    names = tuple(group.names)
    xy = np.full((n_cams, n_frames) + seen.xy.shape[2:], np.nan)
    score = np.zeros(xy.shape[:-1])
    clock0 = 10 ** 12
    for c, name in enumerate(names):
        kept = [f for f in range(n_frames) if f not in drops[c]]
        master_frames = starts[c] + np.array(kept)
        xy[c, :len(kept)] = seen.xy[c, master_frames]
        score[c, :len(kept)] = seen.score[c, master_frames]
        with av.open(str(folder / "videos" / f"{name}.mp4"), "w") as out:
            video = out.add_stream("mpeg4", rate=int(round(fps)))
            video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
            video.options = {"qscale": "3"}
            if audio:
                track = out.add_stream("aac", rate=AUDIO_RATE)
                track.layout = "mono"
            for f in master_frames:
                image = _draw(clean[c, f, 0], size)
                for packet in video.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                    out.mux(packet)
            for packet in video.encode():
                out.mux(packet)
            if audio:
                start = int(round(starts[c] / fps * AUDIO_RATE))
                mine = rng.uniform(0.5, 1.0) * sound[start:start + int(n_frames / fps * AUDIO_RATE)]
                mine = mine + noise * rng.normal(0, 1, len(mine))
                samples = np.clip(mine, -1, 1).astype(np.float32)[None]
                for k in range(0, samples.shape[1], 1024):
                    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, k:k + 1024]), format="flt",
                                                       layout="mono")
                    frame.sample_rate = AUDIO_RATE
                    for packet in track.encode(frame):
                        out.mux(packet)
                for packet in track.encode():
                    out.mux(packet)
        stamps = TimestampsWriter(folder / "videos" / f"{name}_timestamps.csv")
        period = 1e9 / fps / (1 + drift[c] * 1e-6)
        first = clock0 + starts[c] * 1e9 / fps
        for i, f in enumerate(kept):
            stamps.write(i, int(first + f * period + rng.normal(0, 1e6)))
        stamps.close()
    kp = Keypoints2D(xy=xy, score=score, camera_names=names, image_sizes=seen.image_sizes, fps=fps)
    kp.save(folder / "output" / "pose2d.npz")
    return SyntheticSync(folder, names, (starts[0] - starts).astype(float), fps, n_frames)

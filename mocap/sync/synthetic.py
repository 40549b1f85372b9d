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
  own frame numbers, as pose2d gives for unsynchronized videos;
* ``calibration/calibration.toml``: the cameras.

:func:`write_blob_session` films a moving bright point instead, for sessions that ``mocap run``
takes through the real 2D path quickly: a blob-finding pose model and a whole-picture person
detector (:mod:`mocap.pose2d.testmodels`) find it, so every keypoint lands on the point's projection.
"""

from __future__ import annotations

import json
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
        _write_timestamps(folder / "videos" / f"{name}_timestamps.csv", starts[c], kept, fps, drift[c], rng)
    kp = Keypoints2D(xy=xy, score=score, camera_names=names, image_sizes=seen.image_sizes, fps=fps)
    kp.save(folder / "output" / "pose2d.npz")
    _write_calibration(group, folder)
    return SyntheticSync(folder, names, (starts[0] - starts).astype(float), fps, n_frames)


def _write_timestamps(path: Path, start: int, kept, fps: float, drift_ppm: float, rng) -> None:
    """One camera's timestamps: master time of its frames ``kept`` (it starts ``start`` frames late),
    with 1 ms grab jitter and its clock's drift."""
    stamps = TimestampsWriter(path)
    period = 1e9 / fps / (1 + drift_ppm * 1e-6)
    first = 10 ** 12 + start * 1e9 / fps
    for i, f in enumerate(kept):
        stamps.write(i, int(first + f * period + rng.normal(0, 1e6)))
    stamps.close()


def _write_calibration(group, folder: Path) -> None:
    import calibration

    (folder / "calibration").mkdir(parents=True, exist_ok=True)
    calibration.save_calibration(group, folder / "calibration" / "calibration.toml")


@dataclass(frozen=True)
class BlobSession:
    folder: Path
    names: tuple[str, ...]
    starts: np.ndarray  # (C,) camera c's frame f is master frame starts[c] + f
    fps: float
    n_frames: int  # per camera
    point: np.ndarray  # (master frames, 3) the point's path in metres

    @property
    def offsets(self) -> np.ndarray:
        return (self.starts[0] - self.starts).astype(float)


def blob_path(n_frames: int, fps: float, seed: int = 0) -> np.ndarray:
    """(T, 3) a point moving smoothly, never repeating itself over a short clip, about 1 m up."""
    t = np.arange(n_frames) / fps
    ph = np.random.default_rng(seed).uniform(0, 2 * np.pi, 3)
    return np.stack([0.35 * np.sin(1.3 * t + ph[0]), 0.3 * np.sin(2.1 * t + ph[1]) + 0.1 * t,
                     0.9 + 0.25 * np.sin(3.1 * t + ph[2])], axis=-1)


def write_blob_session(folder: str | os.PathLike, starts=(0, 7, 13), *, n_frames: int = 40, fps: float = 30.0,
                       size=(192, 144), sigma: float = 3.0, timestamps: bool = True, seed: int = 0,
                       models: Path | None = None) -> BlobSession:
    """Write a session of a moving point filmed by a ring of cameras starting ``starts`` master
    frames late (MJPG videos, ``calibration/calibration.toml``, timestamps unless ``timestamps`` is
    false) and a ``session.toml`` whose 2D stage finds the point: the rtmw backend with the test
    models, written to ``models`` (default ``folder/models``) unless already there."""
    from mocap.pose2d.testmodels import blob_simcc_model, box_detector_model, draw_blob
    from mocap.synthetic import camera_ring

    folder = Path(folder)
    for sub in ("videos", "output"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    starts = np.asarray(starts, dtype=int)
    point = blob_path(n_frames + int(starts.max()), fps, seed)
    group = camera_ring(len(starts), size=size, radius=3.0, distortion=False, seed=seed)
    uv = group.project(point[:, None, None])[:, :, 0, 0]  # (C, master, 2)
    for c, name in enumerate(group.names):
        writer = cv2.VideoWriter(str(folder / "videos" / f"{name}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
        for f in range(n_frames):
            image = np.zeros((size[1], size[0], 3), np.uint8)
            draw_blob(image, *uv[c, starts[c] + f], sigma)
            writer.write(image)
        writer.release()
        if timestamps:
            _write_timestamps(folder / "videos" / f"{name}_timestamps.csv", starts[c], range(n_frames), fps, 0.0, rng)
    _write_calibration(group, folder)
    models = Path(models) if models is not None else folder / "models"
    models.mkdir(parents=True, exist_ok=True)
    model, detector = models / "blob_pose.onnx", models / f"box_detector_{size[0]}x{size[1]}"
    if not model.is_file():
        blob_simcc_model(model, input_size=(192, 256))
    if not (detector / "end2end.onnx").is_file():
        # an mmdeploy-style folder: its pipeline.json gives the (small) input size
        side = 160
        detector.mkdir(exist_ok=True)
        (detector / "pipeline.json").write_text(json.dumps({"pipeline": {"tasks": [
            {"module": "Transform", "transforms": [{"type": "Resize", "size": [side, side]}]}]}}))
        ratio = side / max(size)
        box_detector_model(detector / "end2end.onnx", (0.0, 0.0, size[0] * ratio, size[1] * ratio), (side, side))
    (folder / "session.toml").write_text(
        f'[pose2d]\nbackend = "rtmw"\nmodel = "{model.resolve()}"\ndetector = "{detector.resolve()}"\n'
        'device = "cpu"\n\n[report]\nenabled = false\n')
    return BlobSession(folder, tuple(group.names), starts, fps, n_frames, point)

"""Per-camera 2D jobs: the pieces of the pose2d stage, which ``mocap batch`` fans out.

A :class:`Pose2DJob` is one camera's video read by its row of the stage's frame table
(:mod:`mocap.pipeline.timeline`) through the ``[pose2d]`` backend, with tracking, person slots and
left/right repair: :func:`mocap.pose2d.run.estimate_videos` on that one video. Each camera's result
depends on its own video alone (trackers, slots and repairs are per camera), so the cameras can run
anywhere, in any order. A job's result, a one-camera ``Keypoints2D``, is its *part*:
``output/.pose2d_parts/<camera>-<key>.npz``, where the key hashes everything the result depends on
(the video's content, its frames and steps, the keypoint settings of ``[pose2d]``, the 2D code). A
part is therefore never taken for another; it can be made by any process at any time (the stage
itself, a pool worker, a Ray task), written in one rename; and it outlives reruns of the stage that
do not change it (a new overlay setting, another camera's new video).

:func:`merge` stacks the parts of all cameras into the stage's ``Keypoints2D``: the union of their
steps, person slots padded to the most any camera has. That equals ``estimate_videos`` over all the
videos at once (tested), so a batch run and ``mocap run`` give the same ``pose2d.npz``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PARTS = ".pose2d_parts"
# [pose2d] settings a camera's keypoints depend on (overlays, JSON and frame ranges do not: the
# frames are in the key themselves).
KEY_SETTINGS = ("backend", "model", "detector", "device", "fp16", "batch_frames", "detect_every")
CODE = ("mocap/pose2d", "mocap/video.py", "mocap/models", "mocap/pipeline/parts.py", "mocap/data.py", "mocap/skeleton")


@dataclass(frozen=True, eq=False)
class Pose2DJob:
    """One camera's 2D keypoints over its frames (module docstring); picklable, for workers."""

    session: Path  # the session folder
    camera: str
    video: Path
    steps: np.ndarray  # (T,) timeline steps
    frames: np.ndarray  # (T,) this camera's video frame at each step, -1 none
    settings: dict = field(default_factory=dict)  # KEY_SETTINGS of [pose2d]
    key: str = ""

    @property
    def path(self) -> Path:
        return self.session / "output" / PARTS / f"{self.camera}-{self.key[:24]}.npz"

    @property
    def info_path(self) -> Path:
        """What ran it (the ONNX provider), written just before the part (nothing that differs between
        two runs: parts are outputs that reruns must reproduce)."""
        return self.path.with_suffix(".json")

    def info(self) -> dict:
        try:
            return json.loads(self.info_path.read_text())
        except (OSError, ValueError):
            return {}

    def done(self) -> bool:
        return self.path.is_file()

    def table(self):
        from mocap.video import FrameTable

        return FrameTable(self.steps, self.frames[None])


def make_jobs(ctx, table) -> list[Pose2DJob]:
    """The job of every camera of the session for ``table`` (a :class:`~mocap.video.FrameTable`)."""
    from mocap.pipeline.manifest import code_digest, code_root

    s = ctx.settings["pose2d"]
    settings = {k: _absolute(s[k], ctx.session.root) if k in ("model", "detector") else s[k] for k in KEY_SETTINGS}
    code = code_digest(code_root(), CODE)
    jobs = []
    for c, cam in enumerate(ctx.plan.cameras):
        frames = table.frames[c]
        payload = {"video": ctx.digest(cam.path), "steps": table.steps.tolist(), "frames": frames.tolist(),
                   "settings": settings, "code": code, "camera": cam.name}
        key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        jobs.append(Pose2DJob(ctx.session.root, cam.name, cam.path, table.steps, frames, settings, key))
    return jobs


def _absolute(name, root: Path):
    """A model given as a path, made absolute (relative to the session folder, as session.toml's
    paths are, else to here), so that a worker anywhere finds it; a cache name stays as it is."""
    if name is None or Path(name).is_absolute():
        return name
    for base in (root, Path.cwd()):
        if (base / name).exists():
            return str((base / name).resolve())
    return name


def _backend(settings: dict):
    from mocap.pose2d import make_backend

    return make_backend(settings["backend"], settings["model"], settings["detector"], settings["device"],
                        settings["fp16"])


def run_job(job: Pose2DJob, backend=None, progress: bool = False) -> float:
    """Do ``job`` and write its part (a backend may be given, to share its models between jobs);
    returns the seconds it took."""
    import time

    from mocap.fileio import atomic_write, make_output_folder
    from mocap.pose2d.run import estimate_videos

    start = time.perf_counter()
    own = backend is None
    backend = _backend(job.settings) if own else backend
    try:
        kp = estimate_videos([job.video], backend, camera_names=[job.camera], frames=job.table(),
                             batch_frames=job.settings["batch_frames"], detect_every=job.settings["detect_every"],
                             progress=progress)
    finally:
        if own and hasattr(backend, "close"):
            backend.close()
    seconds = time.perf_counter() - start
    make_output_folder(job.path.parent)
    with atomic_write(job.info_path) as f:
        json.dump({"camera": job.camera, "provider": backend.provider}, f)
    kp.save(job.path)
    return seconds


def run_jobs(jobs: list[Pose2DJob], progress: bool = True) -> None:
    """Do the jobs not done yet, here, one camera after another, with one backend."""
    todo = [j for j in jobs if not j.done()]
    if not todo:
        return
    backend = _backend(todo[0].settings)
    try:
        for job in todo:
            run_job(job, backend, progress)
    finally:
        if hasattr(backend, "close"):
            backend.close()


def merge(jobs: list[Pose2DJob], fps: float | None = None):
    """The parts of ``jobs`` (one per camera, in order) as one ``Keypoints2D`` (module docstring)."""
    from mocap.data import Keypoints2D

    return stack_cameras([Keypoints2D.load(j.path) for j in jobs], fps)


def stack_cameras(parts: list, fps: float | None = None):
    """One-camera ``Keypoints2D`` (in camera order) as one: the union of their steps, person slots
    padded to the most any camera has; ``fps`` (default the first part's)."""
    import dataclasses

    steps = np.unique(np.concatenate([p.frame_index for p in parts]))
    n_persons = max(p.n_persons for p in parts)
    shape = (len(parts), len(steps), n_persons)
    xy = np.full(shape + parts[0].xy.shape[3:], np.nan)
    score = np.zeros(shape + parts[0].score.shape[3:])
    swapped = np.zeros(shape + parts[0].swapped.shape[3:], bool)
    for c, part in enumerate(parts):
        rows = np.searchsorted(steps, part.frame_index)
        xy[c, rows, :part.n_persons] = part.xy[0]
        score[c, rows, :part.n_persons] = part.score[0]
        swapped[c, rows, :part.n_persons] = part.swapped[0]
    return dataclasses.replace(parts[0], xy=xy, score=score, swapped=swapped,
                               camera_names=tuple(p.camera_names[0] for p in parts),
                               image_sizes=np.concatenate([p.image_sizes for p in parts]), frame_index=steps,
                               fps=parts[0].fps if fps is None else fps)


def remove_unused(session_root: Path, keep: list[Pose2DJob]) -> None:
    """Delete the parts (and leftovers of interrupted writes) that ``keep`` does not use."""
    folder = session_root / "output" / PARTS
    if not folder.is_dir():
        return
    wanted = {p.name for j in keep for p in (j.path, j.info_path)}
    for p in folder.iterdir():
        if p.name not in wanted and p.is_file():
            p.unlink(missing_ok=True)

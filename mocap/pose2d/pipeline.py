"""The 2D stage as one call: videos -> ``pose2d.npz`` (+ OpenPose JSON, overlays, pose maps).

:func:`make_backend` builds a backend from model names or paths (the registry says input size and
normalisation); :func:`run_pose2d` reads the videos, runs it, tracks, and writes the outputs.

The offline backend (``mediapipe``) uses a person detector when one is in the model cache
(``rtmdet-nano-person``, pulled or imported): then it runs on each person's crop and finds several
people. Without one it runs single-person (the whole frame, one tracker per camera) and says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from mocap.data import Keypoints2D
from mocap.errors import SettingsError
from mocap.pose2d.base import PoseBackend

log = logging.getLogger("mocap.pose2d")
DEFAULT_DETECTOR = "rtmdet-nano-person"


def make_detector(name_or_path, device="auto", fp16=False, score_threshold=0.3):
    from mocap.models import resolve
    from mocap.pose2d.detector import PersonDetector

    m = resolve(str(name_or_path), kind="detector")
    e = m.entry
    return PersonDetector(m.onnx_path, input_size=e.input_size, mean=e.mean, std=e.std, to_rgb=e.to_rgb,
                          score_threshold=score_threshold, device=device, fp16=fp16)


def default_detector_name() -> str | None:
    """``rtmdet-nano-person`` when it is in the model cache (pulled or imported), else None."""
    from mocap.models import installed

    return DEFAULT_DETECTOR if installed(DEFAULT_DETECTOR) is not None else None


def make_backend(backend: str = "mediapipe", model: str | None = None, detector: str | None = None,
                 device: str = "auto", fp16: bool = False, max_batch: int | None = None, *,
                 hands: bool = True, face: bool = True, world: bool = False) -> PoseBackend:
    """``backend`` "rtmw" (``model``: registry/cache name or .onnx path; ``detector`` likewise,
    default the cached ``rtmdet-nano-person``) or "mediapipe" (``detector``: a cache name or path;
    default the cached ``rtmdet-nano-person`` if there is one, else none; "none" forces the
    single-person mode; ``hands`` / ``face``: the part crops; ``world``: metric world points)."""
    if backend == "rtmw":
        from mocap.models import resolve
        from mocap.pose2d.rtmw import RTMWBackend, SimCCPoseModel

        m = resolve(model or "rtmw-l", kind="pose")
        e = m.entry
        pose = SimCCPoseModel(m.onnx_path, input_size=None if e.input_size == (0, 0) else e.input_size,
                              mean=e.mean, std=e.std, to_rgb=e.to_rgb, device=device, fp16=fp16)
        det = make_detector(detector or DEFAULT_DETECTOR, device, fp16)
        return RTMWBackend(pose, det, max_batch=max_batch)
    if backend == "mediapipe":
        from mocap.pose2d.mediapipe_backend import MediaPipeBackend

        if model:
            raise SettingsError("--model is for the rtmw backend; mediapipe uses its bundled models")
        if detector is None:
            detector = default_detector_name()
            if detector is None:
                log.warning("no person detector in the model cache: the mediapipe backend runs single-person "
                            "(one person per camera, the whole frame); `mocap models pull %s` finds several",
                            DEFAULT_DETECTOR)
        elif str(detector).lower() == "none":
            detector = None
        det = make_detector(detector, device, fp16) if detector else None
        return MediaPipeBackend(det, hands=hands, face=face, world=world)
    raise SettingsError(f"unknown 2D backend {backend!r}; choose rtmw or mediapipe")


@dataclass
class Pose2DResult:
    keypoints: Keypoints2D
    pose2d_npz: Path
    provider: str
    openpose_dirs: list[Path] = field(default_factory=list)
    overlays: list[Path] = field(default_factory=list)
    pose_maps: list[Path] = field(default_factory=list)
    backend: str = ""


def run_pose2d(videos, output_dir, backend: PoseBackend | str = "mediapipe", *, model=None, detector=None,
               device="auto", fp16=False, start=0, stop=None, stride=1, batch_frames=4, detect_every=1,
               overlay: str | None = None, openpose_layout: str | None = None, pose_maps: bool = False,
               hands: bool = True, face: bool = True, progress=True) -> Pose2DResult:
    """Run the 2D stage on ``videos`` and write ``output_dir/pose2d.npz`` (and the optional outputs:
    ``overlay`` "video" or "images" into ``output_dir/overlay``; OpenPose JSON in
    ``openpose_layout`` into ``output_dir/openpose``; ``pose_maps``: ControlNet pose-map PNGs into
    ``output_dir/pose_maps/<camera>/``). Overlays and pose maps are drawn from the finished result:
    person slots and repaired left/right labels."""
    from mocap.fileio import check_output_path
    from mocap.io import write_openpose_json
    from mocap.pose2d.overlay import write_overlays
    from mocap.pose2d.run import estimate_videos
    from mocap.video import VideoReader

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    npz = check_output_path(output_dir / "pose2d.npz")
    readers = [VideoReader(v) for v in videos]
    if isinstance(backend, str):
        backend = make_backend(backend, model, detector, device, fp16, hands=hands, face=face)
    log.info("2D backend: %s", backend.describe())
    try:
        kp = estimate_videos(readers, backend, start=start, stop=stop, stride=stride, batch_frames=batch_frames,
                             detect_every=detect_every, progress=progress)
    finally:
        if hasattr(backend, "close"):
            backend.close()
    kp.save(npz)
    result = Pose2DResult(kp, npz, backend.provider, backend=backend.describe())
    if overlay:
        result.overlays = write_overlays(readers, kp, output_dir / "overlay", overlay, progress=progress)
    if pose_maps:
        from mocap.posemaps import write_pose_maps_2d

        result.pose_maps = write_pose_maps_2d(kp, output_dir / "pose_maps", progress=progress)
    if openpose_layout:
        result.openpose_dirs = write_openpose_json(kp, output_dir / "openpose", openpose_layout,
                                                   frame_numbers=kp.frame_index)
    return result

"""Each camera's monocular 3D, beside the 2D it came with: :class:`LiftedViews` and ``lifted.npz``.

A lifting backend sees one image at a time and gives, per person, 2D keypoints and a 3D guess
relative to the person's root (the hips' midpoint), in the camera's axes (x right, y down, z
forward), in one of two kinds:

* ``"skeleton"``: a whole root-relative skeleton in metres (MediaPipe's world landmarks);
* ``"depth"``: the depth of each keypoint relative to the root only (RTMW3D); x and y come from
  the 2D keypoints once the camera's intrinsics are known (:func:`skeletons`).

``lifted.npz`` holds a :class:`LiftedViews`: the 2D as a :class:`~mocap.data.Keypoints2D`
(person slots as the 2D stage numbers them: tracks in order of first appearance) and ``rel``
(C, T, P, 133, 3) in the same slots; ``rel_kind`` says which kind, ``backend`` which model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lifting.body import TYPICAL_HEIGHT
from lifting.rtmw3d import skeleton_from_depth
from mocap.data import Keypoints2D, read_npz, write_npz
from mocap.errors import InputFileError, SettingsError

REL_KINDS = ("skeleton", "depth")
LIFTING_BACKENDS = ("rtmw3d", "mediapipe")
DEFAULT_RTMW3D = "rtmw3d-x"
_KIND = "LiftedViews"


@dataclass(frozen=True, eq=False)
class LiftedViews:
    """2D keypoints and the root-relative 3D of the same detections (see the module docstring)."""

    keypoints: Keypoints2D
    rel: np.ndarray
    rel_kind: str
    backend: str = ""

    def __post_init__(self):
        object.__setattr__(self, "rel", np.asarray(self.rel, dtype=np.float64))
        if self.rel_kind not in REL_KINDS:
            raise ValueError(f"rel_kind must be one of {REL_KINDS}, got {self.rel_kind!r}")
        if self.rel.shape != self.keypoints.xy.shape[:-1] + (3,):
            raise ValueError(f"rel has shape {self.rel.shape}, expected {self.keypoints.xy.shape[:-1] + (3,)}")

    def camera(self, name: str | None) -> int:
        """Index of camera ``name``; with None, the only camera (SettingsError when there are several)."""
        names = list(self.keypoints.camera_names)
        if name is None:
            if len(names) != 1:
                raise SettingsError(f"the lifted keypoints hold {len(names)} cameras ({', '.join(names)}); "
                                    f"choose one with --camera")
            return 0
        if name not in names:
            raise SettingsError(f"no camera {name!r}; the lifted keypoints hold {', '.join(names)}")
        return names.index(name)

    def save(self, path) -> Path:
        return write_npz(path, {"kind": np.array(_KIND), "rel": self.rel, "rel_kind": np.array(self.rel_kind),
                                "backend": np.array(self.backend), **self.keypoints.to_arrays()})

    @classmethod
    def load(cls, path) -> "LiftedViews":
        data = read_npz(path)
        kind = str(data.get("kind", ""))
        if kind != _KIND:
            hint = " (2D keypoints only: lifting needs a lifting backend's output, lifted.npz)" \
                if kind == "Keypoints2D" else ""
            raise InputFileError(f"holds {kind or 'unknown data'!r}, expected {_KIND!r}{hint}", path)
        keypoints = Keypoints2D.from_arrays(data, path)
        try:
            return cls(keypoints, data["rel"], str(data["rel_kind"]), str(data.get("backend", "")))
        except (KeyError, ValueError) as exc:
            raise InputFileError(f"inconsistent or missing arrays ({exc})", path) from exc


def default_camera(size) -> tuple[np.ndarray, float]:
    """Intrinsics assumed for a camera without calibration: principal point at the image centre
    and a focal length of 0.75 x the longer side (a phone's or webcam's 65-70 degree view).
    Returns (centre (2,), focal)."""
    w, h = (float(v) for v in size)
    return np.array([(w - 1) / 2, (h - 1) / 2]), 0.75 * max(w, h)


def calibration_pixels(views: LiftedViews, c: int, camera) -> np.ndarray:
    """Camera ``c``'s 2D keypoints (T, P, K, 2) in the pixels of its calibration ``camera`` (rescaled
    from the video's image size when the two differ, with the triangulation's warning)."""
    from calibration import CameraGroup
    from mocap.triangulate import to_calibration_pixels

    kp = views.keypoints
    return to_calibration_pixels(kp.xy[c:c + 1], kp.image_sizes[c:c + 1], CameraGroup((camera,)))[0]


def normalized(views: LiftedViews, c: int, camera=None) -> np.ndarray:
    """Camera ``c``'s 2D keypoints as normalized image coordinates (T, P, K, 2): undistorted through
    ``camera`` (a calibration.Camera, rescaled to its image size), or the :func:`default_camera`."""
    if camera is None:
        centre, focal = default_camera(views.keypoints.image_sizes[c])
        return (views.keypoints.xy[c] - centre) / focal
    return camera.undistort_points(calibration_pixels(views, c, camera))


def skeletons(views: LiftedViews, c: int, camera=None, height: float | None = None, uv=None) -> np.ndarray:
    """Camera ``c``'s root-relative skeletons (T, P, K, 3) in its axes, metres.

    "depth" views become skeletons through the 2D keypoints (``uv``, default :func:`normalized`)
    and :func:`lifting.rtmw3d.skeleton_from_depth` at ``height`` (default typical)."""
    if views.rel_kind == "skeleton":
        return views.rel[c]
    uv = normalized(views, c, camera) if uv is None else uv
    rel, _ = skeleton_from_depth(uv, views.rel[c, ..., 2], height or TYPICAL_HEIGHT)
    return rel


def make_lifting_backend(backend: str = "rtmw3d", model: str | None = None, detector: str | None = None,
                         device: str = "auto", fp16: bool = False, max_batch: int | None = None):
    """A lifting backend: "rtmw3d" (``model``: registry/cache name or .onnx path, default
    ``rtmw3d-x``; ``detector`` as for the 2D stage, default rtmdet-nano-person) or "mediapipe"
    (the offline 2D backend with its metric world landmarks, body and hands; ``detector`` optional,
    as there)."""
    from mocap.pose2d.pipeline import DEFAULT_DETECTOR, make_detector

    if backend == "mediapipe":
        from mocap.pose2d.mediapipe_backend import MediaPipeBackend

        if model:
            raise SettingsError("--model is for the rtmw3d backend; mediapipe uses its bundled models")
        # no face mesh: MediaPipe gives the face no world landmarks, so it would be 2D work for nothing
        return MediaPipeBackend(make_detector(detector, device, fp16) if detector else None, world=True, face=False)
    if backend != "rtmw3d":
        raise SettingsError(f"unknown lifting backend {backend!r}; choose one of {', '.join(LIFTING_BACKENDS)}")
    from mocap.models import resolve
    from mocap.pose2d.rtmw3d import RTMW3DBackend, SimCC3DPoseModel

    m = resolve(model or DEFAULT_RTMW3D, kind="pose")
    e = m.entry
    pose = SimCC3DPoseModel(m.onnx_path, input_size=None if e.input_size == (0, 0) else e.input_size,
                            mean=e.mean, std=e.std, to_rgb=e.to_rgb, device=device, fp16=fp16)
    return RTMW3DBackend(pose, make_detector(detector or DEFAULT_DETECTOR, device, fp16), max_batch=max_batch)


def estimate_lifted(videos, backend, *, start: int = 0, stop: int | None = None, stride: int = 1,
                    batch_frames: int = 4, detect_every: int = 1, progress: bool = True, frames=None) -> LiftedViews:
    """Run a lifting backend over videos (one per camera): 2D and root-relative 3D of every person,
    in the 2D stage's person slots and with its left/right repairs applied to both
    (:func:`mocap.pose2d.run.estimate_videos`; ``frames``: its frame table, for synchronized videos)."""
    from mocap.pose2d.run import estimate_videos

    depth_only = backend.name == "rtmw3d"
    kp, values = estimate_videos(videos, backend, start=start, stop=stop, stride=stride, batch_frames=batch_frames,
                                 detect_every=detect_every, progress=progress, world="depth" if depth_only else True,
                                 frames=frames)
    if depth_only:
        values = np.concatenate([np.full(kp.score.shape + (2,), np.nan), values[..., :1]], axis=-1)
    return LiftedViews(kp, values, "depth" if depth_only else "skeleton", backend.describe())


def lifted_path(output_dir: str | os.PathLike) -> Path:
    return Path(output_dir) / "lifted.npz"

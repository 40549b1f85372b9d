"""``mocap lift`` on files: one camera -> ``pose3d.npz``; lifted views -> a triangulation's gaps filled.

Inputs :func:`lift` takes:

* a session folder: the lifting backend runs on its camera's video (``videos/``; ``camera``
  picks one when there are several) and writes ``OUT/lifted.npz``; a folder without videos but
  with ``output/lifted.npz`` reuses that;
* a ``lifted.npz`` (what a lifting run wrote);
* a ``pose2d.npz`` with a ``lifted.npz`` beside it (2D keypoints alone hold no 3D to lift).

The calibration is ``calibration`` or the session's (``calibration/calibration.toml`` first, then
any other calibration file there); without one the output stays root-relative in the camera's frame
(:class:`~mocap.lift.single.UncalibratedWarning`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


from lifting import FillResult, Placement
from mocap.data import Keypoints3D, npz_kind
from mocap.errors import CalibrationFileError, InputFileError, SettingsError
from mocap.fileio import make_output_folder
from mocap.lift.fill import fill_with_lifting
from mocap.lift.single import lift_camera
from mocap.lift.views import LiftedViews, estimate_lifted, lifted_path, make_lifting_backend
from mocap.session.layout import Session

@dataclass(frozen=True, eq=False)
class LiftRunResult:
    """What :func:`lift` made: ``keypoints`` (also in ``pose3d_npz``, and per person in ``trc``
    when calibrated), the ``placement`` (height used and its source, counts of person-frames placed
    / unseen / too small), the ``camera`` lifted, whether it was ``calibrated``, and ``lifted_npz``
    when a backend ran."""

    keypoints: Keypoints3D
    placement: Placement
    camera: str
    calibrated: bool
    pose3d_npz: Path
    lifted_npz: Path | None = None
    trc: tuple[Path, ...] = ()  # pose3d.trc, pose3d_p1.trc, ... (with a calibration: world axes)


def session_calibration(folder: Path) -> Path | None:
    """The session's calibration file: ``calibration/calibration.toml``, else the first other one."""
    files = Session(Path(folder)).calibration_files()
    return files[0] if files else None


def _camera_of(group, name: str, path):
    """The calibration's camera called ``name`` (or its only camera)."""
    if name in group.names:
        return group[name]
    if len(group) == 1:
        return group.cameras[0]
    raise CalibrationFileError(f"has no camera {name!r} (it has {', '.join(group.names)})", path)


def _views_from(input_path: Path, output_dir: Path, camera: str | None, backend: str, model, detector, device,
                start, stop, stride, progress) -> tuple[LiftedViews, Path | None, Path | None]:
    """(views, lifted.npz written or None, session folder or None) for any accepted input."""
    if input_path.is_dir():
        from mocap.video import VIDEO_SUFFIXES, find_videos

        videos_dir = input_path / "videos"
        has_videos = videos_dir.is_dir() and any(p.suffix.lower() in VIDEO_SUFFIXES for p in videos_dir.iterdir())
        if not has_videos:
            cached = lifted_path(input_path / "output")
            if cached.is_file():
                return LiftedViews.load(cached), None, input_path
            raise InputFileError("holds neither videos/ nor output/lifted.npz", input_path)
        videos = find_videos(input_path)
        stems = [v.stem for v in videos]
        if camera is None and len(videos) > 1:
            raise SettingsError(f"the session has {len(videos)} cameras ({', '.join(stems)}); lift one with "
                                f"--camera NAME, or triangulate them")
        if camera is not None and camera not in stems:
            raise SettingsError(f"no video for camera {camera!r} in {videos_dir} (found {', '.join(stems)})")
        video = videos[stems.index(camera) if camera else 0]
        views = estimate_lifted([video], make_lifting_backend(backend, model, detector, device), start=start,
                                stop=stop, stride=stride, progress=progress)
        return views, views.save(lifted_path(output_dir)), input_path
    if npz_kind(input_path) == "Keypoints2D":
        beside = lifted_path(input_path.parent)
        if not beside.is_file():
            raise InputFileError("holds 2D keypoints only, and no lifted.npz is beside it: lifting needs a "
                                 "lifting backend's 3D; run `mocap lift DIR` on the session's video", input_path)
        input_path = beside
    return LiftedViews.load(input_path), None, None


def lift(input_path, output_dir=None, *, calibration=None, camera: str | None = None, backend: str = "rtmw3d",
         model: str | None = None, detector: str | None = None, device: str = "auto", height: float | None = None,
         world_frame: str = "z_up", smoothing: float = 0.25, min_score: float = 0.3, start: int = 0,
         stop: int | None = None, stride: int = 1, progress: bool = True) -> LiftRunResult:
    """One camera -> ``OUT/pose3d.npz`` (see the module docstring; OUT defaults to the session's
    ``output/``, or the input's folder). ``world_frame``: what the calibration's world is ("floor":
    feet are put on z = 0). Returns a :class:`LiftRunResult`."""
    from mocap.api import load_calibration

    input_path = Path(input_path)
    if not input_path.exists():
        raise InputFileError("not found", input_path)
    default_out = input_path / "output" if input_path.is_dir() else input_path.parent
    output_dir = make_output_folder(Path(output_dir) if output_dir is not None else default_out)
    if stride < 1 or start < 0:
        raise SettingsError(f"start must be >= 0 and stride >= 1, got {start} and {stride}")
    views, written, session = _views_from(input_path, output_dir, camera, backend, model, detector, device,
                                          start, stop, stride, progress)
    c = views.camera(camera)
    name = views.keypoints.camera_names[c]
    cal_path = calibration if calibration is not None else (session_calibration(session) if session else None)
    cam = _camera_of(load_calibration(cal_path), name, cal_path) if cal_path is not None else None
    result = lift_camera(views, name, cam, height=height, world_frame=world_frame, min_score=min_score,
                         smoothing=smoothing)
    kp = result.keypoints
    npz = kp.save(output_dir / "pose3d.npz")
    trc = ()
    if cam is not None:  # root-relative camera-frame points would make a misleading TRC
        from exporters import write_trcs

        trc = tuple(write_trcs(kp, output_dir))
    return LiftRunResult(kp, result.placement, name, cam is not None, npz, written, trc)


def fill_pose3d(pose3d_path, lifted_views_path, calibration, output_path=None, *, min_score: float = 0.3,
                min_common: int = 6) -> tuple[FillResult, Path]:
    """A triangulated ``pose3d.npz`` with the keypoints fewer than two cameras agreed on filled from
    ``lifted.npz`` (:func:`mocap.lift.fill_with_lifting`); written to ``output_path`` (default
    ``pose3d_filled.npz`` beside the input). Returns (the FillResult, the path written)."""
    from mocap.api import load_calibration, load_result

    kp3d = load_result(pose3d_path)
    if not isinstance(kp3d, Keypoints3D):
        raise InputFileError("holds a motion; fill-in takes 3D keypoints (pose3d.npz)", pose3d_path)
    views = LiftedViews.load(lifted_views_path)
    group = load_calibration(calibration)
    if not set(views.keypoints.camera_names) & set(group.names):
        raise CalibrationFileError(f"shares no camera with {lifted_views_path} ({', '.join(group.names)} vs "
                                   f"{', '.join(views.keypoints.camera_names)})", calibration)
    names = tuple(kp3d.camera_names)
    if names and names != tuple(group.names) and set(names) <= set(group.names):
        group = group.subset(kp3d.camera_names)
    result = fill_with_lifting(kp3d, views, group, min_score=min_score, min_common=min_common)
    out = Path(output_path) if output_path is not None else Path(pose3d_path).with_name("pose3d_filled.npz")
    return result, result.keypoints.save(os.fspath(out))

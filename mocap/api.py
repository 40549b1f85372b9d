"""The public Python API: one function per command-line verb.

Each function takes paths and settings, runs the pure stages, and writes its outputs atomically;
errors a user can cause raise :class:`mocap.errors.MocapError` (or ``calibration.CalibrationError``
for calibration files), naming the file and the problem.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import calibration
from mocap.armature import body_motion
from mocap.data import Keypoints2D, Keypoints3D, Motion
from mocap.errors import CalibrationFileError, InputFileError, OutputError, SettingsError
from mocap.io import read_openpose_json
from mocap.triangulate import triangulate

EXPORT_FORMATS = ("bvh", "trc", "csv", "npz")


def load_calibration(path: str | os.PathLike) -> "calibration.CameraGroup":
    """Any supported calibration file (anipose/Pose2Sim TOML, Qualisys .qca.txt)."""
    try:
        return calibration.load_calibration(path)
    except calibration.CalibrationError as exc:
        raise CalibrationFileError(exc.problem if hasattr(exc, "problem") else str(exc), path) from exc


def import_calibration(path: str | os.PathLike, output: str | os.PathLike) -> Path:
    """Convert a calibration file of any supported format to the native TOML."""
    group = load_calibration(path)
    _make_output_folder(Path(output).parent)
    calibration.save_calibration(group, output)
    return Path(output)


def match_cameras(group, camera_names, calibration_path) -> "calibration.CameraGroup":
    """The calibration's cameras in the keypoints' order: by name when every name is found,
    else by position when the counts agree."""
    names = list(camera_names)
    if len(group) != len(names):
        raise CalibrationFileError(f"has {len(group)} cameras ({', '.join(group.names)}) but keypoints were "
                                   f"given for {len(names)} ({', '.join(names)})", calibration_path)
    if set(names) <= set(group.names):
        return group.subset(names)
    return group


def _make_output_folder(folder: Path) -> Path:
    folder = Path(folder) if str(folder) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc.strerror})", folder) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError("the output folder is not writable", folder)
    return folder


@dataclass(frozen=True)
class TriangulationResult:
    keypoints: Keypoints3D
    pose3d_npz: Path
    pose3d_trc: Path


def triangulate_openpose(calibration_path, json_folders, output_dir, *, layout: str = "body_25", fps: float = 30.0,
                         min_score: float = 0.3, min_views: int = 2, max_association_error: float = 50.0,
                         progress: bool = True) -> TriangulationResult:
    """OpenPose JSON folders (one per camera) + a calibration -> OUT/pose3d.npz and OUT/pose3d.trc."""
    from exporters import write_trc

    if fps <= 0:
        raise SettingsError(f"fps must be positive, got {fps}")
    group = load_calibration(calibration_path)
    output_dir = _make_output_folder(Path(output_dir))
    kp2d = read_openpose_json(json_folders, layout=layout, fps=fps, progress=progress)
    group = match_cameras(group, kp2d.camera_names, calibration_path)
    kp2d = Keypoints2D(xy=kp2d.xy, score=kp2d.score, camera_names=kp2d.camera_names,
                       image_sizes=np.array([cam.size for cam in group.cameras]), layout=kp2d.layout, fps=fps)
    kp3d = triangulate(group, kp2d, min_score=min_score, min_views=min_views,
                       max_association_error=max_association_error)
    npz = kp3d.save(output_dir / "pose3d.npz")
    trc = output_dir / "pose3d.trc"
    write_trc(kp3d, trc)
    return TriangulationResult(kp3d, npz, trc)


def load_result(path: str | os.PathLike) -> Keypoints3D | Motion:
    """A pose3d.npz (Keypoints3D) or motion.npz (Motion), told apart by the file's own tag."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError("file not found", path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            kind = str(npz["kind"]) if "kind" in npz.files else ""
    except (OSError, ValueError) as exc:
        raise InputFileError(f"not a readable .npz file ({exc})", path) from exc
    for cls in (Keypoints3D, Motion):
        if kind == cls._kind:
            return cls.load(path)
    raise InputFileError(f"holds {kind or 'unknown data'!r}; expected 3D keypoints or a motion", path)


def export(fmt: str, input_path, output_path, *, person: int = 0) -> Path:
    """Write ``input_path`` (pose3d.npz or motion.npz) as BVH, TRC, CSV or NPZ."""
    from exporters import write_bvh, write_csv, write_trc

    fmt = fmt.lower()
    if fmt not in EXPORT_FORMATS:
        raise SettingsError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    data = load_result(input_path)
    output_path = Path(output_path)
    if isinstance(data, Keypoints3D) and not 0 <= person < data.n_persons:
        raise SettingsError(f"person {person} does not exist; {input_path} holds {data.n_persons}")
    if fmt == "bvh":
        motion = data if isinstance(data, Motion) else body_motion(data, person=person)
        write_bvh(motion, output_path)
    elif isinstance(data, Motion):
        if fmt != "npz":
            raise SettingsError(f"{input_path} holds a motion (joint rotations); {fmt} takes 3D keypoints")
        data.save(output_path)
    elif fmt == "trc":
        write_trc(data, output_path, person=person)
    elif fmt == "csv":
        write_csv(data, output_path)
    else:
        data.save(output_path)
    return output_path

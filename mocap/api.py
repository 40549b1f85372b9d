"""The public Python API: one function per command-line verb.

Each function takes paths and settings, runs the pure stages, and writes its outputs atomically;
errors a user can cause raise :class:`mocap.errors.MocapError` (or ``calibration.CalibrationError``
for calibration files), naming the file and the problem.

Verb → function: ``calibrate`` (and ``calibrate_from_keypoints``), ``calibration import`` →
``import_calibration``, ``pose2d``, ``triangulate`` → ``triangulate_openpose``, ``filter`` →
``filter_pose3d``, ``retarget``, ``export``, ``demo``, ``models`` → ``pull_model`` /
``import_model``, ``lift`` → ``lift`` (one camera) and ``fill_pose3d`` / ``fill_with_lifting``
(a triangulation's gaps filled from lifted 3D); sessions: ``init`` → ``init_session``, ``run`` →
``run_session``, ``report`` → ``build_report``. The stage functions that live beside their packages are loaded on first use,
so ``import mocap.api`` stays light (no ONNX Runtime, torch or matplotlib until needed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import calibration
from mocap.data import Keypoints2D, Keypoints3D, Motion
from mocap.errors import CalibrationFileError, InputFileError, SettingsError
from mocap.fileio import make_output_folder
from mocap.io import read_openpose_json
from mocap.triangulate import triangulate

EXPORT_FORMATS = ("bvh", "fbx", "gltf", "glb", "trc", "c3d", "csv", "npz")


def load_calibration(path: str | os.PathLike) -> "calibration.CameraGroup":
    """Any supported calibration file (anipose/Pose2Sim TOML, Qualisys .qca.txt)."""
    try:
        return calibration.load_calibration(path)
    except calibration.CalibrationError as exc:
        raise CalibrationFileError(exc.problem if hasattr(exc, "problem") else str(exc), path) from exc


def import_calibration(path: str | os.PathLike, output: str | os.PathLike) -> Path:
    """Convert a calibration file of any supported format to the native TOML."""
    group = load_calibration(path)
    make_output_folder(Path(output).parent)
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


@dataclass(frozen=True)
class TriangulationResult:
    keypoints: Keypoints3D
    pose3d_npz: Path
    pose3d_trc: Path  # person (track) 0
    more_trc: tuple[Path, ...] = ()  # pose3d_p1.trc, ... for further tracks


def triangulate_openpose(calibration_path, json_folders, output_dir, *, layout: str = "body_25", fps: float = 30.0,
                         min_score: float = 0.3, min_views: int = 2, max_association_error: float = 50.0,
                         persons: int | None = 1, max_reprojection_error: float = 15.0,
                         progress: bool = True) -> TriangulationResult:
    """OpenPose JSON folders (one per camera) + a calibration -> OUT/pose3d.npz and OUT/pose3d.trc.

    persons: 1 for the subject only; None for everyone, tracked (P axis = track id; one TRC per
    track: pose3d.trc, pose3d_p1.trc, ...); N for the N tracks seen longest.
    """
    from exporters import write_trc

    if fps <= 0:
        raise SettingsError(f"fps must be positive, got {fps}")
    group = load_calibration(calibration_path)
    output_dir = make_output_folder(Path(output_dir))
    kp2d = read_openpose_json(json_folders, layout=layout, fps=fps, progress=progress)
    group = match_cameras(group, kp2d.camera_names, calibration_path)
    kp2d = Keypoints2D(xy=kp2d.xy, score=kp2d.score, camera_names=kp2d.camera_names,
                       image_sizes=np.array([cam.size for cam in group.cameras]), layout=kp2d.layout, fps=fps)
    kp3d = triangulate(group, kp2d, min_score=min_score, min_views=min_views,
                       max_association_error=max_association_error, persons=persons,
                       max_reprojection_error=max_reprojection_error)
    if kp3d.n_persons == 0:
        raise InputFileError(f"nobody was seen by {min_views} cameras or more in any of the {kp2d.n_frames} frames "
                             f"(keypoints above confidence {min_score:g})", Path(json_folders[0]).parent)
    npz = kp3d.save(output_dir / "pose3d.npz")
    trc = [write_trc(kp3d, output_dir / ("pose3d.trc" if p == 0 else f"pose3d_p{p}.trc"), person=p)
           for p in range(kp3d.n_persons)]
    return TriangulationResult(kp3d, npz, trc[0], tuple(trc[1:]))


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


def export(fmt: str, input_path, output_path, *, person: int = 0, rig: str = "default",
           units: str | None = None) -> Path:
    """Write ``input_path`` (pose3d.npz or motion.npz) as BVH, FBX, glTF/GLB, TRC, C3D, CSV or NPZ.

    Armature formats (bvh, fbx, gltf, glb) take a motion as it is, or fit the whole-body armature
    (body and fingers) to 3D keypoints and rename it for ``rig``; marker formats (trc, c3d, csv)
    take 3D keypoints. The output's folder must exist (OutputError otherwise).
    """
    from exporters import write_bvh, write_csv, write_trc
    from mocap.fileio import check_output_path

    fmt = fmt.lower()
    if fmt not in EXPORT_FORMATS:
        raise SettingsError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    data = load_result(input_path)
    output_path = check_output_path(output_path)
    if isinstance(data, Keypoints3D) and not 0 <= person < data.n_persons:
        raise SettingsError(f"person {person} does not exist; {input_path} holds {data.n_persons}")
    if fmt in ("bvh", "fbx", "gltf", "glb"):
        if isinstance(data, Motion):
            motion = data
        else:
            from mocap.retarget import retarget

            motion = retarget(data, person, rig=rig).motion
        if fmt == "bvh":
            write_bvh(motion, output_path)
        elif fmt == "fbx":
            from exporters.fbx import write_fbx
            from mocap.retarget import get_preset

            preset = get_preset(rig)
            write_fbx(motion, output_path, primary_bone_axis=preset.primary_bone_axis,
                      secondary_bone_axis=preset.secondary_bone_axis)
        else:
            from exporters.gltf import write_gltf

            if output_path.suffix.lower() not in (".glb", ".gltf"):
                raise SettingsError(f"a glTF file name must end in .glb or .gltf: {output_path}")
            write_gltf(motion, output_path)
    elif isinstance(data, Motion):
        if fmt != "npz":
            raise SettingsError(f"{input_path} holds a motion (joint rotations); {fmt} takes 3D keypoints")
        data.save(output_path)
    elif fmt == "trc":
        write_trc(data, output_path, person=person, **({"units": units} if units else {}))
    elif fmt == "c3d":
        from exporters.c3d import write_c3d

        write_c3d(data, output_path, person=person, **({"units": units} if units else {}))
    elif fmt == "csv":
        write_csv(data, output_path)
    else:
        data.save(output_path)
    return output_path


def retarget(input_path, output_path, *, person: int = 0, rig: str = "default", foot_lock: bool = False,
             contacts_path=None, smplx_model=None, gender: str = "neutral", progress: bool = False):
    """pose3d.npz -> motion.npz (the whole-body armature for ``rig``); returns the RetargetResult.

    ``contacts_path``: the filter stage's foot_contacts.npz (``contacts`` (T, P, 2)) to lock the
    feet with (implies foot locking). With ``smplx_model`` (a path, or "env" for
    $MOCAP_SMPLX_MODEL) SMPL-X is fitted instead and the AMASS-style fit is written; returns the
    SMPLXFit.
    """
    from mocap.fileio import check_output_path
    from mocap.retarget import get_preset
    from mocap.retarget import retarget as fit

    get_preset(rig)
    data = load_result(input_path)
    if not isinstance(data, Keypoints3D):
        raise InputFileError("holds a motion already; retarget takes 3D keypoints (pose3d.npz)", input_path)
    if not 0 <= person < data.n_persons:
        raise SettingsError(f"person {person} does not exist; {input_path} holds {data.n_persons}")
    check_output_path(output_path)
    if smplx_model is not None:
        from mocap.smplx_fit.fit import fit_smplx

        smplx_fit = fit_smplx(data, None if smplx_model == "env" else smplx_model, person=person, gender=gender,
                              progress=progress)
        smplx_fit.save(output_path)
        return smplx_fit
    contacts = None
    if contacts_path is not None:
        try:
            with np.load(contacts_path, allow_pickle=False) as npz:
                contacts = np.asarray(npz["contacts"], dtype=bool)
        except (OSError, ValueError, KeyError) as exc:
            raise InputFileError(f"not a foot_contacts.npz with a 'contacts' array ({exc})", contacts_path) from exc
        if contacts.ndim != 3 or contacts.shape[0] != data.n_frames or contacts.shape[2] != 2 \
                or not 0 <= person < contacts.shape[1]:
            raise InputFileError(f"contacts have shape {contacts.shape}; expected ({data.n_frames}, persons, 2) "
                                 f"for {input_path}", contacts_path)
        contacts = contacts[:, person]
    result = fit(data, person, rig=rig, foot_lock=foot_lock, contacts=contacts)
    result.motion.save(output_path)
    return result


# Verbs implemented beside their stage, re-exported here and imported on first use.
_LAZY = {
    "calibrate": ("mocap.calibrate_api", "calibrate"),
    "calibrate_from_keypoints": ("mocap.calibrate_api", "calibrate_from_keypoints"),
    "pose2d": ("mocap.pose2d", "run_pose2d"),
    "render_pose_maps": ("mocap.posemaps.run", "render_pose_maps"),
    "filter_pose3d": ("mocap.filters.run", "filter_pose3d"),
    "demo": ("mocap.demo", "run_demo"),
    "pull_model": ("mocap.models", "pull"),
    "import_model": ("mocap.models", "import_model"),
    "lift": ("mocap.lift.run", "lift"),
    "fill_pose3d": ("mocap.lift.run", "fill_pose3d"),
    "fill_with_lifting": ("mocap.lift", "fill_with_lifting"),
    # Sessions: ``init`` -> init_session, ``run`` -> run_session, ``report`` -> build_report.
    "init_session": ("mocap.session", "init_session"),
    "run_session": ("mocap.pipeline", "run_session"),
    "build_report": ("mocap.pipeline", "build_report"),
    # Live: ``live`` -> live (cameras or a replay -> the Blender add-on / VMC), ``blender build-addon``.
    "live": ("mocap.live", "live"),
    "build_addon": ("mocap.commands.blender", "build_addon"),
    # Recording and synchronization: ``record`` -> record, ``sync`` -> sync (writes output/sync.toml);
    # load_sync / apply_sync are what later stages use to read and apply it.
    "record": ("mocap.record", "record"),
    "sync": ("mocap.sync", "sync_session"),
    "load_sync": ("mocap.sync", "load_sync"),
    "apply_sync": ("mocap.sync", "apply_sync"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'mocap.api' has no attribute {name!r}")

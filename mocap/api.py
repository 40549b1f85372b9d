"""The public Python API: one function per command-line verb.

Each function takes paths and settings, runs the pure stages, and writes its outputs atomically;
errors a user can cause raise :class:`mocap.errors.MocapError` (or ``calibration.CalibrationError``
for calibration files), naming the file and the problem.

Verb → function: ``calibrate`` (and ``calibrate_from_keypoints``), ``calibration import`` →
``import_calibration``, ``pose2d``, ``triangulate`` → ``triangulate_openpose``, ``filter`` →
``filter_pose3d``, ``retarget``, ``export``, ``demo``, ``models`` → ``pull_model`` /
``import_model``, ``lift`` → ``lift`` (one camera) and ``fill_pose3d`` / ``fill_with_lifting``
(a triangulation's gaps filled from lifted 3D); sessions: ``init`` → ``init_session``, ``run`` →
``run_session``, ``report`` → ``build_report``, ``batch`` → ``batch``. The stage functions that
live beside their packages are loaded on first use, so ``import mocap.api`` stays light (no ONNX Runtime, torch or matplotlib until needed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import calibration
from mocap.data import Keypoints2D, Keypoints3D, Motion, load_tagged, npz_kind, read_npz
from mocap.errors import CalibrationFileError, InputFileError, SettingsError
from mocap.fileio import make_output_folder
from mocap.io import read_openpose_json

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
    """The calibration's cameras in the keypoints' order: by name when every name is found, else
    by position when the counts agree, with a warning naming both lists."""
    import warnings

    names = list(camera_names)
    if len(group) != len(names):
        raise CalibrationFileError(f"has {len(group)} cameras ({', '.join(group.names)}) but keypoints were "
                                   f"given for {len(names)} ({', '.join(names)})", calibration_path)
    if set(names) <= set(group.names):
        return group.subset(names)
    warnings.warn(f"{calibration_path}: the calibration's cameras ({', '.join(group.names)}) are not named like the "
                  f"keypoints' ({', '.join(names)}); matching them by position: "
                  + ", ".join(f"{a} = {b}" for a, b in zip(group.names, names)), stacklevel=2)
    return group


@dataclass(frozen=True)
class TriangulationResult:
    keypoints: Keypoints3D
    pose3d_npz: Path
    pose3d_trc: Path | None  # person (track) 0
    more_trc: tuple[Path, ...] = ()  # pose3d_p1.trc, ... for further tracks
    camera_errors: dict | None = None  # camera -> median reprojection error (px) of person 0
    outliers: tuple[str, ...] = ()  # cameras far above the others (a warning said so)
    pose2d_npz: Path | None = None  # the 2D keypoints triangulated (written here from OpenPose JSON)
    n_filled: int = 0  # keypoints filled from lifted 3D (fill_with_lifting)


def triangulate_pose2d(pose2d_path, calibration_path, output_dir, *, persons: int | None = None,
                       min_score: float = 0.3, min_views: int = 2, max_association_error: float = 50.0,
                       max_reprojection_error: float = 15.0, min_track_frames: int = 5, trc: bool = True,
                       fill_with_lifting=None, max_gap: float = 1.0, outlier_method: str = "consensus",
                       fix_swaps: bool = True, progress: bool = True) -> TriangulationResult:
    """``pose2d.npz`` (as ``mocap pose2d`` wrote it: its frame rate, image sizes and frame numbers
    are used) + a calibration -> OUT/pose3d.npz and a TRC per person; the defaults are the command
    line's. persons: None for everyone, tracked (P axis = track id); 1 for the subject only; N for
    the N tracks seen longest. fill_with_lifting: a lifted.npz (``mocap.lift``) whose monocular 3D
    fills the keypoints fewer than two cameras agreed on. max_gap, outlier_method, fix_swaps: as
    ``[triangulate]`` in session.toml."""
    from mocap.triangulate.files import triangulate_file, triangulate_options

    pose2d_path = Path(pose2d_path)
    kp2d = Keypoints2D.load(pose2d_path)  # checks the file, and gives the cameras' names
    group = match_cameras(load_calibration(calibration_path), kp2d.camera_names, calibration_path)
    if tuple(group.names) != kp2d.camera_names:  # matched by position: the calibration takes the 2D's names
        import dataclasses

        group = calibration.CameraGroup(tuple(dataclasses.replace(c, name=n) for c, n in
                                              zip(group.cameras, kp2d.camera_names)), group.metadata)
    if persons is not None and (not isinstance(persons, (int, np.integer)) or persons < 1):
        raise SettingsError(f"persons must be a whole number >= 1 or None (everyone), got {persons!r}")
    output_dir = make_output_folder(Path(output_dir))
    options = triangulate_options(dict(min_score=min_score, min_views=min_views, max_gap=max_gap,
                                       max_association_error=max_association_error, outlier_method=outlier_method,
                                       max_reprojection_error=max_reprojection_error, fix_swaps=fix_swaps,
                                       min_track_frames=min_track_frames), kp2d.n_frames)
    del kp2d
    files = triangulate_file(pose2d_path, group, output_dir, persons=persons, options=options, trc=False,
                             progress=progress)
    n_filled = 0
    if fill_with_lifting is not None:
        from mocap.lift import LiftedViews
        from mocap.lift import fill_with_lifting as fill

        result = fill(Keypoints3D.load(files.pose3d_npz), LiftedViews.load(fill_with_lifting), group,
                      min_score=min_score)
        result.keypoints.save(files.pose3d_npz)
        n_filled = int(result.n_filled)
    kp3d = Keypoints3D.load(files.pose3d_npz)
    trc_paths = []
    if trc:
        from exporters import write_trcs

        trc_paths = write_trcs(kp3d, output_dir)
    return TriangulationResult(kp3d, files.pose3d_npz, trc_paths[0] if trc_paths else None, tuple(trc_paths[1:]),
                               files.camera_errors, files.outliers, pose2d_path, n_filled)


def session_calibration_file(folder) -> Path:
    """The calibration of the session at ``folder``: ``output/calibration.toml`` (what ``mocap run``
    made of it), else the calibration file in ``calibration/`` (calibration.toml first)."""
    from mocap.session import open_session

    session = open_session(folder)
    made = session.output_dir / "calibration.toml"
    if made.is_file():
        return made
    files = session.calibration_files()
    if len(files) > 1 and files[0].name != "calibration.toml":
        raise CalibrationFileError(f"holds several calibration files ({', '.join(f.name for f in files)}); give "
                                   "the one to use with --calibration", session.calibration_dir)
    if not files:
        raise CalibrationFileError("no calibration file here (calibration.toml, a Qualisys .qca.txt, ...): give one "
                                   "with --calibration, or run `mocap run` to calibrate from board pictures",
                                   session.calibration_dir)
    return files[0]


def triangulate_session(folder, output_dir=None, *, calibration_path=None, fill_with_lifting: bool = False,
                        progress: bool = True, **options) -> TriangulationResult:
    """``mocap triangulate DIR``: the session's ``output/pose2d.npz`` and its calibration
    (:func:`session_calibration_file`, or ``calibration_path``) -> ``output/pose3d.npz`` (or
    ``output_dir``). fill_with_lifting: fill from ``output/lifted.npz``, made first from the
    session's videos with MediaPipe's world landmarks when it is not there."""
    folder = Path(folder)
    pose2d = folder / "output" / "pose2d.npz"
    if not pose2d.is_file():
        raise InputFileError("no output/pose2d.npz: run `mocap pose2d` (or `mocap run`) on the session first", folder)
    cal = Path(calibration_path) if calibration_path is not None else session_calibration_file(folder)
    lifted = None
    if fill_with_lifting:
        from mocap.lift import estimate_lifted, lifted_path, make_lifting_backend
        from mocap.video import find_videos

        lifted = lifted_path(folder / "output")
        if not lifted.is_file():
            backend = make_lifting_backend("mediapipe")
            try:
                kp2d = Keypoints2D.load(pose2d)
                videos = {v.stem: v for v in find_videos(folder)}
                videos = [videos.get(n, folder / "videos" / n) for n in kp2d.camera_names]
                start, stride = int(kp2d.frame_index[0]), int(np.diff(kp2d.frame_index[:2])[0]) if \
                    kp2d.n_frames > 1 else 1
                frames = dict(start=start, stride=stride, stop=int(kp2d.frame_index[-1]) + 1)
                if (folder / "output" / "sync.toml").is_file():  # synchronized: each camera's own frames
                    from mocap.sync import load_sync

                    frames = dict(frames=load_sync(folder).frame_table(kp2d.camera_names, kp2d.frame_index))
                views = estimate_lifted(videos, backend, progress=progress, **frames)
            finally:
                backend.close()
            views.save(lifted)
    return triangulate_pose2d(pose2d, cal, output_dir if output_dir is not None else folder / "output",
                              fill_with_lifting=lifted, progress=progress, **options)


def triangulate_openpose(calibration_path, json_folders, output_dir, *, fps: float, layout: str = "body_25",
                         videos=None, persons: int | None = None, min_score: float = 0.3, min_views: int = 2,
                         max_association_error: float = 50.0, max_reprojection_error: float = 15.0,
                         min_track_frames: int = 5, progress: bool = True) -> TriangulationResult:
    """OpenPose JSON folders (one per camera) + a calibration -> OUT/pose2d.npz (the JSON as 2D
    keypoints), OUT/pose3d.npz and a TRC per person. JSON records neither the frame rate (``fps``
    is required) nor the image sizes: give the ``videos`` (one per camera, in the folders' order)
    so that keypoints from resampled videos are rescaled to the calibration's size; without them
    they are taken at the calibration's size, with a warning. Files pair across cameras by their
    frame number. The other defaults are the command line's (``persons`` None: everyone)."""
    import warnings

    if not (isinstance(fps, (int, float)) and fps > 0):
        raise SettingsError(f"--fps must be the videos' frame rate (JSON does not record it), got {fps!r}")
    output_dir = make_output_folder(Path(output_dir))
    sizes = None
    if videos:
        from mocap.video import VideoReader

        if len(videos) != len(json_folders):
            raise SettingsError(f"{len(videos)} videos for {len(json_folders)} OpenPose folders: give one per camera")
        sizes = [(r.info.width, r.info.height) for r in map(VideoReader, videos)]
    kp2d = read_openpose_json(json_folders, layout=layout, fps=fps, image_sizes=sizes, progress=progress)
    if sizes is None:
        warnings.warn("OpenPose JSON does not record the image sizes: the keypoints are taken at the calibration's "
                      "image size (give the videos to rescale keypoints from resampled videos)", stacklevel=2)
        group = match_cameras(load_calibration(calibration_path), kp2d.camera_names, calibration_path)
        import dataclasses

        kp2d = dataclasses.replace(kp2d, image_sizes=np.array([cam.size for cam in group.cameras]))
    pose2d = kp2d.save(output_dir / "pose2d.npz")
    return triangulate_pose2d(pose2d, calibration_path, output_dir, persons=persons, min_score=min_score,
                              min_views=min_views, max_association_error=max_association_error,
                              max_reprojection_error=max_reprojection_error, min_track_frames=min_track_frames,
                              progress=progress)


def load_result(path: str | os.PathLike) -> Keypoints3D | Motion:
    """A pose3d.npz (Keypoints3D) or motion.npz (Motion), told apart by the file's own tag."""
    return load_tagged(path, (Keypoints3D, Motion), "3D keypoints or a motion")


def one_person(kp: Keypoints3D, person: int) -> Keypoints3D:
    """``kp`` with person (track) ``person`` only, every per-person field sliced alike."""
    import dataclasses

    p = slice(person, person + 1)
    return dataclasses.replace(kp, xyz=kp.xyz[:, p], score=kp.score[:, p], reproj_error=kp.reproj_error[:, p],
                               n_views=kp.n_views[:, p], source=kp.source[:, p], detections=kp.detections[:, :, p],
                               view_swaps=kp.view_swaps[:, :, p])


def export(fmt: str, input_path, output_path, *, person: int | None = 0, rig: str = "default",
           units: str | None = None) -> Path:
    """Write ``input_path`` (pose3d.npz or motion.npz) as BVH, FBX, glTF/GLB, TRC, C3D, CSV or NPZ.

    Armature formats (bvh, fbx, gltf, glb) take a motion as it is, or fit the whole-body armature
    (body and fingers) to 3D keypoints and rename it for ``rig``; marker formats (trc, c3d, csv)
    take 3D keypoints; ``person`` picks one (csv and npz: None writes every person). The output's
    folder must exist (OutputError otherwise).
    """
    from exporters import write_bvh, write_csv, write_trc
    from mocap.fileio import check_output_path

    fmt = fmt.lower()
    if fmt not in EXPORT_FORMATS:
        raise SettingsError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    data = load_result(input_path)
    output_path = check_output_path(output_path)
    if person is None and (fmt not in ("csv", "npz") or isinstance(data, Motion)):
        raise SettingsError(f"person 'all' is for csv and npz exports of 3D keypoints; {fmt} takes one person")
    if isinstance(data, Keypoints3D) and person is not None and not 0 <= person < data.n_persons:
        raise SettingsError(f"person {person} does not exist; {input_path} holds {data.n_persons}")
    if isinstance(data, Keypoints3D) and person is not None and fmt in ("csv", "npz"):
        data = one_person(data, person)
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
    """pose3d.npz -> motion.npz (the whole-body armature for ``rig``); returns the
    :class:`~mocap.retarget.pieces.RetargetFileResult` (``motion``, read when asked, ``rest_joints``,
    ``contacts``, ``floor_known``, as :class:`mocap.retarget.RetargetResult`).

    A long clip is retargeted a piece of time at a time (:mod:`mocap.retarget.pieces`), so memory
    does not grow with its length. ``contacts_path``: the filter stage's foot_contacts.npz
    (``contacts`` (T, P, 2)) to lock the feet with (implies foot locking). With ``smplx_model`` (a
    path, or "env" for $MOCAP_SMPLX_MODEL) SMPL-X is fitted instead (the whole clip at once) and the
    AMASS-style fit is written; returns the SMPLXFit.
    """
    from mocap.fileio import check_output_path
    from mocap.retarget import get_preset
    from mocap.retarget.pieces import keypoints_header, retarget_file

    get_preset(rig)
    if npz_kind(input_path) != "Keypoints3D":
        load_result(input_path)  # says what the file is
        raise InputFileError("holds a motion already; retarget takes 3D keypoints (pose3d.npz)", input_path)
    header = keypoints_header(input_path)
    if not 0 <= person < header.n_persons:
        raise SettingsError(f"person {person} does not exist; {input_path} holds {header.n_persons}")
    check_output_path(output_path)
    if smplx_model is not None:
        from mocap.smplx_fit.fit import fit_smplx

        smplx_fit = fit_smplx(Keypoints3D.load(input_path), None if smplx_model == "env" else smplx_model,
                              person=person, gender=gender, progress=progress)
        smplx_fit.save(output_path)
        return smplx_fit
    contacts = None
    if contacts_path is not None:
        data = read_npz(contacts_path)
        if "contacts" not in data:
            raise InputFileError("not a foot_contacts.npz: it has no 'contacts' array", contacts_path)
        contacts = np.asarray(data["contacts"], dtype=bool)
        if contacts.ndim != 3 or contacts.shape[0] != header.n_frames or contacts.shape[2] != 2 \
                or not 0 <= person < contacts.shape[1]:
            raise InputFileError(f"contacts have shape {contacts.shape}; expected ({header.n_frames}, persons, 2) "
                                 f"for {input_path}", contacts_path)
        contacts = contacts[:, person]
    return retarget_file(input_path, output_path, person, rig=rig, foot_lock=foot_lock, contacts=contacts,
                         progress=progress)


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
    # Many sessions: ``batch`` -> batch (a local process pool, or Ray).
    "batch": ("mocap.batch", "batch"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'mocap.api' has no attribute {name!r}")

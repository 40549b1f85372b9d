"""The first two stages of ``mocap run``: the cameras' calibration and the 2D keypoints.

**calibration** -> ``output/calibration.toml``. Its source, in ``calibration/``, by ``[calibration]
source``: a calibration file of any format we read (``calibration.toml`` first; with several
others, ``[calibration] file`` names the one), imported as it is; or board pictures (one sub-folder
of images or one video per camera) calibrated with the ``[calibration]`` board settings (the
calibration report is written beside it). The calibration's cameras are then matched to the videos:
by name (and reordered to the videos' order); when no name matches and the counts agree, by
position, with a warning naming both lists (the cameras take the videos' names); anything else is
an error naming the cameras missing on either side. A single-camera session may have no
calibration.

**pose2d** -> ``output/pose2d.npz`` (+ OpenPose JSON, overlays): the 2D backend over every
camera's video, or OpenPose JSON computed elsewhere (``backend = "openpose-json"``), with the
videos' frame rate, image sizes and frame numbers.

Synchronization hook (``mocap sync`` writes ``output/sync.toml``, :func:`mocap.sync.load_sync`):
applying it belongs here, in :func:`run_pose2d`: each camera read from its own first synchronized
frame, ``frame_index`` from the sync's reference-camera steps, and ``output/sync.toml`` added to
:func:`pose2d_inputs` so that a new sync reruns the 2D stage and everything after it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from mocap.errors import CalibrationFileError, InputFileError, SettingsError
from mocap.pipeline.stage import StageContext

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


# --- calibration ------------------------------------------------------------------------------

def _board_pictures(folder: Path) -> list[Path]:
    """Board videos in ``folder`` and images in its sub-folders (one per camera)."""
    from mocap.video import VIDEO_SUFFIXES

    if not folder.is_dir():
        return []
    found = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES:
            found.append(p)
        elif p.is_dir():
            found += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    return found


def calibration_source(ctx: StageContext) -> tuple[str, list[Path]]:
    """("file", [path]), ("board", pictures) or ("none", []) (single camera without calibration)."""
    s = ctx.settings["calibration"]
    folder = ctx.session.calibration_dir
    if s["file"]:
        path = folder / s["file"]
        if not path.is_file():
            raise CalibrationFileError(f"not found ([calibration] file = {s['file']!r})", path)
        return "file", [path]
    files = ctx.session.calibration_files() if s["source"] != "board" else []
    if files:
        if len(files) > 1 and files[0].name != "calibration.toml":
            raise CalibrationFileError(f"holds several calibration files ({', '.join(f.name for f in files)}); "
                                       "name the one to use with [calibration] file", folder)
        return "file", files[:1]
    pictures = _board_pictures(folder) if s["source"] != "file" else []
    if pictures:
        return "board", pictures
    if ctx.plan.single_camera:
        return "none", []
    wanted = {"auto": "a calibration file (calibration.toml, a Qualisys .qca.txt, a Pose2Sim / anipose / "
                      "FreeMoCap / caliscope TOML) or board pictures (one sub-folder of images or one video per "
                      "camera)",
              "file": "a calibration file ([calibration] source = \"file\")",
              "board": "board pictures: one sub-folder of images or one video per camera ([calibration] source = "
                       "\"board\")"}[s["source"]]
    raise CalibrationFileError(f"no calibration: put {wanted} here", folder)


def calibration_inputs(ctx: StageContext) -> list[Path]:
    return calibration_source(ctx)[1]


def calibration_facts(ctx: StageContext) -> dict:
    return {"cameras": ctx.plan.names}


def match_to_videos(group, video_names: list[str], source: Path, explicit: bool):
    """``group``'s cameras for ``video_names``, in that order (see the module docstring); returns
    (group, warning or None)."""
    names = list(video_names)
    have = list(group.names)
    if set(names) <= set(have):
        extra = [n for n in have if n not in names]
        if extra and not explicit:
            raise CalibrationFileError(
                f"has cameras {', '.join(extra)} that videos/ lacks (videos/: {', '.join(names)}); add their "
                "videos, or list the cameras to use in [session] cameras", source)
        return group.subset(names), None
    overlap = set(names) & set(have)
    if not overlap and len(have) == len(names):
        import calibration

        cams = tuple(dataclasses.replace(cam, name=n) for cam, n in zip(group.cameras, names))
        return calibration.CameraGroup(cams, group.metadata), (
            f"the calibration's camera names ({', '.join(have)}) differ from the videos' ({', '.join(names)}); "
            "matching them by position: " + ", ".join(f"{a} = {b}" for a, b in zip(have, names)))
    missing = [n for n in names if n not in have]
    raise CalibrationFileError(f"has no camera {', '.join(missing)} (videos/ holds {', '.join(names)}; the "
                               f"calibration has {', '.join(have)})", source)


def board_from_table(s):
    """The calibration board of a ``[calibration]`` table (SettingsError when the settings make no board)."""
    from calibration import board_from_settings

    try:
        return board_from_settings(s["board"], tuple(s["squares"]), float(s["square_size"]), s["marker_size"],
                                   s["dictionary"], bool(s["legacy"]))
    except ValueError as exc:
        raise SettingsError(f"[calibration] board settings: {exc}") from None


def run_calibration(ctx: StageContext) -> str:
    import calibration
    from mocap.api import load_calibration

    kind, paths = calibration_source(ctx)
    if kind == "none":
        return "no calibration (one camera)"
    out = ctx.out("calibration.toml")
    s = ctx.settings["calibration"]
    if kind == "file":
        group = load_calibration(paths[0])
        how = f"imported {ctx.session.relative(paths[0])}"
        source = paths[0]
    else:
        from calibration.pipeline import calibrate_folder

        result = calibrate_folder(ctx.session.calibration_dir, board_from_table(s), out, fisheye=bool(s["fisheye"]),
                                  step=int(s["every"]), rate=s["rate"], floor=s["floor"], report=True,
                                  progress=ctx.progress)
        group = result.group
        rms = f", RMS {result.bundle.rms:.2f} px" if result.bundle is not None else ""
        how = f"calibrated from {len(paths)} board pictures{rms}; world: {result.world_frame}"
        source = ctx.session.calibration_dir
    group, warning = match_to_videos(group, ctx.plan.names, source, bool(ctx.settings["session"]["cameras"]))
    if warning:
        import warnings

        warnings.warn(warning, stacklevel=2)
    calibration.save_calibration(group, out)
    return f"{how}: {len(group)} cameras ({', '.join(group.names)})"


# --- pose2d -----------------------------------------------------------------------------------

def _json_folders(ctx: StageContext) -> list[Path]:
    root = ctx.session.root / ctx.settings["pose2d"]["json_folder"]
    folders = []
    for name in ctx.plan.names:
        for candidate in (root / f"{name}_json", root / name):
            if candidate.is_dir():
                folders.append(candidate)
                break
        else:
            raise InputFileError(f"no OpenPose folder for camera {name} ({name}_json or {name}); [pose2d] "
                                 f"json_folder = {ctx.settings['pose2d']['json_folder']!r}", root)
    return folders


def pose2d_inputs(ctx: StageContext) -> list[Path]:
    paths = list(ctx.plan.paths)
    if ctx.settings["pose2d"]["backend"] == "openpose-json":
        paths += [f for folder in _json_folders(ctx) for f in sorted(folder.glob("*.json"))]
    return paths


def pose2d_facts(ctx: StageContext) -> dict:
    return {"cameras": ctx.plan.names, "fps": ctx.plan.fps, "n_frames": ctx.plan.n_frames}


def _from_openpose(ctx: StageContext, s) -> "Keypoints2D":  # noqa: F821
    from mocap.io import read_openpose_json

    sizes = [(c.width, c.height) for c in ctx.plan.cameras]
    kp = read_openpose_json(_json_folders(ctx), layout=s["json_layout"], fps=ctx.plan.fps,
                            camera_names=ctx.plan.names, image_sizes=sizes, progress=ctx.progress)
    if ctx.plan.n_frames and kp.n_frames != ctx.plan.n_frames:
        import warnings

        warnings.warn(f"the OpenPose JSON has {kp.n_frames} frames per camera, the videos {ctx.plan.n_frames}",
                      stacklevel=2)
    frames = kp.frame_index  # the source frame of each file
    keep = (frames >= s["start"]) & ((frames - s["start"]) % s["stride"] == 0)
    if s["stop"] is not None:
        keep &= frames < s["stop"]
    if not keep.any():
        raise SettingsError(f"[pose2d] start = {s['start']} leaves none of the {kp.n_frames} OpenPose frames")
    return dataclasses.replace(kp, xy=kp.xy[:, keep], score=kp.score[:, keep], swapped=kp.swapped[:, keep],
                               frame_index=kp.frame_index[keep], fps=ctx.plan.fps / s["stride"])


def run_pose2d(ctx: StageContext) -> str:
    from mocap.data import Keypoints2D

    s = ctx.settings["pose2d"]
    npz = ctx.out("pose2d.npz")
    provider = "OpenPose JSON"
    if s["backend"] == "openpose-json":
        kp = _from_openpose(ctx, s)
        kp.save(npz)
    else:
        from mocap.pose2d import run_pose2d as estimate

        stop = s["stop"] if s["stop"] is not None else (ctx.plan.n_frames or None)
        result = estimate(ctx.plan.paths, ctx.work, s["backend"], model=s["model"], detector=s["detector"],
                          device=s["device"], fp16=s["fp16"], start=s["start"], stop=stop, stride=s["stride"],
                          batch_frames=s["batch_frames"], detect_every=s["detect_every"],
                          overlay=None if s["overlay"] == "none" else s["overlay"],
                          openpose_layout=None if s["openpose"] == "none" else s["openpose"], progress=ctx.progress)
        provider = f"{s['backend']} on {result.provider}"
        kp = Keypoints2D.load(npz)
        # The stage states the frame numbers and rate it read, whatever the backend recorded.
        frames = s["start"] + s["stride"] * np.arange(kp.n_frames)
        fps = ctx.plan.fps / s["stride"]
        if not np.array_equal(kp.frame_index, frames) or not np.isclose(kp.fps, fps):
            kp = dataclasses.replace(kp, frame_index=frames, fps=fps)
            kp.save(npz)
    if kp.n_frames == 0:
        raise InputFileError("no frame was read from the videos (check [pose2d] start and stop)",
                             ctx.session.videos_dir)
    seen = (kp.score > 0).any(-1).any(-1).mean(axis=1)
    per_camera = ", ".join(f"{n} {f:.0%}" for n, f in zip(kp.camera_names, seen))
    return (f"{kp.n_cameras} cameras × {kp.n_frames} frames at {kp.fps:g} fps ({provider}); a person in "
            f"{per_camera} of frames")

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

**pose2d** -> ``output/pose2d.npz`` (+ ``output/sync.toml``, OpenPose JSON, overlays): first the
synchronization (:mod:`mocap.pipeline.timeline`: ``[sync]``, or the sync.toml of ``mocap sync``),
then the 2D backend over every camera's video, each read from its own first synchronized frame, one
job per camera (:mod:`mocap.pipeline.parts`), or OpenPose JSON computed elsewhere (``backend =
"openpose-json"``, put on the common timeline by :func:`mocap.sync.apply_sync`); with the videos'
frame rate, image sizes, and frame numbers: ``frame_index`` holds the timeline steps (the reference
camera's frame numbers; each camera's own frame of a step is in sync.toml). The timestamps files and
a sync.toml of ``mocap sync`` are inputs of the stage, so a new sync reruns it and what follows.
"""

from __future__ import annotations

import dataclasses
import shutil
import warnings
from pathlib import Path


from mocap.errors import CalibrationFileError, InputFileError, SettingsError
from mocap.pipeline.stage import StageContext

# --- calibration ------------------------------------------------------------------------------

def _board_pictures(folder: Path) -> list[Path]:
    """Board videos in ``folder`` and images in its sub-folders (one per camera), as ``calibrate``
    finds them (:func:`calibration.sources.discover`)."""
    from calibration.sources import IMAGE_SUFFIXES, VIDEO_SUFFIXES

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
    from mocap.pipeline.timeline import foreign_sync
    from mocap.record.timestamps import timestamps_path

    paths = list(ctx.plan.paths)
    paths += [timestamps_path(ctx.session.videos_dir, n) for n in ctx.plan.names]  # those that exist count
    foreign = foreign_sync(ctx.session)
    paths += [foreign] if foreign is not None else []
    if ctx.settings["pose2d"]["backend"] == "openpose-json":
        paths += [f for folder in _json_folders(ctx) for f in sorted(folder.glob("*.json"))]
    return paths


def pose2d_facts(ctx: StageContext) -> dict:
    return {"cameras": ctx.plan.names, "fps": ctx.plan.fps, "n_frames": ctx.plan.n_frames}


def _sync_plan(ctx: StageContext):
    from mocap.pipeline.timeline import sync_plan

    return sync_plan(ctx.session, ctx.settings, ctx.plan.names)


def pose2d_jobs(ctx: StageContext) -> list:
    """The per-camera 2D jobs of the stage (none for OpenPose JSON): for motion sync those of the
    unsynchronized videos, else those of the synchronized frame table."""
    from mocap.pipeline import parts, timeline

    if ctx.settings["pose2d"]["backend"] == "openpose-json":
        return []
    plan = _sync_plan(ctx)
    if plan.method == "motion":
        return parts.make_jobs(ctx, timeline.unsynchronized_table(ctx))
    return parts.make_jobs(ctx, timeline.frame_table(ctx, timeline.measure(ctx, plan)))


def _read_openpose(ctx: StageContext, s) -> "Keypoints2D":  # noqa: F821
    """Every OpenPose JSON frame of every camera, in each camera's own frame numbers."""
    from mocap.io import read_openpose_json

    sizes = [(c.width, c.height) for c in ctx.plan.cameras]
    kp = read_openpose_json(_json_folders(ctx), layout=s["json_layout"], fps=ctx.plan.fps,
                            camera_names=ctx.plan.names, image_sizes=sizes, progress=ctx.progress)
    if ctx.plan.n_frames and kp.n_frames != ctx.plan.n_frames:
        warnings.warn(f"the OpenPose JSON has {kp.n_frames} frames per camera, the videos {ctx.plan.n_frames}",
                      stacklevel=2)
    return kp


def _select_frames(ctx: StageContext, kp, s):
    """The frames ``[pose2d] start .. stop`` every ``stride``-th of unsynchronized JSON keypoints."""
    frames = kp.frame_index  # the source frame of each file
    keep = (frames >= s["start"]) & ((frames - s["start"]) % s["stride"] == 0)
    if s["stop"] is not None:
        keep &= frames < s["stop"]
    if not keep.any():
        raise SettingsError(f"[pose2d] start = {s['start']} leaves none of the {kp.n_frames} OpenPose frames")
    return dataclasses.replace(kp, xy=kp.xy[:, keep], score=kp.score[:, keep], swapped=kp.swapped[:, keep],
                               frame_index=kp.frame_index[keep], fps=ctx.plan.fps / s["stride"])


def _from_openpose(ctx: StageContext, s, plan):
    """(keypoints, sync) from OpenPose JSON: measured (motion: on the JSON keypoints) and applied."""
    from mocap.pipeline import timeline
    from mocap.sync import apply_sync

    raw = _read_openpose(ctx, s)
    sync = timeline.measure(ctx, plan, keypoints=raw if plan.method == "motion" else None)
    if sync is None:
        return _select_frames(ctx, raw, s), None
    kp = apply_sync(raw, sync, steps=timeline.steps(ctx, sync))
    return dataclasses.replace(kp, fps=ctx.plan.fps / s["stride"]), sync


def _from_videos(ctx: StageContext, s, plan):
    """(keypoints, sync, jobs used) from the videos, through the per-camera jobs. Motion sync: the
    jobs read every frame of the unsynchronized videos, and their keypoints are put on the timeline."""
    from mocap.pipeline import parts, timeline
    from mocap.sync import apply_sync

    if plan.method == "motion":
        jobs = parts.make_jobs(ctx, timeline.unsynchronized_table(ctx))
        parts.run_jobs(jobs, ctx.progress)
        raw = parts.merge(jobs, fps=ctx.plan.fps)
        sync = timeline.measure(ctx, plan, keypoints=raw)
        kp = apply_sync(raw, sync, steps=timeline.steps(ctx, sync))
        return dataclasses.replace(kp, fps=ctx.plan.fps / s["stride"]), sync, jobs
    sync = timeline.measure(ctx, plan)
    jobs = parts.make_jobs(ctx, timeline.frame_table(ctx, sync))
    parts.run_jobs(jobs, ctx.progress)
    return parts.merge(jobs, fps=ctx.plan.fps / s["stride"]), sync, jobs


def _extras(ctx: StageContext, s, kp, sync) -> None:
    """Overlays and OpenPose JSON, drawn from the finished keypoints (each camera's own frames)."""
    if s["overlay"] != "none" and s["backend"] != "openpose-json":
        from mocap.pose2d.overlay import write_overlays

        table = sync.frame_table(kp.camera_names, kp.frame_index) if sync is not None else None
        write_overlays(ctx.plan.paths, kp, ctx.out("overlay"), s["overlay"], frames=table, progress=ctx.progress)
    if s["openpose"] != "none" and s["backend"] != "openpose-json":
        from mocap.io import write_openpose_json

        write_openpose_json(kp, ctx.out("openpose"), s["openpose"], frame_numbers=kp.frame_index)


def run_pose2d(ctx: StageContext) -> str:
    from mocap.pipeline import parts, timeline
    from mocap.sync import save_sync

    s = ctx.settings["pose2d"]
    plan = _sync_plan(ctx)
    if s["backend"] == "openpose-json":
        kp, sync = _from_openpose(ctx, s, plan)
        provider, jobs = "OpenPose JSON", []
    else:
        kp, sync, jobs = _from_videos(ctx, s, plan)
        providers = sorted({j.info().get("provider", "?") for j in jobs})
        provider = f"{s['backend']} on {', '.join(providers)}"
    if kp.n_frames == 0:
        raise InputFileError("no frame was read from the videos (check [pose2d] start and stop)",
                             ctx.session.videos_dir)
    if sync is not None:
        if plan.method == "file":
            shutil.copyfile(timeline.sync_file(ctx.session), ctx.out("sync.toml"))
        else:
            save_sync(sync, ctx.out("sync.toml"))
        for w in sync.warnings:
            warnings.warn(f"sync: {w}", stacklevel=2)
    kp.save(ctx.out("pose2d.npz"))
    _extras(ctx, s, kp, sync)
    if jobs:
        parts.remove_unused(ctx.session.root, jobs)
    seen = (kp.score > 0).any(-1).any(-1).mean(axis=1)
    per_camera = ", ".join(f"{n} {f:.0%}" for n, f in zip(kp.camera_names, seen))
    return (f"{kp.n_cameras} cameras × {kp.n_frames} frames at {kp.fps:g} fps ({provider}); a person in "
            f"{per_camera} of frames; {timeline.summary(plan, sync)}")

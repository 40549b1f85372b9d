"""The 3D stages of ``mocap run``: triangulate (or lift, for one camera), filter, retarget.

**triangulate** ``pose2d.npz`` + ``calibration.toml`` -> ``pose3d.npz`` (+ ``pose3d.trc``,
``pose3d_p1.trc``, ... one per person) with the 2D's frame numbers; it prints each camera's median
reprojection error and warns about a camera far above the others.

**lift** takes the slot of triangulate in single-camera sessions: the lifting backend over the
video -> ``lifted.npz`` (each frame's 2D and root-relative metric 3D, :mod:`mocap.lift`), placed in
the calibration's world (:func:`mocap.lift.lift_camera`: scaled, rotated, put in depth so that it
reprojects onto the 2D, feet on a known floor) -> ``pose3d.npz`` (+ TRC when calibrated). Without a
calibration the 3D is root-relative in the camera's frame, with a warning.

**filter** ``pose3d.npz`` -> ``pose3d_filtered.npz`` (+ ``pose3d_filtered.trc`` per person) and
``foot_contacts.npz`` (:func:`mocap.filters.run.filter_pose3d`; the floor is z = 0 when the
calibration knows it, else each person's lowest foot level).

**retarget** ``pose3d_filtered.npz`` -> ``motion.npz`` (``motion_p1.npz``, ... with ``person = "all"``),
and ``smplx.npz`` when an SMPL-X model is given.
"""

from __future__ import annotations


import numpy as np

from mocap.data import Keypoints2D, Keypoints3D
from mocap.errors import InputFileError, SettingsError
from mocap.pipeline.stage import StageContext
from mocap.fileio import person_suffix
from mocap.triangulate.files import frames_in, triangulate_file, triangulate_options




# --- triangulate ------------------------------------------------------------------------------

def triangulate_inputs(ctx: StageContext) -> list:
    return [ctx.output("pose2d.npz"), ctx.output("calibration.toml")]


def run_triangulate(ctx: StageContext) -> str:
    from mocap.api import load_calibration
    from mocap.pipeline.chunks import TimeReader

    s = ctx.settings["triangulate"]
    with TimeReader(ctx.output("pose2d.npz"), Keypoints2D.TIME_AXES) as reader:
        names = tuple(str(n) for n in reader.static["camera_names"])
    group = load_calibration(ctx.output("calibration.toml"))
    if set(names) - set(group.names):
        raise InputFileError(f"pose2d.npz holds cameras {', '.join(names)} but the calibration "
                             f"{', '.join(group.names)}: rerun from the calibration stage", ctx.output("pose2d.npz"))
    persons = None if s["persons"] == "all" else int(s["persons"])
    group = group.subset(names)
    result = triangulate_file(ctx.output("pose2d.npz"), group, ctx.work, persons=persons,
                              options=triangulate_options(s, frames_in(ctx.output("pose2d.npz"))),
                              trc=s["trc"] and not s["fill_with_lifting"], progress=ctx.progress)
    if not s["fill_with_lifting"]:
        return result.summary()
    filled = _fill_with_lifting(ctx, group, result.pose3d_npz)
    if s["trc"]:
        from exporters import write_trcs

        write_trcs(Keypoints3D.load(result.pose3d_npz), ctx.work)
    return f"{result.summary()}; {filled} keypoints filled from lifted 3D"


def _fill_with_lifting(ctx: StageContext, group, pose3d) -> int:
    """Lift every camera's video (``[lift]`` backend, ``[pose2d]`` frames) into ``lifted.npz`` and fill
    the keypoints of ``pose3d`` that fewer than two cameras agreed on (:func:`mocap.lift.fill_with_lifting`)."""
    from mocap.lift import estimate_lifted, fill_with_lifting, make_lifting_backend

    views = _lifted_views(ctx, estimate_lifted, make_lifting_backend)
    result = fill_with_lifting(Keypoints3D.load(pose3d), views, group,
                               min_score=ctx.settings["triangulate"]["min_score"])
    result.keypoints.save(pose3d)
    return int(result.n_filled)


def _lifted_views(ctx: StageContext, estimate_lifted, make_lifting_backend):
    """The lifting backend over the session's videos (the 2D stage's frames) -> ``lifted.npz``."""
    s, p = ctx.settings["lift"], ctx.settings["pose2d"]
    backend = make_lifting_backend(s["backend"], s["model"], s["detector"], p["device"], p["fp16"])
    stop = p["stop"] if p["stop"] is not None else (ctx.plan.n_frames or None)
    frames = {"start": p["start"], "stop": stop, "stride": p["stride"]}
    if ctx.output("sync.toml").is_file() and ctx.output("pose2d.npz").is_file():  # the 2D stage's synchronized frames
        from mocap.sync import load_sync

        steps = Keypoints2D.load(ctx.output("pose2d.npz")).frame_index
        frames = {"frames": load_sync(ctx.output("sync.toml")).frame_table(ctx.plan.names, steps)}
    try:
        views = estimate_lifted(ctx.plan.paths, backend, batch_frames=p["batch_frames"], detect_every=p["detect_every"],
                                progress=ctx.progress, **frames)
    finally:
        if hasattr(backend, "close"):
            backend.close()
    views.save(ctx.out("lifted.npz"))
    return views


# --- lift (single camera) ---------------------------------------------------------------------

def lift_inputs(ctx: StageContext) -> list:
    return list(ctx.plan.paths) + [ctx.output("calibration.toml")]


def run_lift(ctx: StageContext) -> str:
    import calibration
    from mocap.api import load_calibration
    from mocap.lift import estimate_lifted, lift_camera, make_lifting_backend

    s = ctx.settings["lift"]
    views = _lifted_views(ctx, estimate_lifted, make_lifting_backend)
    backend_name = views.backend
    camera, world = None, "unaligned"
    if ctx.output("calibration.toml").is_file():
        group = load_calibration(ctx.output("calibration.toml"))
        camera, world = group.cameras[0], calibration.world_frame(group)
    result = lift_camera(views, ctx.plan.names[0], camera, height=s["height"] or None, world_frame=world,
                         min_score=s["min_score"], smoothing=s["smoothing"])
    kp = result.keypoints
    if not np.isfinite(kp.xyz).any():
        raise InputFileError(f"nobody was lifted in the {kp.n_frames} frames (no person with enough keypoints above "
                             f"confidence {s['min_score']:g})", ctx.plan.paths[0])
    kp.save(ctx.out("pose3d.npz"))
    if camera is not None and ctx.settings["triangulate"]["trc"]:
        from exporters import write_trcs

        write_trcs(kp, ctx.work)
    pl = result.placement
    heights = ", ".join(f"{h:.2f}" for h in np.atleast_1d(pl.height))
    where = f"in the calibration's world ({world})" if camera is not None else "root-relative, camera frame"
    return (f"{kp.n_persons} person(s) × {kp.n_frames} frames lifted from {ctx.plan.names[0]} ({backend_name}), "
            f"{where}; height {heights} m ({pl.height_source}); {pl.n_placed} person-frames placed, {pl.n_unseen} "
            f"unseen, {pl.n_too_small} too small")


# --- filter -----------------------------------------------------------------------------------

def _smoothing(table: dict, fps: float, where: str) -> dict:
    """FilterSettings fields of one smoother choice (SettingsError naming the setting when impossible)."""
    kind = table["smoother"]
    if kind == "butterworth":
        cutoff = table["butterworth_cutoff"]
        if not cutoff < fps / 2:
            raise SettingsError(f"[{where}] butterworth_cutoff = {cutoff:g} Hz must be below half the frame rate "
                                f"({fps / 2:g} Hz at {fps:g} fps)")
        return {"butterworth": cutoff, "butterworth_order": int(table["butterworth_order"])}
    if kind == "one_euro":
        return {"one_euro": tuple(table["one_euro"])}
    if kind == "kalman":
        return {"kalman": tuple(table["kalman"])}
    return {}


def filter_settings(settings, n_frames: int, fps: float):
    """(body, face, hands) FilterSettings from ``[filter]``, ``[filter.face]`` and ``[filter.hands]``."""
    from mocap.filters import FilterSettings

    f = dict(settings["filter"])
    common = {"despike": f["despike"] or None, "fill_gaps": min(int(f["fill_gaps"]), max(n_frames - 1, 0)),
              "gap_method": f["gap_method"], "rigidify": f["rigidify"]}
    body = FilterSettings(**common, **_smoothing(f, fps, "filter"))
    groups = []
    for name in ("face", "hands"):
        own = {k: v for k, v in settings[f"filter.{name}"].items() if v is not None}
        groups.append(FilterSettings(**common, **_smoothing({**f, **own}, fps, f"filter.{name}")) if own else None)
    return body, groups[0], groups[1]


def _count_interpolated(path) -> int:
    """Points of a pose3d_filtered.npz filled in over time (read a piece at a time)."""
    from mocap.data import SOURCE_INTERPOLATED
    from mocap.pipeline.chunks import TimeReader

    with TimeReader(path, {"source": 0}) as reader:
        return sum(int((reader.read(a, min(a + 10000, reader.n_frames))["source"] == SOURCE_INTERPOLATED).sum())
                   for a in range(0, reader.n_frames, 10000))


def run_filter(ctx: StageContext) -> str:
    from mocap.filters.run import filter_pose3d
    from mocap.pipeline.chunks import TimeReader

    f = ctx.settings["filter"]
    source = ctx.output("pose3d.npz")
    with TimeReader(source, Keypoints3D.TIME_AXES) as reader:  # the clip's length and rate, without reading it
        n_frames, fps = reader.n_frames, float(reader.static["fps"])
    body, face, hands = filter_settings(ctx.settings, n_frames, fps)
    result = filter_pose3d(source, ctx.work, settings=body, face=face, hands=hands, contact_height=f["contact_height"],
                           contact_speed=f["contact_speed"])
    filled = _count_interpolated(result.npz)
    smoother = {"butterworth": f"Butterworth {f['butterworth_cutoff']:g} Hz", "one_euro": "one-euro",
                "kalman": "Kalman + RTS", "none": "no smoothing"}[f["smoother"]]
    where = "z = 0" if result.floor_known else "each person's lowest foot level (the floor is not known)"
    return (f"{smoother}; {int(filled)} points filled in gaps of up to {body.fill_gaps} frames; feet on the floor "
            f"({where}) {result.contacts.mean():.0%} of the time")


# --- retarget ---------------------------------------------------------------------------------

def retarget_persons(ctx: StageContext, n_persons: int) -> list[int]:
    person = ctx.settings["retarget"]["person"]
    if person == "all":
        return list(range(n_persons))
    if person >= n_persons:
        raise SettingsError(f"[retarget] person = {person}, but the 3D keypoints hold {n_persons} person(s) "
                            f"(0 to {n_persons - 1})", ctx.settings.path)
    return [int(person)]


def retarget_inputs(ctx: StageContext) -> list:
    return [ctx.output("pose3d_filtered.npz"), ctx.output("foot_contacts.npz")]


def run_retarget(ctx: StageContext) -> str:
    from mocap.api import retarget
    from mocap.retarget.pieces import keypoints_header

    s = ctx.settings["retarget"]
    source = ctx.output("pose3d_filtered.npz")
    kp = keypoints_header(source)  # frames, persons and fps, without the arrays (a long clip goes in pieces)
    lines = []
    for p in retarget_persons(ctx, kp.n_persons):
        path = ctx.out(f"motion{person_suffix(p)}.npz")
        result = retarget(source, path, person=p, rig=s["rig"], foot_lock=s["foot_lock"],
                          contacts_path=ctx.output("foot_contacts.npz") if s["foot_lock"] else None)
        unseen = result.rest_joints
        rest = f" ({len(unseen)} never seen, left in rest pose: {', '.join(unseen[:4])}" + \
            (", ...)" if len(unseen) > 4 else ")") if unseen else ""
        lines.append(f"person {p}: {len(result.joint_names)} bones{rest}")
        if s["smplx_model"]:
            retarget(source, ctx.out(f"smplx{person_suffix(p)}.npz"), person=p, smplx_model=s["smplx_model"],
                     gender=s["gender"], progress=ctx.progress)
            lines[-1] += ", SMPL-X fitted"
    return f"{kp.n_frames} frames at {kp.fps:g} fps onto the {s['rig']} rig; " + "; ".join(lines)

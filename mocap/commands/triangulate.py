"""``mocap triangulate``: 2D keypoints of several calibrated cameras -> 3D keypoints (pose3d.npz + TRC).

Three inputs::

    mocap triangulate DIR                                    # DIR/output/pose2d.npz + the session's calibration
    mocap triangulate pose2d.npz --calibration CAL -o OUT    # what `mocap pose2d` wrote
    mocap triangulate --openpose-json DIR... --fps 60 --calibration CAL -o OUT

The frame rate, image sizes and frame numbers come from pose2d.npz; OpenPose JSON records none of
them, so ``--fps`` is required there (and ``--videos`` gives the image sizes). A session folder's
``session.toml`` ``[triangulate]`` gives the settings (as ``mocap run`` uses them); flags given win.
Elsewhere a flag not given takes the command line's default (everyone, tracked).
"""

from __future__ import annotations

import argparse


def _persons(text: str):
    if text == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1 or 'all', got {text!r}")
    return value


# The flags' defaults, where no session.toml gives them (persons None: everyone, tracked).
DEFAULTS = dict(persons=None, min_score=0.3, min_views=2, max_association_error=50.0, max_reprojection_error=15.0,
                min_track_frames=5)
_UNSET = object()  # a flag not given


def _options(args, session_dir=None) -> dict:
    """The triangulation options: each flag given, else the session's [triangulate] value (a session
    folder), else the command line's default."""
    given = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k) is not _UNSET}
    if session_dir is None:
        return {**DEFAULTS, **given}
    from mocap.session import open_session

    s = open_session(session_dir).settings()["triangulate"]
    session = {k: s[k] for k in DEFAULTS if k != "persons"}
    session["persons"] = None if s["persons"] == "all" else int(s["persons"])
    extra = {k: s[k] for k in ("max_gap", "outlier_method", "fix_swaps", "trc")}
    return {**session, **extra, **given, "fill_with_lifting": bool(args.fill_with_lifting or s["fill_with_lifting"])}


def _cmd_triangulate(args) -> None:
    from pathlib import Path

    import numpy as np

    from mocap import api
    from mocap.errors import SettingsError

    session_dir = args.input if args.input and not args.openpose_json and Path(args.input).is_dir() else None
    options = dict(_options(args, session_dir), progress=not args.quiet)
    if args.openpose_json:
        if args.input:
            raise SettingsError("give either INPUT (a session folder or pose2d.npz) or --openpose-json, not both")
        if args.fps is None:
            raise SettingsError("--openpose-json needs --fps: OpenPose JSON does not record the videos' frame rate")
        if not args.calibration or not args.output:
            raise SettingsError("--openpose-json needs --calibration CAL and -o OUT")
        if args.fill_with_lifting:
            raise SettingsError("--fill-with-lifting needs the videos: triangulate a session folder (DIR)")
        result = api.triangulate_openpose(args.calibration, args.openpose_json, args.output, fps=args.fps,
                                          layout=args.layout, videos=args.videos, **options)
    elif session_dir is not None:
        result = api.triangulate_session(args.input, args.output, calibration_path=args.calibration, **options)
    elif args.input:
        if not args.calibration or not args.output:
            raise SettingsError(f"{args.input}: a pose2d.npz needs --calibration CAL and -o OUT")
        lifted = None
        if args.fill_with_lifting:
            lifted = Path(args.input).with_name("lifted.npz")
            if not lifted.is_file():
                raise SettingsError(f"--fill-with-lifting needs {lifted} (the lifted views of every camera); "
                                    "triangulate the session folder to have it made")
        result = api.triangulate_pose2d(args.input, args.calibration, args.output, fill_with_lifting=lifted,
                                        **options)
    else:
        raise SettingsError("give a session folder DIR, a pose2d.npz with --calibration and -o, or --openpose-json")
    kp = result.keypoints
    found = np.isfinite(kp.xyz[..., 0])
    present = found.any(axis=(0, 1))  # keypoints the input layout has (BODY_25B fills 23 of 133)
    print(f"triangulated {kp.n_frames} frames at {kp.fps:g} fps (video frames {kp.frame_index[0]} to "
          f"{kp.frame_index[-1]}): {int(present.sum())} keypoints, {found[..., present].mean():.1%} of them found; "
          f"world frame: {kp.world_frame}")
    errors = ", ".join(f"{name} {m:.1f}" + (" (far above the others)" if name in result.outliers else "")
                       for name, m in (result.camera_errors or {}).items())
    print(f"median reprojection error per camera (px): {errors}")
    if result.n_filled:
        print(f"filled {result.n_filled} keypoints from lifted 3D")
    if kp.n_persons > 1 or options["persons"] != 1:
        seen = found[..., present].any(-1).sum(0)  # frames per track
        print(f"{kp.n_persons} track(s): " + ", ".join(f"person {p} in {n} frames" for p, n in enumerate(seen)))
    for path in (result.pose3d_npz, result.pose3d_trc, *result.more_trc):
        if path is not None:
            print(f"wrote {path}")


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("triangulate", help="multi-view 2D keypoints + calibration -> 3D keypoints (pose3d.npz)")
    p.add_argument("input", nargs="?", help="session folder (DIR/output/pose2d.npz, the session's calibration, the "
                                            "[triangulate] settings of its session.toml), or a pose2d.npz")
    p.add_argument("--calibration", metavar="CAL", help="calibration file: anipose/Pose2Sim TOML or Qualisys "
                                                        ".qca.txt (a session folder finds its own)")
    p.add_argument("--openpose-json", nargs="+", metavar="DIR",
                   help="one OpenPose JSON folder per camera (folder name = camera name, '_json' dropped) instead "
                        "of INPUT; needs --fps")
    p.add_argument("--fps", type=float, help="with --openpose-json: the videos' frame rate (JSON does not record it)")
    p.add_argument("--videos", nargs="+", metavar="FILE", help="with --openpose-json: the videos, one per camera in "
                                                               "the folders' order, for their image sizes")
    p.add_argument("--layout", default="body_25", help="body layout of the JSON files (body_25, body_25b, coco_17, ...)")
    p.add_argument("--min-score", type=float, default=_UNSET,
                   help="ignore 2D keypoints below this confidence (default 0.3)")
    p.add_argument("--min-views", type=int, default=_UNSET,
                   help="cameras a keypoint needs to be triangulated (default 2)")
    p.add_argument("--max-association-error", type=float, default=_UNSET, metavar="PX",
                   help="pixels within which detections in different views count as one person (default 50)")
    p.add_argument("--max-reprojection-error", type=float, default=_UNSET, metavar="PX",
                   help="a view further off than this is left out of a keypoint (raised per camera to 6x its "
                        "median error, for calibrations that fit some cameras poorly; default 15)")
    p.add_argument("--persons", type=_persons, default=_UNSET, metavar="N|all",
                   help="all: everyone, tracked (P axis = track id; the default); 1: the subject only; "
                        "N: the N people seen longest")
    p.add_argument("--min-track-frames", type=int, default=_UNSET, metavar="N",
                   help="tracks seen in fewer frames are dropped as ghosts (several people; capped at the clip; "
                        "default 5)")
    p.add_argument("--fill-with-lifting", action="store_true",
                   help="fill keypoints fewer than two cameras agreed on from monocular 3D (lifted.npz, made with "
                        "MediaPipe from the session's videos when missing)")
    p.add_argument("-o", "--output", metavar="OUT", help="output folder (default DIR/output for a session)")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_triangulate)

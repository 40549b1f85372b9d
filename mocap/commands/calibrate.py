"""``mocap calibrate DIR``, ``mocap calibration board`` and ``mocap calibration export``.

Settings come from the flags, else from the ``[calibration]`` table of ``DIR/session.toml`` or
``DIR/../session.toml`` (the session's settings, checked against the one schema of
:mod:`mocap.session.schema`: ``mocap init`` writes them all with their defaults), else from the
schema's defaults. Keys match the flags: board, squares, square_size, marker_size, dictionary,
legacy, fisheye, every, rate, floor.
"""

from __future__ import annotations

import argparse
from pathlib import Path

FLAG_KEYS = ("board", "squares", "square_size", "marker_size", "dictionary", "legacy", "fisheye", "every", "rate",
             "floor")


def _squares(text) -> tuple[int, int]:
    from calibration import CalibrationError

    if isinstance(text, (list, tuple)) and len(text) == 2:
        return int(text[0]), int(text[1])
    try:
        a, b = str(text).lower().split("x")
        return int(a), int(b)
    except ValueError:
        raise CalibrationError(f"--squares must look like 7x5, got {text!r}") from None


def _session_settings(folder: Path | None):
    """The ``[calibration]`` table of the session around ``folder`` (the defaults without one)."""
    from mocap.session import default_settings, load_settings

    for candidate in ((folder / "session.toml", folder.parent / "session.toml") if folder is not None else ()):
        if candidate.is_file():
            return load_settings(candidate)["calibration"]
    return default_settings()["calibration"]


def calibrate_settings(args, folder: Path | None) -> dict:
    """The calibration settings: flags, else the session's [calibration], else the defaults."""
    session = _session_settings(folder)
    out = {}
    for key in FLAG_KEYS:
        value = getattr(args, key, None)
        out[key] = value if value is not None else session[key]
    return out


def _board(settings):
    from mocap.pipeline.capture import board_from_table

    return board_from_table({**settings, "squares": _squares(settings["squares"])})


def _add_board_flags(p) -> None:
    p.add_argument("--board", choices=["charuco", "checkerboard"], default=None, help="board kind (default charuco)")
    p.add_argument("--squares", default=None, help="ChArUco: squares CxR (7x5); checkerboard: inner corners (4x7)")
    p.add_argument("--square-size", type=float, default=None, dest="square_size", help="square side in metres")
    p.add_argument("--marker-size", type=float, default=None, dest="marker_size", help="ArUco marker side in metres")
    p.add_argument("--dictionary", default=None, help="ArUco dictionary, e.g. DICT_4X4_50")
    p.add_argument("--legacy", action="store_true", default=None, help="ChArUco layout of OpenCV < 4.6")


def _cmd_calibrate(args) -> None:
    from calibration.pipeline import calibrate_folder

    folder = Path(args.folder)
    settings = calibrate_settings(args, folder)
    board = _board(settings)
    output = Path(args.output) if args.output else folder / "calibration.toml"
    result = calibrate_folder(folder, board, output, intrinsics_only=args.intrinsics_only,
                              fisheye=bool(settings["fisheye"]), step=int(settings["every"]),
                              rate=float(settings["rate"]) if settings["rate"] else None,
                              floor=settings["floor"] or None, report=not args.no_report,
                              progress=not args.quiet)
    for cam in result.group:
        intr = result.intrinsics[cam.name]
        rms = result.bundle.camera_rms.get(cam.name) if result.bundle else intr.rms
        K = cam.matrix
        print(f"{cam.name}: {len(intr.view_keys)} views ({len(intr.rejected)} rejected), f=({K[0, 0]:.1f}, "
              f"{K[1, 1]:.1f}) c=({K[0, 2]:.1f}, {K[1, 2]:.1f}), reprojection RMS {rms:.3f} px")
    print(f"world frame: {result.world_frame}")
    print(f"wrote {result.path}")
    for path in result.report_paths:
        print(f"wrote {path}")


def _cmd_board(args) -> None:
    import cv2

    from calibration import CalibrationError

    settings = calibrate_settings(args, None)
    board = _board(settings)
    image = board.image(args.pixels_per_square)
    output = Path(args.output)
    if not output.parent.is_dir():
        raise CalibrationError("the output folder does not exist", output.parent)
    tmp = output.with_name(f".{output.stem}.tmp{output.suffix or '.png'}")
    if not cv2.imwrite(str(tmp), image):
        raise CalibrationError("cannot write this image (unknown extension?)", output)
    tmp.replace(output)
    w, h = board.extent
    print(f"wrote {output} ({image.shape[1]}×{image.shape[0]} px); print it so that the board measures "
          f"{w * 100:.1f} × {h * 100:.1f} cm without the margin")


def _cmd_export(args) -> None:
    from calibration import load_calibration
    from calibration.export import export_calibration

    print(f"wrote {export_calibration(load_calibration(args.file), args.output, args.format)}")


def _cmd_people(args) -> None:
    from calibration import load_calibration
    from mocap.calibrate_api import calibrate_from_keypoints, largest_person
    from mocap.data import Keypoints2D
    from mocap.io import read_openpose_json

    if len(args.keypoints) == 1 and args.keypoints[0].endswith(".npz"):
        kp = Keypoints2D.load(args.keypoints[0])
    else:
        kp = read_openpose_json(args.keypoints, layout=args.layout, progress=not args.quiet)
    if kp.n_persons > 1:
        print(f"{kp.n_persons} people per view at most: using the largest in each view and frame")
        kp = largest_person(kp)
    group, result = calibrate_from_keypoints(load_calibration(args.intrinsics), kp, args.output, height=args.height,
                                             refine_focal=args.refine_focal)
    scale = f"scaled to a {args.height} m person" if args.height else "scale arbitrary (give --height)"
    print(f"{len(group)} cameras posed from people, RMS {result.rms:.2f} px, {scale}; world: {result.world_frame}")
    print(f"wrote {args.output}")


def register(verbs, calibration_actions) -> None:
    p = verbs.add_parser("calibrate", help="intrinsics + extrinsics from board images/videos -> calibration.toml")
    p.add_argument("folder", help="one sub-folder of images or one video per camera, named after the camera")
    _add_board_flags(p)
    p.add_argument("--fisheye", action="store_true", default=None, help="fisheye lens model")
    p.add_argument("--every", type=int, default=None, help="videos: use every n-th frame (default 1)")
    p.add_argument("--rate", type=float, default=None, help="videos: sample this many frames per second")
    p.add_argument("--floor", default=None, help="picture (file stem / frame number) with the board on the floor: "
                                                 "world origin and axes, Z up")
    p.add_argument("--intrinsics-only", action="store_true", dest="intrinsics_only",
                   help="calibrate each camera on its own (no poses)")
    p.add_argument("--no-report", action="store_true", dest="no_report", help="do not write the report files")
    p.add_argument("-o", "--output", default=None, help="calibration file (default DIR/calibration.toml)")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars")
    p.set_defaults(func=_cmd_calibrate)

    q = calibration_actions.add_parser("board", help="printable calibration board image")
    _add_board_flags(q)
    q.add_argument("--pixels-per-square", type=int, default=200, dest="pixels_per_square")
    q.add_argument("-o", "--output", required=True, help="image file (.png)")
    q.set_defaults(func=_cmd_board)

    q = calibration_actions.add_parser("people", help="camera poses from people's 2D keypoints (no board)")
    q.add_argument("keypoints", nargs="+", help="pose2d.npz, or one OpenPose JSON folder per camera")
    q.add_argument("--intrinsics", required=True, help="calibration file giving each camera's intrinsics, by name")
    q.add_argument("--layout", default="body_25", help="layout of OpenPose JSON (body_25, body_25b, ...)")
    q.add_argument("--height", type=float, default=None, help="the person's height in metres, for the scale")
    q.add_argument("--refine-focal", action="store_true", help="refine focal lengths too")
    q.add_argument("-o", "--output", required=True, help="calibration file to write")
    q.set_defaults(func=_cmd_people)

    e = calibration_actions.add_parser("export", help="write a calibration for another tool (Qualisys, Pose2Sim, ...)")
    e.add_argument("file", help="calibration file (TOML or .qca.txt)")
    e.add_argument("--format", required=True, choices=["pose2sim", "anipose", "freemocap", "qualisys", "caliscope"])
    e.add_argument("-o", "--output", required=True)
    e.set_defaults(func=_cmd_export)

"""The ``mocap`` command line. Each verb calls the function of the same name in :mod:`mocap.api`.

Errors a user can cause are printed as one line, ``mocap: error: <file>: <problem>``, with exit
status 2 and no traceback.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import calibration
from mocap.errors import MocapError


def _cmd_triangulate(args) -> None:
    from mocap.api import triangulate_openpose

    result = triangulate_openpose(args.calibration, args.openpose_json, args.output, layout=args.layout, fps=args.fps,
                                  min_score=args.min_score, min_views=args.min_views,
                                  max_association_error=args.max_association_error, progress=not args.quiet)
    kp = result.keypoints
    found = np.isfinite(kp.xyz[..., 0])
    present = found.any(axis=(0, 1))  # keypoints the input layout has (BODY_25B fills 23 of 133)
    print(f"triangulated {kp.n_frames} frames at {kp.fps:g} fps: {int(present.sum())} keypoints, "
          f"{found[..., present].mean():.1%} of them found, "
          f"median reprojection error {np.nanmedian(kp.reproj_error):.2f} px")
    print(f"wrote {result.pose3d_npz}\nwrote {result.pose3d_trc}")


def _cmd_export(args) -> None:
    from mocap.api import export

    print(f"wrote {export(args.format, args.input, args.output, person=args.person)}")


def _cmd_calibration_import(args) -> None:
    from mocap.api import import_calibration

    print(f"wrote {import_calibration(args.file, args.output)}")


def _cmd_demo(args) -> None:
    from mocap.demo import run_demo

    result = run_demo(args.output, n_frames=args.frames)
    for name, path in result.paths.items():
        print(f"wrote {name:12s} {path}")
    errors = ", ".join(f"{k} {v:.1f}" for k, v in result.error_mm.items())
    print(f"3D error against the synthetic truth (median, mm): {errors}")
    print(f"median reprojection error {result.reprojection_px:.2f} px; BVH joints to their 3D targets: "
          f"{result.bvh_joint_error_mm:.1f} mm mean")


def _plugin_registrars():
    """``register(verbs, calibration_actions=...)`` of every module in :mod:`mocap.commands`: each adds
    its verbs (sub-parsers whose ``func`` takes the parsed args) without touching this file."""
    import importlib
    import pkgutil

    import mocap.commands

    names = sorted(m.name for m in pkgutil.iter_modules(mocap.commands.__path__))
    return [importlib.import_module(f"mocap.commands.{name}").register for name in names]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mocap", description="Markerless multi-camera motion capture.")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("triangulate", help="multi-view 2D keypoints + calibration -> 3D keypoints")
    p.add_argument("--calibration", required=True, metavar="CAL",
                   help="calibration file: anipose/Pose2Sim TOML or Qualisys .qca.txt")
    p.add_argument("--openpose-json", nargs="+", required=True, metavar="DIR",
                   help="one OpenPose JSON folder per camera (folder name = camera name, '_json' dropped)")
    p.add_argument("--layout", default="body_25", help="body layout of the JSON files (body_25, body_25b, coco_17, ...)")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate of the videos (JSON does not record it)")
    p.add_argument("--min-score", type=float, default=0.3, help="ignore 2D keypoints below this confidence")
    p.add_argument("--min-views", type=int, default=2, help="cameras a keypoint needs to be triangulated")
    p.add_argument("--max-association-error", type=float, default=50.0, metavar="PX",
                   help="pixels within which a view's detection counts as the subject")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output folder (pose3d.npz, pose3d.trc)")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_triangulate)

    p = verbs.add_parser("export", help="pose3d.npz / motion.npz -> BVH, TRC, CSV, NPZ")
    p.add_argument("format", choices=["bvh", "trc", "csv", "npz"])
    p.add_argument("input", help="pose3d.npz (3D keypoints) or motion.npz")
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.add_argument("--person", type=int, default=0, help="which person (P axis) to export")
    p.set_defaults(func=_cmd_export)

    p = verbs.add_parser("calibration", help="calibration files")
    cal = p.add_subparsers(dest="calibration_verb", required=True, metavar="ACTION")
    q = cal.add_parser("import", help="convert a Qualisys .qca.txt or anipose/Pose2Sim TOML to calibration.toml")
    q.add_argument("file")
    q.add_argument("-o", "--output", required=True)
    q.set_defaults(func=_cmd_calibration_import)

    for register in _plugin_registrars():
        register(verbs, calibration_actions=cal)

    p = verbs.add_parser("demo", help="synthetic session through the whole pipeline, with its 3D error")
    p.add_argument("-o", "--output", default="mocap_demo", help="folder to write (default ./mocap_demo)")
    p.add_argument("--frames", type=int, default=240)
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (MocapError, calibration.CalibrationError) as exc:
        print(f"mocap: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mocap: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

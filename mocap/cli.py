"""The ``mocap`` command line. Each verb calls the function of the same name in :mod:`mocap.api`.

Errors a user can cause are printed as one line, ``mocap: error: <file>: <problem>``, with exit
status 2 and no traceback.
"""

from __future__ import annotations

import argparse
import sys

import calibration
from mocap.errors import MocapError


def _cmd_export(args) -> None:
    from mocap.api import export

    print(f"wrote {export(args.format, args.input, args.output, person=args.person, rig=args.rig, units=args.units)}")


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

    p = verbs.add_parser("export", help="pose3d.npz / motion.npz -> BVH, FBX, glTF, TRC, C3D, CSV, NPZ")
    p.add_argument("format", choices=["bvh", "fbx", "gltf", "glb", "trc", "c3d", "csv", "npz"],
                   help="bvh (Y up, m), fbx (Y up, cm; needs bpy), gltf/glb (Y up, m), trc (Y up), c3d (Z up, mm), "
                        "csv / npz (Z up, m)")
    p.add_argument("input", help="pose3d.npz (3D keypoints) or motion.npz")
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.add_argument("--person", type=lambda v: None if v == "all" else int(v), default=0, metavar="N|all",
                   help="which person (P axis) to export; csv / npz: 'all' writes every person")
    p.add_argument("--rig", default="default", choices=["default", "mixamo", "unreal", "unity", "rigify"],
                   help="bone names for bvh/fbx/gltf made from 3D keypoints (default: ours)")
    p.add_argument("--units", choices=["m", "cm", "mm"], help="trc / c3d length unit (trc m, c3d mm by default)")
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


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> str:
    return f"mocap: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.formatwarning = _one_line_warning  # a warning is one line for the user, like an error
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

"""``mocap render-pose-maps IN``: 2D or 3D results -> DWPose/ControlNet pose-map PNGs from any camera."""

from __future__ import annotations

import argparse


def _cmd_render_pose_maps(args) -> None:
    from mocap.posemaps.run import render_pose_maps

    folders = render_pose_maps(args.input, args.output, camera=tuple(args.camera) if args.camera else None,
                               orbit=args.orbit, size=args.size, pose3d=args.pose3d, min_score=args.min_score,
                               progress=not args.quiet)
    for folder in folders:
        n = len(list(folder.glob("*.png")))
        print(f"wrote {folder} ({n} pose maps)")


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("render-pose-maps", help="pose2d/pose3d/motion.npz -> ControlNet (OpenPose-style) pose maps")
    p.add_argument("input", metavar="IN", help="pose2d.npz (each camera), pose3d.npz or motion.npz (any camera)")
    view = p.add_mutually_exclusive_group()
    view.add_argument("--camera", nargs=2, metavar=("CAL", "NAME"),
                      help="3D input: render from camera NAME of calibration file CAL")
    view.add_argument("--orbit", type=int, metavar="N", help="3D input: N virtual cameras circling the subject")
    p.add_argument("--size", metavar="WxH", help="picture size (default: the camera's; orbit 768x1024)")
    p.add_argument("--pose3d", metavar="POSE3D", help="2D input: apply this triangulation's left/right decisions")
    p.add_argument("--min-score", type=float, default=0.3, help="draw keypoints above this score")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder (DIR/<camera>/<frame>.png)")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_render_pose_maps)

"""``mocap pose2d``: 2D whole-body keypoints for every camera of a session (or given videos)."""

from __future__ import annotations

import argparse


def _cmd_pose2d(args) -> None:
    from pathlib import Path

    from mocap.errors import SettingsError
    from mocap.pose2d import run_pose2d
    from mocap.video import find_videos

    if args.video:
        if not args.output:
            raise SettingsError("with --video, give the output folder with -o OUT")
        videos, out = [Path(v) for v in args.video], Path(args.output)
    elif args.dir:
        videos = find_videos(args.dir)
        out = Path(args.output) if args.output else Path(args.dir) / "output"
    else:
        raise SettingsError("give a session folder DIR or --video FILE ...")
    result = run_pose2d(videos, out, args.backend, model=args.model, detector=args.detector, device=args.device,
                        fp16=args.fp16, start=args.start, stop=args.stop, stride=args.stride,
                        batch_frames=args.batch_frames, detect_every=args.detect_every, overlay=args.overlay,
                        openpose_layout=args.openpose, progress=not args.quiet)
    kp = result.keypoints
    found = (kp.score > 0).any(-1).any(-1).mean(axis=1)  # (C,) fraction of frames with someone
    print(f"2D backend {args.backend} ran on {result.provider}: {kp.n_cameras} cameras, {kp.n_frames} frames, "
          f"up to {kp.n_persons} persons per view")
    for name, f in zip(kp.camera_names, found):
        print(f"  {name}: a person in {f:.0%} of frames")
    print(f"wrote {result.pose2d_npz}")
    for p in result.openpose_dirs + result.overlays:
        print(f"wrote {p}")


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("pose2d", help="2D whole-body keypoints (133) for every camera -> output/pose2d.npz")
    p.add_argument("dir", nargs="?", help="session folder (videos/<camera>.mp4 -> output/pose2d.npz)")
    p.add_argument("--video", nargs="+", metavar="FILE", help="video files instead of a session folder (needs -o)")
    p.add_argument("-o", "--output", metavar="OUT", help="output folder (default DIR/output)")
    p.add_argument("--backend", choices=["rtmw", "mediapipe"], default="mediapipe",
                   help="rtmw: detector + ONNX whole-body model (GPU if present); mediapipe: Holistic, offline "
                        "(default)")
    p.add_argument("--model", help="rtmw pose model: registry/cache name (see `mocap models list`) or .onnx path")
    p.add_argument("--detector", help="person detector: cache name or .onnx / mmdeploy folder (rtmw default "
                                      "rtmdet-nano-person; mediapipe: enables several people via crops)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "tensorrt"], default="auto")
    p.add_argument("--fp16", action="store_true", help="half precision where the provider supports it (TensorRT)")
    p.add_argument("--start", type=int, default=0, help="first frame")
    p.add_argument("--stop", type=int, default=None, help="frame to stop before")
    p.add_argument("--stride", type=int, default=1, help="use every N-th frame")
    p.add_argument("--batch-frames", type=int, default=4, help="time steps per batched inference (all cameras)")
    p.add_argument("--detect-every", type=int, default=1, help="run the detector every N frames, track between")
    p.add_argument("--overlay", choices=["video", "images"], help="draw the skeletons into OUT/overlay")
    p.add_argument("--openpose", metavar="LAYOUT", nargs="?", const="body_25",
                   help="also write OpenPose JSON (body layout, default body_25) into OUT/openpose")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_pose2d)

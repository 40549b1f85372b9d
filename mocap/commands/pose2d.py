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
                        openpose_layout=args.openpose, pose_maps=args.pose_maps, hands=not args.no_hands,
                        face=not args.no_face, progress=not args.quiet)
    kp = result.keypoints
    print(f"2D backend {result.backend or args.backend + ' on ' + result.provider}: {kp.n_cameras} cameras, "
          f"{kp.n_frames} frames, up to {kp.n_persons} persons per view")
    for c, name in enumerate(kp.camera_names):
        parts = ", ".join(f"{part} {rate:.0%}" for part, rate in found_rates(kp, c).items())
        swaps = int(kp.swapped[c].any(-1).sum())
        print(f"  {name}: found in % of frames: {parts}; left/right put back in {swaps} detections")
    print(f"wrote {result.pose2d_npz}")
    for p in result.openpose_dirs + result.overlays + result.pose_maps:
        print(f"wrote {p}")


def found_rates(kp, c: int) -> dict[str, float]:
    """Share of camera ``c``'s frames where some person has each part (any point with a score)."""
    from mocap.skeleton import BODY, FACE, LEFT_HAND, RIGHT_HAND

    score = kp.score[c]
    return {part: float((score[..., sl] > 0).any(-1).any(-1).mean()) if kp.n_frames else 0.0
            for part, sl in (("person", BODY), ("face", FACE), ("left hand", LEFT_HAND), ("right hand", RIGHT_HAND))}


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("pose2d", help="2D whole-body keypoints (133) for every camera -> output/pose2d.npz")
    p.add_argument("dir", nargs="?", help="session folder (videos/<camera>.mp4 -> output/pose2d.npz)")
    p.add_argument("--video", nargs="+", metavar="FILE", help="video files instead of a session folder (needs -o)")
    p.add_argument("-o", "--output", metavar="OUT", help="output folder (default DIR/output)")
    p.add_argument("--backend", choices=["rtmw", "mediapipe"], default="mediapipe",
                   help="rtmw: detector + ONNX whole-body model (GPU if present); mediapipe: Holistic, offline "
                        "(default)")
    p.add_argument("--model", help="rtmw pose model: registry/cache name (see `mocap models list`) or .onnx path")
    p.add_argument("--detector", help="person detector: cache name or .onnx / mmdeploy folder (default "
                                      "rtmdet-nano-person; mediapipe uses it when it is in the model cache, for "
                                      "several people; 'none': mediapipe single-person)")
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
    p.add_argument("--pose-maps", action="store_true",
                   help="also write DWPose/ControlNet pose-map PNGs per camera and frame into OUT/pose_maps")
    p.add_argument("--no-hands", action="store_true", help="mediapipe: skip the hand crops")
    p.add_argument("--no-face", action="store_true", help="mediapipe: skip the face crops")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_pose2d)

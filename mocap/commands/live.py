"""``mocap live``: cameras (or a replayed result) -> frames streamed to the Blender add-on and/or VMC."""

from __future__ import annotations

import argparse


def _cmd_live(args) -> None:
    from mocap.live import live

    result = live(replay=args.replay, cameras=args.cameras, calibration=args.calibration, send=args.send,
                  vmc=args.vmc, person=args.person, rig=args.rig, keypoints=not args.no_keypoints, fps=args.fps,
                  loop=args.loop, max_frames=args.frames, duration=args.duration, backend=args.backend,
                  model=args.model, detector=args.detector, device=args.device,
                  one_euro=None if args.no_filter else tuple(args.one_euro),
                  calibration_frames=args.calibration_frames, timeout=args.timeout, progress=not args.quiet)
    s = result.stats
    if hasattr(s, "skipped"):
        print(f"replayed {s.sent} frames in {s.seconds:.1f} s ({s.skipped} skipped as overdue)")
    else:
        print(f"live: {s.frame_sets} frame sets in {s.seconds:.1f} s, {s.triangulated} triangulated, {s.sent} sent")
        for stage, (median, p90) in s.summary().items():
            print(f"  {stage:12s} median {median:7.1f} ms   p90 {p90:7.1f} ms")
    for line in result.outputs:
        print(line)


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("live", help="cameras or a recorded result -> live frames for Blender (add-on) and VMC apps")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--cameras", nargs="+", metavar="SRC",
                     help="device indices (0 1), stream URLs (rtsp://...) or video files, one per camera")
    src.add_argument("--replay", metavar="FILE", help="stream pose3d.npz or motion.npz at its frame rate")
    p.add_argument("--calibration", metavar="CAL", help="the cameras' calibration (with --cameras)")
    p.add_argument("--send", nargs="?", const="", metavar="HOST:PORT",
                   help="the Blender add-on's receiver (default 127.0.0.1:9763; the default output)")
    p.add_argument("--vmc", metavar="HOST:PORT", help="also (or, without --send, instead) send the VMC protocol "
                   "(OSC/UDP; VSeeFace, Warudo, VMC4B ... listen on port 39539)")
    p.add_argument("--person", type=int, default=0, help="which person of a pose3d.npz to replay")
    p.add_argument("--rig", default="default", choices=["default", "mixamo", "unreal", "unity", "rigify"],
                   help="bone names of the streamed armature")
    p.add_argument("--no-keypoints", action="store_true", help="send rotations only, not the raw 3D keypoints")
    p.add_argument("--fps", type=float, help="replay rate, or the cameras' rate (default: the file's / cameras')")
    p.add_argument("--loop", action="store_true", help="replay (or play video files) in a loop")
    p.add_argument("--frames", type=int, metavar="N", help="stop after N frames sent")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--backend", default="mediapipe", choices=["mediapipe", "rtmw"], help="2D backend (cameras)")
    p.add_argument("--model", help="rtmw: the pose model (registry name or .onnx)")
    p.add_argument("--detector", help="person detector (rtmw; optional for mediapipe)")
    p.add_argument("--device", default="auto", help="ONNX Runtime device: auto, cpu, cuda, tensorrt")
    p.add_argument("--one-euro", type=float, nargs=2, default=(1.0, 0.5), metavar=("MIN_CUTOFF", "BETA"),
                   help="one-euro filter of the 3D keypoints: cut-off at rest (Hz) and speed coefficient (s/m)")
    p.add_argument("--no-filter", action="store_true", help="no one-euro filtering")
    p.add_argument("--calibration-frames", type=int, default=15, metavar="N",
                   help="confident frames the bone lengths are measured on before streaming starts")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S",
                   help="seconds a camera or stream may take to deliver its first frame")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_live)

"""``mocap sync DIR``: frame offsets between a session's cameras -> DIR/output/sync.toml."""

from __future__ import annotations

import argparse


def _offset(text: str):
    name, _, value = text.partition("=")
    try:
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected CAM=FRAMES such as cam02=7, got {text!r}") from None


def _cmd_sync(args) -> None:
    from mocap.sync import sync_session
    from mocap.sync.result import sync_path

    result = sync_session(args.dir, args.method, reference=args.reference,
                          offsets=dict(args.offset) if args.offset else None, max_offset=args.max_offset,
                          min_confidence=args.min_confidence, pose2d=args.pose2d, output=args.output)
    print(f"method: {result.method} ({result.note})")
    starts = result.start_frames
    for cam in result.cameras:
        drift = "" if cam.drift_ppm != cam.drift_ppm else f", drift {cam.drift_ppm:+.1f} ppm"
        dropped = f", {sum(n for _, n in cam.dropped)} dropped" if cam.dropped else ""
        role = " (reference)" if cam.name == result.reference else ""
        print(f"  {cam.name}{role}: offset {cam.offset:+.2f} frames -> {cam.frame_offset:+d}, starts at frame "
              f"{starts[cam.name]}, confidence {cam.confidence:.2f}{drift}{dropped}")
    print(f"common range: frames {result.first_frame}..{result.stop_frame - 1} of {result.reference} "
          f"({result.n_frames} frames, {result.n_frames / result.fps:.2f} s)")
    for warning in result.warnings:
        print(f"warning: {warning}")
    print(f"wrote {args.output or sync_path(args.dir)}")
    if not args.output:
        print("`mocap run` applies it as it is (each video read from its own start frame); delete it to "
              "synchronize by session.toml [sync] instead")


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("sync", help="frame offsets between cameras (timestamps, audio or motion) -> output/sync.toml")
    p.add_argument("dir", help="session folder")
    p.add_argument("--method", choices=["auto", "timestamps", "audio", "motion", "manual"], default="auto",
                   help="auto (default): timestamps if recorded, else audio if every video has sound, else motion "
                        "from output/pose2d.npz")
    p.add_argument("--reference", metavar="CAM", help="camera the others are measured against (default: the first)")
    p.add_argument("--offset", type=_offset, action="append", metavar="CAM=FRAMES",
                   help="give an offset yourself (CAM's frame FRAMES is the reference's frame 0); implies manual")
    p.add_argument("--max-offset", type=float, metavar="S", help="largest offset to look for, in seconds")
    p.add_argument("--min-confidence", type=float, default=0.5, metavar="C",
                   help="warn about cameras whose offset has a lower confidence (0..1)")
    p.add_argument("--pose2d", metavar="NPZ", help="2D keypoints of the unsynchronized videos for motion sync "
                                                   "(default DIR/output/pose2d.npz)")
    p.add_argument("-o", "--output", metavar="TOML", help="where to write (default DIR/output/sync.toml)")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_sync)

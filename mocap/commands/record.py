"""``mocap record DIR --cameras ...``: several cameras (devices, stream URLs, video files) -> videos/."""

from __future__ import annotations

import argparse


def _size(text: str):
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError(f"width and height must be positive, got {text!r}")
    return w, h


def _cmd_record(args) -> None:
    from mocap.record import record

    result = record(args.dir, args.cameras, names=args.names, duration=args.duration, fps=args.fps, size=args.size,
                    codec=args.codec, timeout=args.timeout, overwrite=args.overwrite, progress=not args.quiet)
    how = "stopped by Ctrl-C" if result.interrupted else "done"
    print(f"recorded {result.seconds:.1f} s ({how})")
    for cam in result.cameras:
        line = (f"  {cam.name}: {cam.frames} frames at {cam.fps:g} fps, {cam.size[0]}x{cam.size[1]}, "
                f"{cam.dropped} dropped, {cam.duplicated} duplicated")
        if cam.end != "stopped":
            line += f" ({cam.end})"
        print(line)
        for failure in cam.failures:
            print(f"    {cam.name} failed: {failure}")
    for cam in result.cameras:
        if cam.video is not None:
            print(f"wrote {cam.video}")
            print(f"wrote {cam.timestamps}")
    print(f"wrote {result.summary}")


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("record", help="record several cameras at once -> DIR/videos/<cam>.mp4 + timestamps")
    p.add_argument("dir", help="session folder (videos go to DIR/videos/)")
    p.add_argument("--cameras", nargs="+", required=True, metavar="CAM",
                   help="device indices (0 1 2 or /dev/videoN), stream URLs (rtsp://, http://...) or video files "
                        "(played at their own rate, standing in for cameras)")
    p.add_argument("--names", nargs="+", metavar="NAME",
                   help="camera names (file stems), one per camera (default cam<index>, stream<k>, or the file's stem)")
    p.add_argument("--duration", type=float, metavar="S", help="seconds to record (default: until Ctrl-C, or until "
                                                                "every video file ended)")
    p.add_argument("--fps", type=float, help="frame rate asked of the cameras (video files play at this rate)")
    p.add_argument("--size", type=_size, metavar="WxH", help="frame size asked of the cameras; other sizes are resized")
    p.add_argument("--codec", choices=["mp4v", "mjpg"], default="mp4v", help="mp4v (.mp4, default) or mjpg (.avi)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="S",
                   help="seconds a camera or stream may take to deliver its first frame")
    p.add_argument("--overwrite", action="store_true", help="replace a recording already in DIR/videos/")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_record)

"""``mocap lift``: one camera -> 3D keypoints (pose3d.npz); or a triangulation's gaps filled from lifted 3D."""

from __future__ import annotations

import argparse


def _report_placement(result) -> None:
    import numpy as np

    kp, pl = result.keypoints, result.placement
    h = np.atleast_1d(pl.height)
    heights = f"{h[0]:.2f}" if np.allclose(h, h[0]) else ", ".join(f"person {p} {v:.2f}" for p, v in enumerate(h))
    why = {"given": "given", "floor": "measured with the feet on the floor",
           "typical": "a typical adult's; give --height for the person's own"}[pl.height_source]
    print(f"lifted camera {result.camera}: {kp.n_frames} frames, {kp.n_persons} person(s); height {heights} m ({why})")
    print(f"  person-frames placed {pl.n_placed}, left empty: {pl.n_unseen} mostly unseen, {pl.n_too_small} too small")
    if result.calibrated:
        print(f"  world frame {kp.world_frame}; median reprojection error {np.nanmedian(kp.reproj_error):.1f} px")
    else:
        print("  no calibration: root-relative 3D in the camera's frame (world frame 'unaligned')")


def _cmd_lift(args) -> None:
    import sys
    import warnings
    from pathlib import Path

    from mocap.errors import SettingsError
    from mocap.lift.run import fill_pose3d, lift
    from mocap.lift.single import UncalibratedWarning

    if args.fill:
        if args.calibration is None:
            raise SettingsError("--fill needs the calibration the 3D keypoints were triangulated with (--calibration)")
        out = Path(args.output) / "pose3d_filled.npz" if args.output else None
        result, path = fill_pose3d(args.fill, args.input, args.calibration, out, min_score=args.min_score)
        print(f"filled {result.n_filled} keypoints from one camera's lifted 3D; {result.n_unfilled} seen by a camera "
              f"could not be aligned (too few triangulated points in their frame)")
        print(f"wrote {path}")
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UncalibratedWarning)
        result = lift(args.input, args.output, calibration=args.calibration, camera=args.camera, backend=args.backend,
                      model=args.model, detector=args.detector, device=args.device, height=args.height,
                      world_frame=args.world_frame, smoothing=args.smoothing, min_score=args.min_score,
                      start=args.start, stop=args.stop, stride=args.stride, progress=not args.quiet)
    for w in caught:
        if issubclass(w.category, UncalibratedWarning):
            print(f"mocap: warning: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    _report_placement(result)
    for path in (result.lifted_npz, result.pose3d_npz, *result.trc):
        if path is not None:
            print(f"wrote {path}")


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("lift", help="one camera -> 3D keypoints (monocular lifting) -> pose3d.npz")
    p.add_argument("input", help="session folder (runs the lifting model on its video), lifted.npz, or a "
                                 "pose2d.npz with lifted.npz beside it")
    p.add_argument("--calibration", metavar="CAL", help="calibration file (default: the session's); without one "
                                                        "the 3D stays root-relative in the camera's frame")
    p.add_argument("-o", "--output", metavar="OUT", help="output folder (default DIR/output, or beside the input)")
    p.add_argument("--camera", metavar="NAME", help="which camera, when the session or file has several")
    p.add_argument("--backend", choices=["rtmw3d", "mediapipe"], default="rtmw3d",
                   help="rtmw3d: detector + RTMW3D ONNX model (GPU if present); mediapipe: MediaPipe Pose's "
                        "world landmarks with its hands, offline")
    p.add_argument("--model", help="RTMW3D model: registry/cache name or .onnx path (default rtmw3d-x)")
    p.add_argument("--detector", help="person detector: cache name or .onnx (rtmw3d default rtmdet-nano-person; "
                                      "mediapipe: optional, for several people)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "tensorrt"], default="auto")
    p.add_argument("--height", type=float, metavar="M", help="the person's height in metres (default: measured "
                                                              "from the floor when it is known, else 1.70)")
    p.add_argument("--world-frame", choices=["floor", "z_up", "unaligned"], default="z_up",
                   help="what the calibration's world is: 'floor' puts the feet on z = 0 (default z_up)")
    p.add_argument("--smoothing", type=float, default=0.25, metavar="S",
                   help="seconds over which the camera-to-person distance is smoothed (0: none)")
    p.add_argument("--min-score", type=float, default=0.3, help="2D confidence a keypoint needs to count")
    p.add_argument("--start", type=int, default=0, help="first frame")
    p.add_argument("--stop", type=int, default=None, help="frame to stop before")
    p.add_argument("--stride", type=int, default=1, help="use every N-th frame")
    p.add_argument("--fill", metavar="POSE3D", help="instead: fill the keypoints fewer than two cameras agreed on in "
                                                    "this triangulated pose3d.npz from INPUT's lifted 3D "
                                                    "(-> pose3d_filled.npz)")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_lift)

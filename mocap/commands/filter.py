"""``mocap filter``: smooth, gap-fill and rigidify 3D keypoints -> pose3d_filtered.npz + TRC."""

from __future__ import annotations

import argparse


def _settings(args, prefix: str = ""):
    from mocap.filters import FilterSettings

    def get(name):
        return getattr(args, f"{prefix}{name}", None)

    base = FilterSettings(despike=args.despike, fill_gaps=args.fill_gaps, gap_method=args.gap_method,
                          butterworth=args.butterworth, butterworth_order=args.order,
                          one_euro=tuple(args.one_euro) if args.one_euro else None,
                          kalman=tuple(args.kalman) if args.kalman else None, rigidify=args.rigidify)
    if not prefix:
        return base
    if get("butterworth") is None and get("one_euro") is None:
        return None  # the group follows the body's settings
    return FilterSettings(despike=base.despike, fill_gaps=base.fill_gaps, gap_method=base.gap_method,
                          butterworth=get("butterworth"),
                          butterworth_order=base.butterworth_order,
                          one_euro=tuple(get("one_euro")) if get("one_euro") else None, rigidify=base.rigidify)


def _cmd_filter(args) -> None:
    import warnings

    import numpy as np

    from mocap.filters import RIGID_BONES
    from mocap.filters.run import filter_pose3d
    from mocap.skeleton import BODY_BONES, bone_lengths

    result = filter_pose3d(args.input, args.output, settings=_settings(args), face=_settings(args, "face_"),
                           hands=_settings(args, "hands_"), contact_height=args.contact_height,
                           contact_speed=args.contact_speed)
    kp = result.keypoints
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # bones never seen (layouts without them)
        limbs = [b for b in BODY_BONES if b in RIGID_BONES]
        lengths = bone_lengths(kp.xyz[..., :23, :], limbs)  # (T, P, bones)
        variation = np.nanmedian(np.nanstd(lengths, axis=0) / np.nanmedian(lengths, axis=0))
    print(f"filtered {kp.n_frames} frames, {kp.n_persons} person(s): limb bone-length variation {variation:.1%} "
          f"(median over bones); feet on the floor {result.contacts.mean():.0%} of the time "
          f"({'the known floor, z = 0' if result.floor_known else 'floor estimated from the feet'})")
    for path in [result.npz, *result.trc, result.contacts_npz]:
        print(f"wrote {path}")


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("filter", help="pose3d.npz -> gap-filled, smoothed, rigid pose3d_filtered.npz + TRC")
    p.add_argument("input", help="3D keypoints (OUT/pose3d.npz)")
    p.add_argument("-o", "--output", metavar="OUT", help="output folder (default: beside the input)")
    p.add_argument("--despike", type=float, metavar="M",
                   help="remove points more than M metres from their 7-frame temporal median (then gap-fill them)")
    p.add_argument("--fill-gaps", type=int, default=0, metavar="N", help="interpolate gaps of up to N frames")
    p.add_argument("--gap-method", choices=["linear", "cubic"], default="linear")
    p.add_argument("--butterworth", type=float, metavar="HZ", help="zero-phase low-pass Butterworth cut-off")
    p.add_argument("--order", type=int, default=4, help="Butterworth order (default 4)")
    p.add_argument("--one-euro", type=float, nargs=2, metavar=("MIN_CUTOFF", "BETA"),
                   help="causal one-euro filter (live use): cut-off at rest in Hz, speed coefficient")
    p.add_argument("--kalman", type=float, nargs=2, metavar=("NOISE", "ACCELERATION"),
                   help="Kalman + RTS smoother: measurement noise (m), random acceleration (m/s^1.5)")
    p.add_argument("--rigidify", action="store_true", help="constant bone lengths per person")
    for group in ("hands", "face"):
        p.add_argument(f"--{group}-butterworth", type=float, metavar="HZ",
                       help=f"own Butterworth cut-off for the {group}")
        p.add_argument(f"--{group}-one-euro", type=float, nargs=2, metavar=("MIN_CUTOFF", "BETA"),
                       help=f"own one-euro filter for the {group}")
    p.add_argument("--contact-height", type=float, default=0.05, metavar="M",
                   help="a foot within this height of the floor (z = 0 when the calibration is floor-aligned, "
                        "else each foot's lowest level) may be in contact")
    p.add_argument("--contact-speed", type=float, default=0.3, metavar="M/S",
                   help="... and moving slower than this")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_filter)

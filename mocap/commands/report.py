"""``mocap report DIR``: rebuild output/report.html from the session's current outputs."""

from __future__ import annotations

import argparse


def _cmd_report(args) -> None:
    import warnings

    from mocap.api import build_report

    warnings.simplefilter("ignore")
    print(f"wrote {build_report(args.folder, progress=not args.quiet, log=None)}")


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("report", help="rebuild output/report.html (calibration, detection, reprojection, bone "
                                        "lengths, trajectories, frames)")
    p.add_argument("folder", help="session folder")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_report)

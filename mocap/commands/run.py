"""``mocap run DIR``: every stage of the session that is out of date, one line per stage with its time."""

from __future__ import annotations

import argparse


def _cmd_run(args) -> None:
    import warnings

    from mocap.api import run_session

    # Warnings of the stages are printed by the runner, one line each, and kept in the manifests.
    warnings.simplefilter("ignore")
    run_session(args.folder, from_stage=args.from_stage, only=args.only, dry_run=args.dry_run,
                progress=not args.quiet, log=lambda line: print(line, flush=True))


def register(verbs, calibration_actions=None) -> None:
    from mocap.pipeline.stages import STAGE_NAMES

    stages = ", ".join(STAGE_NAMES)
    p = verbs.add_parser("run", help="every stage of a session that is out of date: calibration, pose2d (after "
                                     "the cameras' synchronization), triangulate, filter, retarget, export, report")
    p.add_argument("folder", help="session folder (see `mocap init`)")
    p.add_argument("--from", dest="from_stage", metavar="STAGE", help=f"rerun this stage and every later one ({stages})")
    p.add_argument("--only", metavar="STAGE", help="run this stage alone, on the current outputs of the others")
    p.add_argument("--dry-run", action="store_true", help="say what would run and why; run nothing")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_run)

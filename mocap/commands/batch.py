"""``mocap batch DIR...``: many sessions, locally (a process pool) or on a Ray cluster, then a summary table."""

from __future__ import annotations

import argparse


def _cmd_batch(args) -> None:
    import warnings

    from mocap.api import batch
    from mocap.batch import summary_table

    warnings.simplefilter("ignore")  # each session's warnings are in its manifests (and its report)
    result = batch(args.folders, workers=args.workers, ray=args.ray, progress=not args.quiet,
                   log=lambda line: print(line, flush=True))
    print(summary_table(result))
    if result.failed:
        raise SystemExit(1)


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("batch", help="many sessions (`mocap run` on each), per-camera 2D fanned out, on a local "
                                       "process pool or a Ray cluster; a summary table at the end")
    p.add_argument("folders", nargs="+", metavar="DIR", help="session folders, or folders holding sessions")
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: the CPUs); with "
                                                            "--ray auto, the CPUs of the local Ray cluster")
    p.add_argument("--ray", metavar="auto|ADDRESS", help="run on Ray: auto starts a local cluster, or give a "
                                                         "cluster's address (needs pip install \"mocap[cluster]\")")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_batch)

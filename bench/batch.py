"""Batch throughput: sessions per minute with ``mocap batch`` on 1 and 2 local workers and on a local
Ray cluster, against running ``mocap run`` on each session one after the other.

Sessions: synthetic, written by :func:`mocap.sync.synthetic.write_blob_session` (a moving point
filmed by ``--cameras`` MJPG cameras of 192x144 starting a few frames apart, recorded timestamps,
``--frames`` frames each), taken through every stage with the real 2D path (the rtmw backend with
the test models that find the point), one of them broken (a camera's video is not a video). Each
mode works on fresh copies; "per camera" counts the 2D jobs fanned out.

The peer is what a user has without ``mocap batch`` (and what Pose2Sim's batch mode does): one
session after the other, in one process (``mocap run`` per session, here ``run_session`` in a
loop, which stops nothing at a broken session only because the loop catches its error). The
ratio is the mode's sessions per minute over the loop's. Ray's time includes starting the local
cluster (about 4 s); "ray (warm)" is a second batch on the same cluster.

    python bench/batch.py [--sessions 6] [--frames 60] [--cameras 3] [--no-ray]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mocap.batch import batch  # noqa: E402
from mocap.errors import MocapError  # noqa: E402
from mocap.pipeline import run_session  # noqa: E402
from mocap.sync.synthetic import write_blob_session  # noqa: E402


def write_sessions(root: Path, n: int, frames: int, cameras: int) -> list[Path]:
    models = root / "models"
    folders = []
    for i in range(n):
        starts = [(3 * c + i) % 7 for c in range(cameras)]
        folders.append(write_blob_session(root / f"s{i:02d}", starts, n_frames=frames, seed=i, models=models).folder)
    (folders[-1] / "videos" / "cam02.avi").write_bytes(b"broken")
    return folders


def fresh(folders: list[Path], to: Path) -> list[Path]:
    out = []
    for f in folders:
        shutil.copytree(f, to / f.name)
        out.append(to / f.name)
    return out


def loop(folders) -> tuple[float, int]:
    start, failed = time.perf_counter(), 0
    for f in folders:
        try:
            run_session(f, progress=False, log=None)
        except MocapError:
            failed += 1
    return time.perf_counter() - start, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--cameras", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        originals = write_sessions(tmp / "originals", args.sessions, args.frames, args.cameras)
        rows = []
        seconds, failed = loop(fresh(originals, tmp / "loop"))
        rows.append(("mocap run, one after another (peer)", 1, seconds, args.sessions - failed, 0))
        base = args.sessions / seconds
        modes = [("mocap batch, local pool", 1, None), ("mocap batch, local pool", 2, None)]
        if not args.no_ray:
            modes.append(("mocap batch, local Ray cluster", 2, "auto"))
        for label, workers, ray in modes:
            folders = fresh(originals, tmp / f"{label[-4:]}{workers}")
            if ray:
                import ray as ray_module

                start = time.perf_counter()
                ray_module.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
                result = batch(folders, ray=ray, progress=False, log=None)
                cold = time.perf_counter() - start
                rows.append((label, workers, cold, len(result.sessions) - len(result.failed),
                             sum(o.jobs for o in result.sessions)))
                again = fresh(originals, tmp / "ray_warm")
                result = batch(again, ray=ray, progress=False, log=None)
                ray_module.shutdown()
                rows.append((label + " (warm)", workers, result.seconds, len(result.sessions) - len(result.failed),
                             sum(o.jobs for o in result.sessions)))
                continue
            result = batch(folders, workers=workers, progress=False, log=None)
            rows.append((label, workers, result.seconds, len(result.sessions) - len(result.failed),
                         sum(o.jobs for o in result.sessions)))
    print(f"{args.sessions} synthetic sessions ({args.cameras} cameras x {args.frames} frames, 192x144, one broken) "
          f"on {os.cpu_count()} CPUs")
    print(f"{'mode':<40} {'workers':>7} {'seconds':>8} {'ok':>3} {'per camera':>10} {'sessions/min':>12} "
          f"{'vs peer':>8}")
    for label, workers, seconds, ok, jobs in rows:
        rate = args.sessions / seconds * 60
        print(f"{label:<40} {workers:>7} {seconds:>8.1f} {ok:>3} {jobs:>10} {rate:>12.1f} "
              f"{rate / (base * 60):>7.2f}x")


if __name__ == "__main__":
    main()

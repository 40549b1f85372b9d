"""Benchmark of `mocap run`: the wall time of each stage on the real demo session, and the peak
memory of triangulate + filter + retarget on long synthetic sessions.

    python bench/pipeline.py                    # both parts
    python bench/pipeline.py --minutes 1 5      # shorter sessions only
    python bench/pipeline.py --no-demo

1. The Pose2Sim demo (4 real 1080x1920 videos, 100 frames, Qualisys calibration) as a session:
   `mocap run` with the offline backend (MediaPipe, CPU); each stage's time from its manifest.
2. Synthetic 4-camera 60 fps sessions of 1, 5 and 10 minutes (a walking, turning person and a
   bystander, 0.5 px noise, 5 % dropouts: :func:`mocap.synthetic.synthetic_session`), written as a
   session's pose2d.npz + calibration; each of triangulate, filter and retarget then runs alone
   (`mocap run --only STAGE`) in a fresh process, whose peak resident memory (ru_maxrss) is read.
   Target: under 2 GB at 10 minutes, and less than 1.5x growth from 1 to 10 minutes.

No peer (Pose2Sim, FreeMoCap) is installed here, so there is no ratio column; the numbers are ours.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # before bench/, whose calibration.py would shadow the package
SHARED = Path(os.environ.get("MOCAP_SHARED", REPO.parent / "shared"))
CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from mocap.pipeline import run_session
start = time.perf_counter()
run_session(sys.argv[1], only=sys.argv[2], progress=False, log=None)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _env():
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def demo_stages(workdir: Path) -> list[tuple[str, float, str]]:
    demo = SHARED / "data" / "pose2sim_demo"
    if not demo.is_dir():
        print(f"(the demo is not at {demo}: skipped)")
        return []
    root = workdir / "demo"
    subprocess.run([sys.executable, "-m", "mocap.cli", "init", str(root), "--videos",
                    *map(str, sorted((demo / "videos").glob("*.mp4"))), "--calibration",
                    str(demo / "calibration" / "Calib.qca.txt")], check=True, env=_env(), capture_output=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mocap.cli", "--quiet", "run", str(root)], check=True, env=_env(),
                   capture_output=True)
    total = time.perf_counter() - start
    rows = []
    for stage in ("calibration", "pose2d", "triangulate", "filter", "retarget", "export", "report"):
        m = json.loads((root / "output" / f"{stage}.manifest.json").read_text())
        rows.append((stage, m["seconds"], m["summary"][:70]))
    rows.append(("mocap run (process)", total, "start-up and hashing included"))
    return rows


def synthetic_session(root: Path, minutes: float) -> None:
    """A session whose 2D keypoints and calibration are there (videos: 1-frame placeholders at 60 fps)."""
    import cv2
    import numpy as np

    import calibration
    from mocap.synthetic import synthetic_session as scene

    n = int(round(minutes * 60 * 60))
    group, kp2d, _ = scene(n, fps=60.0, n_cameras=4, noise_px=0.5, dropout=0.05, bystander=True, seed=1)
    for sub in ("videos", "calibration", "output"):
        (root / sub).mkdir(parents=True)
    for cam in group.cameras:
        w = cv2.VideoWriter(str(root / "videos" / f"{cam.name}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 60.0, (64, 48))
        w.write(np.zeros((48, 64, 3), np.uint8))
        w.release()
    calibration.save_calibration(group, root / "output" / "calibration.toml")
    kp2d.save(root / "output" / "pose2d.npz")
    (root / "session.toml").write_text('[export]\nformats = []\n[report]\nenabled = false\n')


def memory(workdir: Path, minutes: list[float]) -> list[tuple]:
    rows = []
    for m in minutes:
        root = workdir / f"synthetic_{m:g}min"
        # Made in a process of its own, so that the scene's arrays do not count in the stages' memory.
        subprocess.run([sys.executable, __file__, "--make-session", str(root), str(m)], check=True, env=_env())
        for stage in ("triangulate", "filter", "retarget"):
            out = subprocess.run([sys.executable, "-c", CHILD, str(root), stage], capture_output=True, text=True,
                                 env=_env())
            if out.returncode != 0:
                rows.append((m, stage, float("nan"), float("nan"), out.stderr.strip().splitlines()[-1][:80]))
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((m, stage, r["seconds"], r["peak_mb"], ""))
        shutil.rmtree(root, ignore_errors=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 5, 10])
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--make-session", nargs=2, metavar=("ROOT", "MINUTES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make_session:
        return synthetic_session(Path(args.make_session[0]), float(args.make_session[1]))
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as tmp:
        workdir = Path(tmp)
        if not args.no_demo:
            print("mocap run on the Pose2Sim demo (4 cameras x 100 frames, MediaPipe on CPU)")
            print(f"{'stage':<22} {'seconds':>8}  summary")
            for stage, seconds, summary in demo_stages(workdir):
                print(f"{stage:<22} {seconds:>8.2f}  {summary}")
            print()
        if not args.no_memory:
            print("peak resident memory, synthetic 4-camera 60 fps sessions (each stage in its own process)")
            print(f"{'minutes':>7} {'stage':<12} {'seconds':>8} {'peak MB':>8}  note")
            rows = memory(workdir, args.minutes)
            for m, stage, seconds, peak, note in rows:
                print(f"{m:>7g} {stage:<12} {seconds:>8.1f} {peak:>8.0f}  {note}")
            peaks = {m: max(r[3] for r in rows if r[0] == m) for m in args.minutes}
            if len(peaks) > 1:
                first, last = min(peaks), max(peaks)
                print(f"peak at {last:g} min: {peaks[last]:.0f} MB (target < 2048); growth {first:g} -> {last:g} min: "
                      f"{peaks[last] / peaks[first]:.2f}x (target < 1.5x)")


if __name__ == "__main__":
    main()

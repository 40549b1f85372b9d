"""Triangulation speed and accuracy: mocap against aniposelib on the same synthetic data.

4 cameras with different intrinsics and lens distortion, one person, 133 keypoints, 1,000 frames,
0.5 px noise and 5 % dropped observations, in two scenarios: noise independent of the detector's
confidence, and noise that grows as confidence falls (as with real detectors). Both sides get the
same raw (distorted) pixels and do their own undistortion. aniposelib 0.8.0's
``CameraGroup.triangulate`` (JAX-vectorized, compiled before timing) is the peer of our batched
DLT; the full-stage row adds our subject selection, view counts and reprojection errors.

    python bench/triangulate.py [--frames 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mocap.synthetic import camera_ring, human_motion, observe  # noqa: E402
from mocap.triangulate import triangulate, triangulate_dlt  # noqa: E402


def best_time(fn, repeat: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def run_scenario(group, truth, noise_follows_score: bool, repeat: int, anipose):
    """Rows (name, frames/s, points/s, mean mm, median mm, found, speed ratio) for one scenario."""
    kp2d = observe(group, truth, noise_px=0.5, dropout=0.05, noise_follows_score=noise_follows_score, seed=3)
    n_frames = truth.shape[0]
    xy = kp2d.xy[:, :, 0].reshape(len(group), -1, 2)
    score = kp2d.score[:, :, 0].reshape(len(group), -1)
    focal = np.array([c.matrix[0, 0] for c in group.cameras])

    def ours_dlt():
        return triangulate_dlt(group.extrinsic_matrices(), group.undistort_points(xy), score, focal=focal)

    t_anipose, x_anipose = best_time(lambda: anipose.triangulate(xy), repeat)
    t_ours, x_ours = best_time(ours_dlt, repeat)
    t_stage, kp3d = best_time(lambda: triangulate(group, kp2d, min_score=0.0), repeat)
    flat_truth = truth[:, 0].reshape(-1, 3)
    rows = []
    for name, seconds, X in (("aniposelib CameraGroup.triangulate", t_anipose, x_anipose),
                             ("mocap triangulate_dlt", t_ours, x_ours),
                             ("mocap triangulate (full stage)", t_stage, kp3d.xyz[:, 0].reshape(-1, 3))):
        err = np.linalg.norm(np.asarray(X).reshape(-1, 3) - flat_truth, axis=-1) * 1000
        rows.append((name, n_frames / seconds, len(flat_truth) / seconds, np.nanmean(err), np.nanmedian(err),
                     np.isfinite(err).mean(), t_anipose / seconds))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    from aniposelib.cameras import Camera as ACamera, CameraGroup as AGroup

    group = camera_ring(4, seed=3)
    truth = human_motion(args.frames, 30.0, seed=3)[:, None]
    anipose = AGroup([ACamera(name=c.name, size=c.size, matrix=c.matrix, dist=c.dist, rvec=c.rvec, tvec=c.tvec)
                      for c in group.cameras])
    anipose.triangulate(group.project(truth[:5, 0]).reshape(len(group), -1, 2))  # compile JAX before timing

    print(f"\n{args.frames} frames x 133 keypoints x 4 cameras ({args.frames * 133} points), 5 % dropout, "
          f"best of {args.repeat}; both sides undistort the same raw pixels")
    header = (f"{'method':38s} {'frames/s':>10s} {'points/s':>12s} {'mean mm':>8s} {'median mm':>9s} "
              f"{'found':>6s} {'x aniposelib':>12s}")
    for follows, title in ((False, "noise 0.5 px for every keypoint (confidence says nothing)"),
                           (True, "noise 0.5 px x 0.75 / confidence (as real detectors: confident = accurate)")):
        print(f"\n{title}\n{header}\n{'-' * len(header)}")
        for name, fps, pps, mean, median, found, ratio in run_scenario(group, truth, follows, args.repeat, anipose):
            print(f"{name:38s} {fps:10.0f} {pps:12.0f} {mean:8.2f} {median:9.2f} {found:6.1%} {ratio:11.1f}x")


if __name__ == "__main__":
    main()

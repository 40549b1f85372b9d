"""Triangulation speed and accuracy: mocap against aniposelib on the same synthetic data.

4 cameras with different intrinsics and lens distortion, one person, 133 keypoints, 1,000 frames,
0.5 px noise and 5 % dropped observations. Both sides get the same raw (distorted) pixels and do
their own undistortion. aniposelib's ``CameraGroup.triangulate`` (JAX, compiled before timing) is
the peer of our batched DLT; the full stage row adds our subject selection and reprojection stats.

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    from aniposelib.cameras import Camera as ACamera, CameraGroup as AGroup

    group = camera_ring(4, seed=3)
    truth = human_motion(args.frames, 30.0, seed=3)[:, None]
    kp2d = observe(group, truth, noise_px=0.5, dropout=0.05, seed=3)
    n_points = truth.shape[0] * truth.shape[2]
    xy = kp2d.xy[:, :, 0].reshape(4, -1, 2)
    score = kp2d.score[:, :, 0].reshape(4, -1)

    anipose = AGroup([ACamera(name=c.name, size=c.size, matrix=c.matrix, dist=c.dist, rvec=c.rvec, tvec=c.tvec)
                      for c in group.cameras])
    anipose.triangulate(xy[:, :500])  # compile JAX before timing

    def ours_dlt():
        uv = group.undistort_points(xy)
        focal = np.array([c.matrix[0, 0] for c in group.cameras])
        return triangulate_dlt(group.extrinsic_matrices(), uv, score, focal=focal)

    rows = []
    t_anipose, x_anipose = best_time(lambda: anipose.triangulate(xy), args.repeat)
    t_ours, x_ours = best_time(ours_dlt, args.repeat)
    t_stage, kp3d = best_time(lambda: triangulate(group, kp2d, min_score=0.0), args.repeat)
    flat_truth = truth[:, 0].reshape(-1, 3)
    for name, seconds, X in (("aniposelib CameraGroup.triangulate", t_anipose, x_anipose),
                             ("mocap triangulate_dlt", t_ours, x_ours),
                             ("mocap triangulate (full stage)", t_stage, kp3d.xyz[:, 0].reshape(-1, 3))):
        err = np.linalg.norm(np.asarray(X).reshape(-1, 3) - flat_truth, axis=-1) * 1000
        rows.append((name, args.frames / seconds, n_points / seconds, np.nanmean(err), np.nanmedian(err),
                     np.isfinite(err).mean(), t_anipose / seconds))

    print(f"\n{args.frames} frames x 133 keypoints x 4 cameras ({n_points} points), 0.5 px noise, 5 % dropout; "
          f"best of {args.repeat}")
    header = f"{'method':38s} {'frames/s':>10s} {'points/s':>12s} {'mean mm':>8s} {'median mm':>9s} {'found':>6s} {'x aniposelib':>12s}"
    print(header)
    print("-" * len(header))
    for name, fps, pps, mean, median, found, ratio in rows:
        print(f"{name:38s} {fps:10.0f} {pps:12.0f} {mean:8.2f} {median:9.2f} {found:6.1%} {ratio:11.1f}x")


if __name__ == "__main__":
    main()

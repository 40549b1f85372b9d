"""Triangulation speed and accuracy: mocap against aniposelib on the same synthetic data.

4 cameras with different intrinsics and lens distortion, one person, 133 keypoints, 1,000 frames,
0.5 px noise and 5 % dropped observations, in two scenarios: noise independent of the detector's
confidence, and noise that grows as confidence falls (as with real detectors). Both sides get the
same raw (distorted) pixels and do their own undistortion. aniposelib 0.8.0's
``CameraGroup.triangulate`` (JAX-vectorized, compiled before timing) is the peer of our batched
DLT; the full-stage row adds our subject selection, view counts and reprojection errors.

Robustness: the same rig with 20 % of the observations thrown 60-300 px off (confidently, as
wrong detections are). aniposelib's ``triangulate_ransac`` (a Python loop over points, trying
camera subsets) against our vectorized ``triangulate_robust`` (consensus over camera pairs, and
drop-worst-view), on ``--ransac-frames`` frames since the peer is slow.

Association: time per frame of ``associate`` (cross-view grouping) and of the whole multi-person
stage (association, robust triangulation of 133 keypoints, tracking) for 1, 3 and 5 people seen by
4 and 6 cameras, with 20 % outlier keypoints and one ghost detection per view.

Crowds: time per frame and peak memory (tracemalloc) of subject selection (association keeping the
best-supported person) with 5, 10 and 20 people 1.5 m apart, all in all 4 views: the most
cross-view hypotheses there can be (C(C-1)/2 · P², 2 400 per frame at P = 20).

    python bench/triangulate.py [--frames 1000] [--repeat 3] [--ransac-frames 100] [--skip-plain]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from mocap.data import Keypoints2D  # noqa: E402
from mocap.synthetic import camera_ring, human_motion, observe  # noqa: E402
from mocap.triangulate import (  # noqa: E402
    associate, image_bounds, select_subject, triangulate, triangulate_dlt, triangulate_robust,
)


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


def with_outliers(xy, score, rate, rng):
    """Throw a fraction ``rate`` of the seen observations 60-300 px off in a random direction."""
    out = (rng.random(score.shape) < rate) & (score > 0)
    angle = rng.uniform(0, 2 * np.pi, score.shape)
    radius = rng.uniform(60, 300, score.shape)
    return xy + np.where(out[..., None], np.stack([np.cos(angle), np.sin(angle)], -1) * radius[..., None], 0.0)


def outlier_table(group, truth, n_frames, repeat, anipose):
    """Rows (name, points/s, mean, median, p95 mm, found, speed vs ransac) under 20 % outliers."""
    truth = truth[:n_frames]
    kp2d = observe(group, truth, noise_px=0.5, dropout=0.05, seed=5)
    rng = np.random.default_rng(5)
    xy = with_outliers(kp2d.xy[:, :, 0], kp2d.score[:, :, 0], 0.2, rng).reshape(len(group), -1, 2)
    score = np.where(np.isfinite(xy).all(-1), kp2d.score[:, :, 0].reshape(len(group), -1), 0.0)
    focal = np.array([c.matrix[0, 0] for c in group.cameras])
    extr = group.extrinsic_matrices()
    flat_truth = truth[:, 0].reshape(-1, 3)

    def robust(method):
        return triangulate_robust(extr, group.undistort_points(xy), score, focal=focal, method=method)[0]

    t_ransac, ransac = best_time(lambda: anipose.triangulate_ransac(xy)[0], 1)
    rows = []
    for name, fn, reps in (("aniposelib triangulate_ransac", None, 1),
                           ("aniposelib triangulate (no outlier removal)", lambda: anipose.triangulate(xy), repeat),
                           ("mocap triangulate_dlt (no outlier removal)",
                            lambda: triangulate_dlt(extr, group.undistort_points(xy), score, focal=focal), repeat),
                           ("mocap triangulate_robust consensus", lambda: robust("consensus"), repeat),
                           ("mocap triangulate_robust drop_worst", lambda: robust("drop_worst"), repeat)):
        seconds, X = (t_ransac, ransac) if fn is None else best_time(fn, reps)
        err = np.linalg.norm(np.asarray(X).reshape(-1, 3) - flat_truth, axis=-1) * 1000
        rows.append((name, len(flat_truth) / seconds, np.nanmean(err), np.nanmedian(err),
                     np.nanpercentile(err, 95), np.isfinite(err).mean(), t_ransac / seconds))
    return rows


def association_table(n_frames, repeat):
    """Rows (cameras, people, associate ms/frame, whole stage ms/frame, people found per frame)."""
    rows = []
    centres = [(0.0, 0.0), (1.8, 0.4), (-1.6, 1.2), (0.4, -1.9), (-1.2, -1.4)]
    for n_cams in (4, 6):
        group = camera_ring(n_cams, radius=6.0, seed=7)
        focal = np.array([c.matrix[0, 0] for c in group.cameras])
        for n_people in (1, 3, 5):
            truth = np.stack([human_motion(n_frames, 30.0, seed=10 + i, centre=centres[i]) for i in range(n_people)], 1)
            kp = observe(group, truth, noise_px=0.5, dropout=0.05, seed=8)
            rng = np.random.default_rng(8)
            xy = with_outliers(kp.xy, kp.score, 0.2, rng)
            # One ghost per view: a person's detection moved to a random place of the image.
            shift = rng.uniform(-500, 500, (n_cams, n_frames, 1, 1, 2))
            xy = np.concatenate([xy, xy[:, :, :1] + shift], axis=2)
            score = np.concatenate([kp.score, kp.score[:, :, :1]], axis=2)
            order = np.argsort(rng.random(score.shape[:3]), axis=-1)
            xy = np.take_along_axis(xy, order[..., None, None], 2)
            score = np.take_along_axis(score, order[..., None], 2)
            score = np.where(np.isfinite(xy).all(-1), score, 0.0)
            uv = group.undistort_points(xy)
            bounds = image_bounds(group)
            t_assoc, groups = best_time(lambda: associate(group.extrinsic_matrices(), uv, score, focal,
                                                          bounds=bounds), repeat)
            k2 = Keypoints2D(xy=xy, score=score, camera_names=kp.camera_names, image_sizes=kp.image_sizes, fps=30.0)
            t_stage, kp3d = best_time(lambda: triangulate(group, k2, persons=None, min_score=0.0), 1)
            found = (groups >= 0).any(-1).sum(1).mean()
            rows.append((n_cams, n_people, 1000 * t_assoc / n_frames, 1000 * t_stage / n_frames, found, kp3d.n_persons))
    return rows


def crowd_table(n_frames, repeat):
    """Rows (people, subject selection ms/frame, peak MB) for crowds in 4 views."""
    rows = []
    group = camera_ring(4, radius=7.0, seed=1)
    for n_people in (5, 10, 20):
        rng = np.random.default_rng(0)
        grid = [(1.5 * (i - 2) + rng.uniform(-0.2, 0.2), 1.5 * (j - 1.5) + rng.uniform(-0.2, 0.2))
                for i in range(5) for j in range(4)][:n_people]
        truth = np.stack([human_motion(n_frames, seed=i, centre=c) for i, c in enumerate(grid)], 1)
        kp = observe(group, truth, noise_px=0.5, dropout=0.05, seed=0)
        uv = group.undistort_points(kp.xy)
        seconds, _ = best_time(lambda: select_subject(group, uv, kp.score), repeat)
        tracemalloc.start()
        select_subject(group, uv, kp.score)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        rows.append((n_people, 1000 * seconds / n_frames, peak))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ransac-frames", type=int, default=100, help="frames for the (slow) RANSAC comparison")
    parser.add_argument("--association-frames", type=int, default=200)
    parser.add_argument("--crowd-frames", type=int, default=26)
    parser.add_argument("--skip-plain", action="store_true", help="only the outlier and association tables")
    args = parser.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    from aniposelib.cameras import Camera as ACamera, CameraGroup as AGroup

    group = camera_ring(4, seed=3)
    truth = human_motion(args.frames, 30.0, seed=3)[:, None]
    anipose = AGroup([ACamera(name=c.name, size=c.size, matrix=c.matrix, dist=c.dist, rvec=c.rvec, tvec=c.tvec)
                      for c in group.cameras])
    anipose.triangulate(group.project(truth[:5, 0]).reshape(len(group), -1, 2))  # compile JAX before timing

    if not args.skip_plain:
        plain_tables(args, group, truth, anipose)

    print(f"\n20 % outlier observations (60-300 px off), 0.5 px noise, 5 % dropout: {args.ransac_frames} frames x "
          f"133 keypoints x 4 cameras ({args.ransac_frames * 133} points); error in mm")
    header = (f"{'method':44s} {'points/s':>10s} {'mean':>7s} {'median':>7s} {'p95':>7s} {'found':>6s} "
              f"{'x RANSAC speed':>14s}")
    print(f"{header}\n{'-' * len(header)}")
    for name, pps, mean, median, p95, found, ratio in outlier_table(group, truth, args.ransac_frames, args.repeat,
                                                                     anipose):
        print(f"{name:44s} {pps:10.0f} {mean:7.2f} {median:7.2f} {p95:7.2f} {found:6.1%} {ratio:13.1f}x")

    print(f"\nmulti-person association, {args.association_frames} frames, 20 % outlier keypoints, one ghost per "
          f"view, detections shuffled; ms per frame")
    header = (f"{'cameras':>7s} {'people':>6s} {'associate ms':>12s} {'whole stage ms':>14s} {'groups/frame':>12s} "
              f"{'tracks':>6s}")
    print(f"{header}\n{'-' * len(header)}")
    for n_cams, n_people, t_assoc, t_stage, found, tracks in association_table(args.association_frames, args.repeat):
        print(f"{n_cams:7d} {n_people:6d} {t_assoc:12.2f} {t_stage:14.2f} {found:12.2f} {tracks:6d}")

    print(f"\ncrowds: subject selection, 4 cameras, everyone in every view, {args.crowd_frames} frames")
    header = f"{'people':>6s} {'ms per frame':>12s} {'peak MB':>8s}"
    print(f"{header}\n{'-' * len(header)}")
    for n_people, ms, peak in crowd_table(args.crowd_frames, args.repeat):
        print(f"{n_people:6d} {ms:12.2f} {peak:8.0f}")


def plain_tables(args, group, truth, anipose) -> None:
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

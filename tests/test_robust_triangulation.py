"""Outlier views left out per keypoint, adaptive thresholds, left/right swaps: against synthetic truth."""

import numpy as np
import pytest

from mocap.skeleton import INDEX
from mocap.synthetic import camera_ring, human_motion, observe
from mocap.triangulate import detect_swaps, triangulate_dlt, triangulate_robust
from mocap.triangulate.robust import SWAP_GROUPS, unswap


def _rig_and_views(n_cams, *, outlier_rate=0.2, n_frames=120, seed=3):
    """One person (T, 133) seen by n_cams cameras with 0.5 px noise and a fraction of keypoints
    thrown 60-300 px off. Returns group, truth, raw pixels, undistorted uv, scores, outlier mask."""
    group = camera_ring(n_cams, radius=6.0, seed=seed)
    truth = human_motion(n_frames, seed=seed)
    kp = observe(group, truth[:, None], noise_px=0.5, dropout=0.05, seed=seed)
    xy, score = kp.xy[:, :, 0].copy(), kp.score[:, :, 0]
    rng = np.random.default_rng(seed)
    out = (rng.random(score.shape) < outlier_rate) & (score > 0)
    angle = rng.uniform(0, 2 * np.pi, score.shape)
    r = rng.uniform(60, 300, score.shape)
    xy += np.where(out[..., None], np.stack([np.cos(angle), np.sin(angle)], -1) * r[..., None], 0.0)
    return group, truth, xy, group.undistort_points(xy), score, out


def _focal(group):
    return np.array([c.matrix[0, 0] for c in group.cameras])


@pytest.mark.parametrize("n_cams", [4, 6])
def test_consensus_removes_outlier_views_where_the_good_views_can_outvote_them(n_cams):
    group, truth, _, uv, score, out = _rig_and_views(n_cams)
    extr, focal = group.extrinsic_matrices(), _focal(group)
    X, used = triangulate_robust(extr, uv, score, focal=focal)
    err = np.linalg.norm(X - truth, axis=-1) * 1000
    plain = np.linalg.norm(triangulate_dlt(extr, uv, score, focal=focal) - truth, axis=-1) * 1000
    n_good = ((score > 0) & ~out).sum(0)
    n_bad = (out & (score > 0)).sum(0)
    outvoted = (n_good >= 3) & (n_good > n_bad)  # at least three good views, more good than bad
    print(f"\n{n_cams} cameras, 20 % outliers: robust median {np.nanmedian(err):.2f} mm, "
          f"mean where outvoted {np.nanmean(err[outvoted]):.2f} mm; plain DLT mean {np.nanmean(plain):.0f} mm")
    assert np.nanmedian(err) < 3.0
    assert np.nanmean(plain) > 50.0  # the outliers are real trouble for least squares
    assert np.nanpercentile(err[outvoted], 99) < 15.0
    assert np.isfinite(err[outvoted]).mean() > 0.999
    # Where they can be outvoted, the outlier views are the ones left out.
    assert (used & out)[:, outvoted].sum() < 0.01 * out[:, outvoted].sum()
    assert (~used & (score > 0) & ~out)[:, outvoted].mean() < 0.01


def test_drop_worst_handles_one_outlier_among_four_views():
    group, truth, _, uv, score, out = _rig_and_views(4, outlier_rate=0.1)
    X, used = triangulate_robust(group.extrinsic_matrices(), uv, score, focal=_focal(group), method="drop_worst")
    err = np.linalg.norm(X - truth, axis=-1) * 1000
    one = ((score > 0).sum(0) == 4) & (out.sum(0) == 1)
    assert np.nanmedian(err[one]) < 3.0
    assert np.nanpercentile(err[one], 90) < 10.0


def test_a_poorly_calibrated_camera_is_kept_through_its_adaptive_threshold():
    # Camera 2's pixels are 25 px off everywhere (a calibration that fits it poorly, as with the
    # Pose2Sim demo's cam03); a fixed 15 px threshold would throw it out, the adaptive one keeps it.
    group, truth, xy, _, score, _ = _rig_and_views(4, outlier_rate=0.0)
    xy = xy.copy()
    xy[2] += [18.0, 17.0]
    uv = group.undistort_points(xy)
    extr, focal = group.extrinsic_matrices(), _focal(group)
    _, used_fixed = triangulate_robust(extr, uv, score, focal=focal, adaptive=None)
    X, used = triangulate_robust(extr, uv, score, focal=focal)
    seen2 = score[2] > 0
    assert used_fixed[2][seen2].mean() < 0.5
    assert used[2][seen2].mean() > 0.97
    # Then the solution is the all-view solution, as with a trusted calibration.
    plain = triangulate_dlt(extr, uv, score, focal=focal)
    assert np.nanmedian(np.linalg.norm(X - plain, axis=-1)) < 1e-6


def test_two_views_that_disagree_are_kept_or_dropped_as_asked():
    group, truth, _, uv, score, _ = _rig_and_views(4, outlier_rate=0.0, n_frames=20)
    uv, score = uv.copy(), score.copy()
    score[2:] = 0.0  # two views only
    uv[1, :, :5] += 0.05  # far off in camera 1 for five keypoints
    extr, focal = group.extrinsic_matrices(), _focal(group)
    kept, _ = triangulate_robust(extr, uv, score, focal=focal)
    dropped, used = triangulate_robust(extr, uv, score, focal=focal, keep_inconsistent_pairs=False)
    both = (score[:2] > 0).all(0)
    assert np.isfinite(kept[:, :5][both[:, :5]]).all()
    assert np.isnan(dropped[:, :5]).all() and not used[:, :, :5].any()
    assert np.nanmedian(np.linalg.norm(dropped[:, 5:] - truth[:, 5:], axis=-1)) < 0.01


def test_a_view_with_left_and_right_legs_exchanged_is_found_and_put_back():
    group, truth, _, uv, score, _ = _rig_and_views(4, outlier_rate=0.0, n_frames=60)
    left, right = SWAP_GROUPS["leg"]
    uv = uv.copy()
    uv[1, :30, left], uv[1, :30, right] = uv[1, :30, right].copy(), uv[1, :30, left].copy()
    extr, focal = group.extrinsic_matrices(), _focal(group)
    X, used = triangulate_robust(extr, uv, score, focal=focal)
    swaps = detect_swaps(extr, X, uv, focal, used=used)
    # Found where the legs are apart in camera 1's image; never elsewhere, never for arms or head.
    apart = np.linalg.norm(uv[1, :30, INDEX["left_knee"]] - uv[1, :30, INDEX["right_knee"]], axis=-1) * focal[1] > 40
    assert swaps["leg"][1, :30][apart].mean() > 0.9
    assert not swaps["leg"][:, 30:].any() and not swaps["leg"][[0, 2, 3]].any()
    assert not swaps["arm"].any() and not swaps["head"].any()
    fixed = unswap(uv, swaps)
    X2, used2 = triangulate_robust(extr, fixed, score, focal=focal)
    legs = np.concatenate([left, right])
    assert used2[1, :30][:, legs][apart].mean() > used[1, :30][:, legs][apart].mean() + 0.5
    assert np.nanmedian(np.linalg.norm(X2[:, legs] - truth[:, legs], axis=-1)) < 0.005

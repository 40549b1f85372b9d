"""Triangulation against synthetic scenes whose truth is known."""

import warnings

import numpy as np
import pytest

from mocap.data import Keypoints2D
from mocap.errors import SettingsError
from mocap.skeleton import BODY, FACE, INDEX, LEFT_HAND, RIGHT_HAND
from mocap.synthetic import camera_ring, human_motion, look_at, observe, synthetic_session
from mocap.triangulate import select_subject, triangulate, triangulate_dlt


def _pinhole_rig(n=4, radius=3.0):
    """Extrinsics (n, 3, 4) of ideal cameras on a ring looking at the origin."""
    mats = []
    for i in range(n):
        pos = np.array([radius * np.cos(2 * np.pi * i / n), radius * np.sin(2 * np.pi * i / n), 1.5])
        R = look_at(pos, (0, 0, 0.5))
        mats.append(np.hstack([R, (-R @ pos)[:, None]]))
    return np.array(mats)


def _normalized(extrinsics, X):
    cam = np.einsum("cij,...j->c...i", extrinsics[:, :, :3], X) + extrinsics[:, None, :, 3].reshape(
        (len(extrinsics),) + (1,) * (X.ndim - 1) + (3,))
    return cam[..., :2] / cam[..., 2:]


def test_dlt_is_exact_on_noise_free_views_with_any_leading_shape():
    rng = np.random.default_rng(0)
    extr = _pinhole_rig()
    X = rng.uniform(-1, 1, (7, 5, 3)) + [0, 0, 1]
    uv = _normalized(extr, X)
    out = triangulate_dlt(extr, uv, rng.uniform(0.2, 1.0, uv.shape[:-1]))
    assert out.shape == X.shape
    np.testing.assert_allclose(out, X, atol=1e-9)


def test_dlt_ignores_views_with_zero_weight_or_nan_and_needs_two_views():
    rng = np.random.default_rng(1)
    extr = _pinhole_rig()
    X = rng.uniform(-1, 1, (50, 3))
    uv = _normalized(extr, X)
    uv[0, :10] += 0.3  # a grossly wrong view...
    w = np.ones(uv.shape[:-1])
    w[0, :10] = 0.0  # ...that carries no weight
    uv[1, 10:20] = np.nan  # a missing view
    w[1:, 20:25] = 0.0  # only one view left: cannot triangulate
    out = triangulate_dlt(extr, uv, w)
    np.testing.assert_allclose(out[:20], X[:20], atol=1e-9)
    assert np.isnan(out[20:25]).all()
    np.testing.assert_allclose(out[25:], X[25:], atol=1e-9)


def test_depth_reweighting_beats_plain_dlt_when_cameras_are_at_different_distances():
    rng = np.random.default_rng(2)
    extr = _pinhole_rig(4)
    extr[0, :, 3] *= 4.0  # one camera four times farther away than the others
    X = rng.uniform(-0.5, 0.5, (4000, 3)) + [0, 0, 1]
    uv = _normalized(extr, X) + rng.normal(0, 0.5 / 1500, (4, 4000, 2))  # 0.5 px at f = 1500
    w = np.ones(uv.shape[:-1])
    plain = np.linalg.norm(triangulate_dlt(extr, uv, w, refine=0) - X, axis=-1).mean()
    refined = np.linalg.norm(triangulate_dlt(extr, uv, w, refine=1) - X, axis=-1).mean()
    assert refined < 0.9 * plain


@pytest.fixture(scope="module")
def session():
    return synthetic_session(150, fps=30.0, n_cameras=4, noise_px=0.5, dropout=0.05, seed=4)


def test_synthetic_error_below_2mm_at_half_pixel_noise_with_4_cameras(session):
    group, kp2d, truth = session
    kp3d = triangulate(group, kp2d, min_score=0.0)
    err = np.linalg.norm(kp3d.xyz - truth, axis=-1) * 1000
    assert kp3d.xyz.shape == (150, 1, 133, 3)
    assert np.isfinite(kp3d.xyz).mean() > 0.99
    assert np.nanmean(err[..., BODY]) < 2.0, np.nanmean(err[..., BODY])
    assert np.nanmean(err) < 2.0, np.nanmean(err)
    # The reported reprojection error is the pixel noise the views were given (about 0.5 px).
    assert 0.2 < np.nanmedian(kp3d.reproj_error) < 1.0
    assert set(np.unique(kp3d.n_views[np.isfinite(kp3d.xyz[..., 0])])) <= {2, 3, 4}


def test_missing_views_and_nan_inputs_give_nan_not_garbage(session):
    group, kp2d, truth = session
    xy, score = kp2d.xy.copy(), kp2d.score.copy()
    xy[1:, :, :, LEFT_HAND] = np.nan  # left hand seen by camera 0 only
    score[1:, :, :, LEFT_HAND] = 0.0
    xy[2:, :, :, RIGHT_HAND] = np.nan  # right hand seen by cameras 0 and 1 only
    xy[:, 10:20] = np.nan  # nobody seen for ten frames
    score[:, 30:40, :, FACE] = 0.0  # face with zero confidence everywhere
    kp = Keypoints2D(xy=xy, score=score, camera_names=kp2d.camera_names, image_sizes=kp2d.image_sizes, fps=30)
    kp3d = triangulate(group, kp)
    assert np.isnan(kp3d.xyz[:, :, LEFT_HAND]).all()
    assert (kp3d.n_views[:, :, LEFT_HAND] == 0).all()
    assert np.isnan(kp3d.xyz[10:20]).all() and (kp3d.score[10:20] == 0).all()
    assert np.isnan(kp3d.xyz[30:40, :, FACE]).all()
    right = np.isfinite(kp3d.xyz[:, 0, RIGHT_HAND, 0])
    assert right.mean() > 0.8 and (kp3d.n_views[:, 0, RIGHT_HAND][right] == 2).all()
    err = np.linalg.norm(kp3d.xyz - truth, axis=-1) * 1000
    assert np.nanmedian(err[:, 0, RIGHT_HAND]) < 3.0  # two views still triangulate well


def test_bystander_seen_by_some_views_never_enters_the_subject():
    group, kp2d, truth = synthetic_session(120, n_cameras=4, noise_px=0.5, dropout=0.05, bystander=True, seed=5)
    kp3d = triangulate(group, kp2d)
    err = np.linalg.norm(kp3d.xyz - truth, axis=-1) * 1000
    assert np.nanmax(err[..., BODY]) < 15.0, np.nanmax(err[..., BODY])
    assert np.nanmean(err) < 2.5


def test_subject_selection_picks_the_subject_in_every_view_where_it_is():
    group = camera_ring(5, seed=6)
    subject = human_motion(60, seed=6)
    other = human_motion(60, seed=7, centre=(1.5, -1.5))
    kp = observe(group, np.stack([other, subject], 1), noise_px=1.0, dropout=0.0, seed=6)
    xy, score = kp.xy.copy(), kp.score.copy()
    xy[3:, :, 0], score[3:, :, 0] = np.nan, 0.0  # other seen by 3 of 5 cameras
    xy[0, :30, 1], score[0, :30, 1] = np.nan, 0.0  # subject not detected by camera 0 for 30 frames
    sel = select_subject(group, group.undistort_points(xy), score)
    assert (sel[:30, 0] == -1).all()  # the bystander is not taken as a stand-in
    assert (sel[30:, 0] == 1).all() and (sel[:, 1:] == 1).all()


def test_settings_that_make_no_sense_are_refused(session):
    group, kp2d, _ = session
    with pytest.raises(SettingsError, match="min_views"):
        triangulate(group, kp2d, min_views=1)
    with pytest.raises(SettingsError, match="min_score"):
        triangulate(group, kp2d, min_score=2.0)


def test_keypoints_from_resampled_videos_are_rescaled_to_the_calibration(session):
    group, kp2d, truth = session
    # Camera 0's video was squeezed horizontally to 95 % of the calibrated width.
    w, h = group[0].size
    small = (round(w * 0.95), h)
    xy = kp2d.xy.copy()
    xy[0, ..., 0] = (xy[0, ..., 0] + 0.5) * small[0] / w - 0.5
    sizes = kp2d.image_sizes.copy()
    sizes[0] = small
    kp = Keypoints2D(xy=xy, score=kp2d.score, camera_names=kp2d.camera_names, image_sizes=sizes, fps=30)
    with pytest.warns(UserWarning, match="rescaling"):
        kp3d = triangulate(group, kp, min_score=0.0)
    err = np.linalg.norm(kp3d.xyz - truth, axis=-1) * 1000
    assert np.nanmean(err) < 2.0
    reference = triangulate(group, kp2d, min_score=0.0)
    np.testing.assert_array_equal(kp3d.n_views, reference.n_views)  # camera 0 still used everywhere


def test_the_result_records_frames_cameras_and_which_detection_became_the_subject():
    from dataclasses import replace

    from mocap.skeleton import SWAP_GROUP_NAMES, SWAP_TESTED

    group, kp2d, truth = synthetic_session(60, n_cameras=4, noise_px=0.5, dropout=0.05, bystander=True, seed=8)
    # The subject's slot in each view (detections are shuffled): the one on its projection.
    proj = group.project(truth[:, 0, :17])  # (C, T, 17, 2)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the bystander's empty slots
        dist = np.nanmedian(np.linalg.norm(kp2d.xy[:, :, :, :17] - proj[:, :, None], axis=-1), axis=-1)
    slot = np.argmin(np.nan_to_num(dist, nan=np.inf), axis=-1)  # (C, T)
    xy = kp2d.xy.copy()
    left, right = (np.array(s) for s in SWAP_TESTED["leg"])
    c, t = 1, np.arange(20)
    xy[c, t[:, None], slot[c, t][:, None], left], xy[c, t[:, None], slot[c, t][:, None], right] = (
        kp2d.xy[c, t[:, None], slot[c, t][:, None], right], kp2d.xy[c, t[:, None], slot[c, t][:, None], left])
    kp2d = replace(kp2d, xy=xy, frame_index=np.arange(100, 220, 2))
    kp3d = triangulate(group, kp2d)
    assert np.array_equal(kp3d.frame_index, kp2d.frame_index) and kp3d.camera_names == kp2d.camera_names
    assert kp3d.detections.shape == (4, 60, 1) and kp3d.view_swaps.shape == (4, 60, 1, len(SWAP_GROUP_NAMES))
    assert (kp3d.detections[..., 0] == slot).mean() > 0.98
    leg = SWAP_GROUP_NAMES.index("leg")
    # Where the legs are apart in camera 1's image, the exchange is found and recorded there only.
    apart = np.linalg.norm(proj[1, :20, INDEX["left_knee"]] - proj[1, :20, INDEX["right_knee"]], axis=-1) > 40
    assert kp3d.view_swaps[1, :20, 0, leg][apart].mean() > 0.9
    assert not kp3d.view_swaps[1, 20:].any() and not kp3d.view_swaps[[0, 2, 3]].any()
    assert not kp3d.view_swaps[..., [g for g in range(len(SWAP_GROUP_NAMES)) if g != leg]].any()
    err = np.linalg.norm(kp3d.xyz - truth, axis=-1) * 1000
    assert np.nanmedian(err[:20, 0, BODY]) < 3.0  # the legs were put back before triangulating

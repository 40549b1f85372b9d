"""Placement of one camera's root-relative 3D in the world, on synthetic scenes with known truth:
RTMW3D-style depth + 2D, and MediaPipe-style root-relative skeletons with realistic errors."""

import warnings

import numpy as np
import pytest

from lifting import TYPICAL_HEIGHT, gaussian_smooth, place, root_of, similarity, skeleton_from_depth, stature
from lifting.body import HAND_SHARE, hand_lengths
from mocap.data import SOURCE_LIFTED
from mocap.lift import LiftedViews, UncalibratedWarning, lift_camera
from mocap.synthetic import synthetic_session
from mocap.synthetic.monocular import monocular_views


@pytest.fixture(scope="module")
def scene():
    group, kp2d, truth = synthetic_session(150, seed=2)
    return group, kp2d, truth, float(np.median(stature(truth)))


def _depth_input(cam, truth, rng, depth_noise=0.0):
    xc = cam.to_camera(truth)
    uv = xc[..., :2] / xc[..., 2:]
    depth = xc[..., 2] - root_of(xc)[..., None, 2] + rng.normal(0, depth_noise, xc.shape[:-1]) * (depth_noise > 0)
    return uv, depth


def test_rtmw3d_depth_placed_where_the_truth_is(scene):
    group, _, truth, height = scene
    rng = np.random.default_rng(0)
    cam = group.cameras[0]
    uv, depth = _depth_input(cam, truth, rng)
    rel, _ = skeleton_from_depth(uv, depth, height)
    score = np.ones(uv.shape[:-1])
    exact = place(rel, uv, score, extrinsics=(cam.R, cam.tvec), height=height, smoothing=0, hand_scale=False)
    assert exact.height_source == "given" and exact.n_placed == truth.shape[0]
    np.testing.assert_allclose(exact.xyz, truth, atol=1e-6)
    # hands are brought to an adult's share of the height (the synthetic ones are 0.115 H long); the
    # confident points then go back onto their 2D rays, which keeps the scaled hands' depths only
    scaled = place(rel, uv, score, extrinsics=(cam.R, cam.tvec), height=height, smoothing=0, snap=False)
    np.testing.assert_allclose(hand_lengths(scaled.xyz[:, 0]), HAND_SHARE * height, rtol=3e-3)
    # 3 cm of depth noise per point and a wrong height: depth follows the 2D size, metres away
    uv, depth = _depth_input(cam, truth, rng, 0.03)
    rel, _ = skeleton_from_depth(uv, depth, TYPICAL_HEIGHT)
    typical = place(rel, uv, score, extrinsics=(cam.R, cam.tvec))
    err = np.linalg.norm(typical.xyz - truth, axis=-1)[..., :23]
    assert typical.height_source == "typical" and typical.height[0] == TYPICAL_HEIGHT
    assert np.median(err) < 0.05


def test_floor_puts_feet_down_and_measures_the_height(scene):
    group, kp2d, truth, height = scene
    lifted = monocular_views(group, truth, seed=4)
    for c, cam in enumerate(group.cameras):
        uv = cam.undistort_points(kp2d.xy[c])
        free = place(lifted[c], uv, kp2d.score[c], extrinsics=(cam.R, cam.tvec))
        # the synthetic body's foot points are its soles: no clearance above the floor
        floor = place(lifted[c], uv, kp2d.score[c], extrinsics=(cam.R, cam.tvec), floor_known=True, foot_clearance=0)
        assert floor.height_source == "floor" and abs(floor.height[0] - height) < 0.05
        lowest = np.nanmin(floor.xyz[..., 15:23, 2], axis=-1)
        assert np.median(np.abs(lowest)) < 0.04  # before the per-point ray step: exactly 0
        for result in (free, floor):
            err = np.linalg.norm(result.xyz - truth, axis=-1)[..., :23]
            assert np.median(err) < 0.11, (c, np.median(err))
            one = similarity(result.xyz[..., :23, :].reshape(1, -1, 3), truth[..., :23, :].reshape(1, -1, 3))
            aligned = np.linalg.norm(one.apply(result.xyz[..., :23, :].reshape(1, -1, 3))
                                     - truth[..., :23, :].reshape(1, -1, 3), axis=-1)
            assert np.median(aligned) < 0.1


def test_depth_smoothing_steadies_the_distance(scene):
    group, kp2d, truth, _ = scene
    cam = group.cameras[2]
    lifted = monocular_views(group, truth, seed=6, scale_range=0.0, correlation_frames=0.0)
    uv = cam.undistort_points(kp2d.xy[2])
    jitter = {}
    for s in (0.0, 0.25):
        out = place(lifted[2], uv, kp2d.score[2], extrinsics=(cam.R, cam.tvec), smoothing=s)
        dist = np.linalg.norm(out.translation[:, 0], axis=-1)
        truth_dist = np.linalg.norm(cam.to_camera(root_of(truth))[:, 0], axis=-1)
        jitter[s] = np.std(np.diff(dist - truth_dist))
    assert jitter[0.25] < 0.3 * jitter[0.0]
    x = np.array([1.0, np.nan, 3.0, 4.0, np.nan])
    np.testing.assert_array_equal(np.isnan(gaussian_smooth(x, 1.0)), np.isnan(x))


def test_too_small_and_unseen_people_are_nan_and_counted(scene):
    group, kp2d, truth, height = scene
    cam = group.cameras[1]
    uv = cam.undistort_points(kp2d.xy[1])
    score = kp2d.score[1].copy()
    rel = monocular_views(group, truth, seed=8)[1]
    score[:10, :, 5:] = 0.0  # frames 0-9: only the face is seen
    small = uv.copy()
    centre = np.nanmean(uv[10:20], axis=-2, keepdims=True)
    small[10:20] = centre + (uv[10:20] - centre) * 0.05  # frames 10-19: some 30 px tall
    out = place(rel, small, score, extrinsics=(cam.R, cam.tvec), focal=cam.matrix[0, 0])
    assert (out.n_unseen, out.n_too_small, out.n_placed) == (10, 10, truth.shape[0] - 20)
    assert np.isnan(out.xyz[:20]).all() and np.isfinite(out.xyz[20:, :, :23]).all()


def test_lift_camera_without_calibration_is_root_relative_with_a_warning(scene):
    group, kp2d, truth, _ = scene
    lifted = monocular_views(group, truth, seed=9)
    views = LiftedViews(kp2d, lifted, "skeleton", "simulated")
    with pytest.warns(UncalibratedWarning, match="root-relative .* camera's frame"):
        out = lift_camera(views, "cam03")
    kp = out.keypoints
    assert kp.world_frame == "unaligned" and kp.camera_names == ("cam03",)
    np.testing.assert_allclose(root_of(kp.xyz), 0.0, atol=1e-9)
    np.testing.assert_allclose(stature(kp.xyz), TYPICAL_HEIGHT)
    assert np.all(kp.source[np.isfinite(kp.xyz[..., 0])] == SOURCE_LIFTED) and np.all(np.isnan(kp.reproj_error))
    # calibrated: world frame kept, reprojection errors in that camera
    with warnings.catch_warnings():
        warnings.simplefilter("error", UncalibratedWarning)
        placed = lift_camera(views, "cam03", group["cam03"], world_frame="floor", foot_clearance=0)
    assert placed.keypoints.world_frame == "floor" and placed.placement.height_source == "floor"
    seen = kp2d.score[2] >= 0.3
    assert np.nanmedian(placed.keypoints.reproj_error[seen]) < 1.0  # confident points sit on their rays
    assert np.array_equal(placed.keypoints.detections[0, :, 0], np.zeros(truth.shape[0]))

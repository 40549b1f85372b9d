"""One lens model for every calibration step: bundle adjustment and calibration from people project
through the cameras' own distortion (8 coefficients, skew included) and give back, unchanged,
every coefficient they do not refine."""

import numpy as np
import pytest

from calibration import Camera, CameraGroup
from calibration.boards import CharucoBoard, Detection
from calibration.bundle import bundle_adjust
from calibration.distortion import distort
from calibration.people import calibrate_from_people
from calibration.rotation import rvec_to_matrix
from calibration.synthetic import board_poses
from mocap.synthetic import camera_ring, human_motion, observe

BOARD = CharucoBoard((7, 5), 0.1, 0.075, "DICT_4X4_50")
RATIONAL = np.array([-0.12, 0.04, 4e-4, -3e-4, 0.01, 0.03, -0.015, 0.006])  # k1 k2 p1 p2 k3 k4 k5 k6
SKEW = 2.5  # pixels: OpenCV drops it, our cameras apply it


def _rig():
    """Three cameras with three lens descriptions: rational (8, with skew), 5 and 4 coefficients."""
    ring = camera_ring(3, radius=1.6, height=1.3, target=(0, 0, 1.0), size=(640, 480), seed=4)
    dists = [RATIONAL, RATIONAL[:5], RATIONAL[:4]]
    cams = []
    for cam, dist in zip(ring, dists):
        K = cam.matrix.copy()
        K[0, 1] = SKEW if len(dist) == 8 else 0.0
        cams.append(cam.replace(matrix=K, dist=dist))
    return cams


@pytest.fixture(scope="module")
def board_scene():
    rig = _rig()
    poses = board_poses(np.array([c.position for c in rig]), BOARD, 24, spread=0.5, tilt_deg=30, seed=1)
    rng = np.random.default_rng(0)
    detections = {c.name: {} for c in rig}
    for i, (rvec, tvec) in enumerate(poses):
        world = BOARD.object_points @ rvec_to_matrix(rvec).T + tvec
        for cam in rig:
            uv = cam.project(world)
            inside = np.isfinite(uv).all(-1) & (uv >= 0).all(-1) & (uv < np.array(cam.size) - 1).all(-1)
            if inside.sum() >= 8:
                ids = np.flatnonzero(inside)
                detections[cam.name][f"{i:03d}"] = Detection(ids, uv[ids] + rng.normal(0, 0.02, (ids.size, 2)))
    board_world = {f"{i:03d}": (rvec_to_matrix(r), t) for i, (r, t) in enumerate(poses)}
    return rig, board_world, detections


def _moved(cam: Camera, rng, angle_deg=0.3, shift=0.01) -> Camera:
    turn = rvec_to_matrix(rng.normal(size=3) / np.sqrt(3) * np.radians(angle_deg))
    return cam.with_pose(turn @ cam.R, cam.tvec + rng.normal(0, shift, 3))


def test_distortion_takes_one_set_of_coefficients_per_point_and_either_model():
    rng = np.random.default_rng(1)
    xy = rng.uniform(-0.6, 0.6, (50, 2))
    fish = np.array([0.05, -0.02, 0.004, -0.001])
    rows = np.stack([RATIONAL, np.r_[fish, 0, 0, 0, 0]] * 25)
    is_fisheye = np.tile([False, True], 25)
    mixed = distort(xy, rows, is_fisheye)
    pinhole = Camera("a", (640, 480), np.eye(3), RATIONAL, np.zeros(3), np.zeros(3))
    fisheye = Camera("b", (640, 480), np.eye(3), fish, np.zeros(3), np.zeros(3), fisheye=True)
    np.testing.assert_allclose(mixed[~is_fisheye], pinhole.distort_points(xy[~is_fisheye]), rtol=0, atol=1e-15)
    np.testing.assert_allclose(mixed[is_fisheye], fisheye.distort_points(xy[is_fisheye]), rtol=0, atol=1e-15)


def test_bundle_adjustment_without_distortion_refinement_returns_the_coefficients_unchanged(board_scene):
    rig, board_world, detections = board_scene
    rng = np.random.default_rng(2)
    start = [rig[0]] + [_moved(c, rng) for c in rig[1:]]
    result = bundle_adjust(start, board_world, detections, BOARD.object_points, refine_distortion=False)
    for true, cam in zip(rig, result.cameras):
        assert len(cam.dist) == len(true.dist)
        np.testing.assert_array_equal(cam.dist, true.dist)
        assert cam.matrix[0, 1] == true.matrix[0, 1]
    # The fit is at the corners' noise: k4..k6 and the skew took part in the projection (left
    # out, they move this lens's image by up to 2.2 px and 1 px).
    print(f"bundle RMS {result.rms:.4f} px with the rational lens and skew held")
    assert result.rms < 0.05


def test_bundle_adjustment_refining_distortion_keeps_k4_to_k6_and_the_skew(board_scene):
    rig, board_world, detections = board_scene
    rng = np.random.default_rng(3)
    start = [rig[0]] + [_moved(c, rng) for c in rig[1:]]
    off = [c.replace(dist=c.dist + np.r_[0.05, -0.03, 0, 0, 0, 0, 0, 0][: len(c.dist)]) for c in start]
    result = bundle_adjust(off, board_world, detections, BOARD.object_points)
    grid = np.stack(np.meshgrid(np.linspace(-0.4, 0.4, 9), np.linspace(-0.3, 0.3, 7)), -1).reshape(-1, 2)
    for true, guess, cam in zip(rig, off, result.cameras):
        assert len(cam.dist) == len(true.dist)
        np.testing.assert_array_equal(cam.dist[5:], true.dist[5:])  # k4..k6 of the rational lens, held
        assert cam.matrix[0, 1] == true.matrix[0, 1]  # the skew, held
        # The refined lens images the board's field of view as the true one does (k1..k3 trade
        # off against each other, so the coefficients themselves need not come back exactly).
        before = np.abs(guess.distort_points(grid) - true.distort_points(grid)).max()
        after = np.abs(cam.distort_points(grid) - true.distort_points(grid)).max()
        print(f"{cam.name} ({len(cam.dist)} coefficients): lens error {before:.2f} px -> {after:.3f} px")
        assert before > 1.0 and after < 0.1 * before
    assert result.rms < 0.05


def test_people_calibration_keeps_every_coefficient_and_the_skew():
    ring = camera_ring(3, seed=2)  # a room-sized ring, the people in the middle
    lenses = [(RATIONAL, SKEW), (RATIONAL[:5], 0.0), (RATIONAL[:4], 0.0)]
    rig = CameraGroup(tuple(c.replace(dist=d, matrix=c.matrix + [[0, s, 0], [0, 0, 0], [0, 0, 0]])
                            for c, (d, s) in zip(ring, lenses)))
    xyz = np.stack([human_motion(40, seed=0), human_motion(40, seed=1, centre=(1.0, -0.8))], axis=1)
    kp = observe(rig, xyz, noise_px=0.3, seed=0)
    result = calibrate_from_people([c.with_pose(np.zeros(3), np.zeros(3)) for c in rig], kp.xy, kp.score,
                                   refine_focal=True, floor=False, max_points=1500)
    for true, cam in zip(rig, result.cameras):
        np.testing.assert_array_equal(cam.dist, true.dist)
        assert cam.matrix[0, 1] == true.matrix[0, 1]
        assert abs(cam.matrix[0, 0] / true.matrix[0, 0] - 1) < 0.002
    print(f"people calibration RMS {result.rms:.3f} px (0.3 px noise) with the rational lens and skew")
    assert result.rms < 0.5

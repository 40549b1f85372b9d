"""Board calibration against synthetic truth: rendered ChArUco views in a 4-camera ring whose
principal points sit 10-40 px off centre with real barrel distortion; opposite cameras never see
the board together, so their poses must come through the others."""

import cv2
import numpy as np
import pytest

from calibration import load_calibration
from calibration.boards import CharucoBoard, Checkerboard
from calibration.bundle import bundle_adjust
from calibration.extrinsics import initial_poses
from calibration.intrinsics import calibrate_intrinsics
from calibration.pipeline import calibrate_detections
from calibration.rotation import rvec_to_matrix
from calibration.synthetic import BoardRenderer, board_poses
from calibration.world import align_to_floor_board
from mocap.cli import main
from mocap.synthetic import camera_ring

BOARD = CharucoBoard((7, 5), 0.1, 0.075, "DICT_4X4_50")


@pytest.fixture(scope="module")
def scene():
    rig = camera_ring(4, radius=1.5, height=1.3, target=(0, 0, 1.0), size=(640, 480), seed=1)
    poses = board_poses(np.array([c.position for c in rig]), BOARD, 60, spread=0.9, tilt_deg=45, seed=0)
    renderer = BoardRenderer(BOARD, pixels_per_square=80)
    images = {c.name: {f"{i:03d}": renderer.render(c, *pose, rng=np.random.default_rng(i)) for i, pose in enumerate(poses)}
              for c in rig}
    detections = {n: {k: BOARD.detect(img) for k, img in imgs.items()} for n, imgs in images.items()}
    # Someone walks in front of cam03 whenever cam01 sees the board: they never share a view.
    for key, det in detections["cam01"].items():
        if det is not None and detections["cam03"][key] is not None:
            images["cam03"][key] = np.full_like(images["cam03"][key], renderer.background)
            detections["cam03"][key] = None
    return rig, poses, images, detections


@pytest.fixture(scope="module")
def calibrated(scene):
    rig, _, _, detections = scene
    return calibrate_detections(detections, {c.name: c.size for c in rig}, BOARD)


def _angle_deg(Ra, Rb):
    return np.degrees(np.arccos(np.clip((np.trace(Ra.T @ Rb) - 1) / 2, -1, 1)))


def test_rendered_corners_match_the_truth(scene):
    rig, poses, _, detections = scene
    errors = []
    for cam in rig:
        for key, det in detections[cam.name].items():
            if det is not None:
                rvec, tvec = poses[int(key)]
                world = BOARD.object_points[det.ids] @ rvec_to_matrix(rvec).T + tvec
                errors.append(det.corners - cam.project(world))
    errors = np.concatenate(errors)
    print(f"corner error: mean {errors.mean(0)} px, RMS {np.sqrt(np.mean(errors**2)):.4f} px, "
          f"max {np.abs(errors).max():.3f} px")
    assert len(errors) > 1000
    # The model fit (calibration.corners): measured mean < 0.001 px, RMS 0.0125 px (cornerSubPix: 0.26).
    assert np.all(np.abs(errors.mean(0)) < 0.01)  # no half-pixel or pixel-locking bias
    assert np.sqrt(np.mean(errors**2)) < 0.03


def test_checkerboard_detection_matches_the_truth():
    board = Checkerboard((6, 5), 0.08)  # odd sum: the order is fixed by the colours
    cam = camera_ring(1, radius=1.2, height=1.0, target=(0, 0, 1.0), size=(640, 480), seed=3)[0]
    rvec, tvec = board_poses(cam.position[None], board, 1, spread=0.0, tilt_deg=20, seed=2)[0]
    image = BoardRenderer(board, pixels_per_square=80).render(cam, rvec, tvec)
    det = board.detect(image)
    truth = cam.project(board.object_points @ rvec_to_matrix(rvec).T + tvec)
    print(f"checkerboard corner error max {np.abs(det.corners - truth).max():.4f} px")
    assert np.abs(det.corners - truth).max() < 0.05  # measured 0.009 px
    # Turned upside down (a half turn in its plane), corner 0 is still the print's corner 0.
    R = rvec_to_matrix(rvec)
    centre = np.array([*board.extent, 0.0]) / 2
    turned = R @ np.diag([-1.0, -1.0, 1.0])
    t2 = tvec + R @ centre - turned @ centre
    image = BoardRenderer(board, pixels_per_square=80).render(cam, cv2.Rodrigues(turned)[0].ravel(), t2)
    det = board.detect(image)
    truth = cam.project(board.object_points @ turned.T + t2)
    assert np.abs(det.corners - truth).max() < 0.3


def test_opposite_cameras_never_share_a_view(scene):
    _, _, _, detections = scene
    shared = [k for k in detections["cam01"] if detections["cam01"][k] is not None and detections["cam03"][k] is not None]
    assert shared == []


def test_intrinsics_alone_find_an_off_centre_principal_point(scene):
    rig, _, _, detections = scene
    for cam in rig:
        result = calibrate_intrinsics(detections[cam.name], BOARD.object_points, cam.size, name=cam.name)
        K = result.camera.matrix
        print(f"{cam.name}: RMS {result.rms:.3f} px, focal {K[0, 0] / cam.matrix[0, 0] - 1:+.4%}, "
              f"pp {np.abs(K[:2, 2] - cam.matrix[:2, 2]).max():.2f} px")
        assert result.rms < 0.06  # measured ≤ 0.023 px
        assert abs(K[0, 0] / cam.matrix[0, 0] - 1) < 0.002  # measured ≤ 0.061 %
        assert np.all(np.abs(K[:2, 2] - cam.matrix[:2, 2]) < 0.5)  # measured ≤ 0.14 px
        centre = np.array(cam.size) / 2 - 0.5
        assert np.linalg.norm(K[:2, 2] - centre) > 8  # really off centre, like the truth


def test_bundle_adjustment_recovers_the_rig(scene, calibrated):
    rig = scene[0]
    result = calibrated
    assert result.bundle.rms < 0.05  # measured 0.012 px
    found = list(result.group)
    # Gauge-free rotation error: the found rig turned onto the truth, then camera by camera.
    U, _, Vt = np.linalg.svd(sum(t.R.T @ c.R for t, c in zip(rig, found)))
    turn = U @ Vt
    for true, cam in zip(rig, found):
        print(f"{true.name}: focal {abs(cam.matrix[0, 0] / true.matrix[0, 0] - 1):.4%}, "
              f"pp {np.abs(cam.matrix[:2, 2] - true.matrix[:2, 2]).max():.2f} px, "
              f"rotation {_angle_deg(true.R @ turn, cam.R):.3f}°")
        # Measured: focal ≤ 0.001 %, principal point ≤ 0.09 px, rotation ≤ 0.008°.
        assert abs(cam.matrix[0, 0] / true.matrix[0, 0] - 1) < 0.0005
        assert abs(cam.matrix[1, 1] / true.matrix[1, 1] - 1) < 0.0005
        assert np.all(np.abs(cam.matrix[:2, 2] - true.matrix[:2, 2]) < 0.3)
        assert _angle_deg(true.R @ turn, cam.R) < 0.03
        # Relative pose to the first camera (our world is the first camera's frame).
        r_true, r_found = true.R @ rig[0].R.T, cam.R @ found[0].R.T
        assert _angle_deg(r_true, r_found) < 0.05
        base_true = np.linalg.norm(true.position - rig[0].position)
        base_found = np.linalg.norm(cam.position - found[0].position)
        assert abs(base_found - base_true) < 0.0005 * max(base_true, 1.0)


def test_initial_guess_is_improved_by_the_bundle_adjustment(scene):
    rig, _, _, detections = scene
    intr = [calibrate_intrinsics(detections[c.name], BOARD.object_points, c.size, name=c.name).camera for c in rig]
    cams, boards = initial_poses(intr, detections, BOARD.object_points)
    before = [_angle_deg(t.R @ rig[0].R.T, c.R @ cams[0].R.T) for t, c in zip(rig, cams)]
    refined = bundle_adjust(cams, boards, detections, BOARD.object_points).cameras
    after = [_angle_deg(t.R @ rig[0].R.T, c.R @ refined[0].R.T) for t, c in zip(rig, refined)]
    assert max(after) < max(before)
    assert max(before) < 2.0  # the chained pairwise guess is already within a couple of degrees


def test_floor_board_sets_the_world_frame(scene, calibrated):
    rig, poses, _, _ = scene
    result = calibrated
    key = next(iter(result.board_world))
    cams, boards = align_to_floor_board(list(result.group), result.board_world, key)
    # Truth: world positions expressed in the frame of that board (X = x, Y = -y, Z = -z).
    Rb, tb = rvec_to_matrix(poses[int(key)][0]), poses[int(key)][1]
    flip = np.diag([1.0, -1.0, -1.0])
    for true, cam in zip(rig, cams):
        expected = flip @ Rb.T @ (true.position - tb)
        assert np.linalg.norm(cam.position - expected) < 0.01
    R, t = boards[key]
    assert np.allclose(R, flip, atol=1e-9) and np.allclose(t, 0, atol=1e-9)


def test_command_line_calibrates_a_folder(scene, tmp_path):
    rig, _, images, _ = scene
    folder = tmp_path / "calib"
    for name, imgs in images.items():
        (folder / name).mkdir(parents=True)
        for key, img in imgs.items():
            cv2.imwrite(str(folder / name / f"{key}.png"), img)
    out = tmp_path / "calibration.toml"
    code = main(["calibrate", str(folder), "--board", "charuco", "--squares", "7x5", "--square-size", "0.1",
                 "--marker-size", "0.075", "--dictionary", "DICT_4X4_50", "--floor", "005", "-o", str(out)])
    assert code == 0
    group = load_calibration(out)
    assert group.names == [c.name for c in rig]
    for true, cam in zip(rig, group):
        assert abs(cam.matrix[0, 0] / true.matrix[0, 0] - 1) < 0.003
    # World from the floor board: cameras are ~1.5 m from the board, the baseline is preserved.
    d_true = np.linalg.norm(rig[0].position - rig[2].position)
    d_found = np.linalg.norm(group[0].position - group[2].position)
    assert abs(d_true - d_found) < 0.005
    assert "floor" in group.metadata["world_frame"]
    assert (tmp_path / "calibration_report.json").is_file() and (tmp_path / "calibration_report.png").is_file()


def test_board_image_command(tmp_path):
    out = tmp_path / "board.png"
    assert main(["calibration", "board", "--board", "charuco", "--squares", "5x7", "--square-size", "0.04",
                 "--marker-size", "0.03", "--dictionary", "DICT_5X5_100", "--pixels-per-square", "60", "-o", str(out)]) == 0
    image = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE)
    assert image.shape == (7 * 60 + 60, 5 * 60 + 60)
    det = CharucoBoard((5, 7), 0.04, 0.03, "DICT_5X5_100").detect(image)
    assert det is not None and len(det) == 4 * 6
    legacy = CharucoBoard((5, 6), 0.04, 0.03, "DICT_4X4_50", legacy=True)
    assert len(legacy.detect(legacy.image(60))) == 4 * 5


def test_fisheye_rig():
    """Fisheye lenses (OpenCV's k1..k4 model, 84° of horizontal field): intrinsics and poses."""
    base = camera_ring(4, radius=1.5, height=1.3, target=(0, 0, 1.0), size=(640, 480), seed=1)
    rig = [c.replace(fisheye=True, dist=np.array([0.05, -0.02, 0.01, -0.005]),
                     matrix=c.matrix * [[0.7, 1, 1], [1, 0.7, 1], [1, 1, 1]]) for c in base]
    poses = board_poses(np.array([c.position for c in rig]), BOARD, 40, spread=0.9, tilt_deg=45, close_fraction=0.3,
                        seed=0)
    renderer = BoardRenderer(BOARD, pixels_per_square=80)
    detections = {c.name: {f"{i:03d}": BOARD.detect(renderer.render(c, *p, rng=np.random.default_rng(i)))
                           for i, p in enumerate(poses)} for c in rig}
    result = calibrate_detections(detections, {c.name: c.size for c in rig}, BOARD, fisheye=True)
    assert result.bundle.rms < 0.05  # measured 0.011 px
    found = list(result.group)
    for true, cam in zip(rig, found):
        print(f"fisheye {cam.name}: RMS {result.bundle.rms:.3f}, focal {cam.matrix[0, 0] / true.matrix[0, 0] - 1:+.4%}, "
              f"pp {np.abs(cam.matrix[:2, 2] - true.matrix[:2, 2]).max():.2f} px, "
              f"rotation {_angle_deg(true.R @ rig[0].R.T, cam.R @ found[0].R.T):.3f}°")
        assert cam.fisheye
        assert abs(cam.matrix[0, 0] / true.matrix[0, 0] - 1) < 0.001  # measured ≤ 0.03 %
        assert np.all(np.abs(cam.matrix[:2, 2] - true.matrix[:2, 2]) < 0.5)  # measured ≤ 0.17 px
        assert _angle_deg(true.R @ rig[0].R.T, cam.R @ found[0].R.T) < 0.1  # measured ≤ 0.034°

"""Calibration from people (no board) on a synthetic two-person scene seen by a 4-camera ring:
rotations, metric positions (scale from the people's height) and the floor recovered."""

import dataclasses
import warnings

import numpy as np
import pytest

from calibration import CalibrationError
from calibration.people import ANKLES, EYE_TO_ANKLE, EYES, calibrate_from_people
from mocap.synthetic import camera_ring, human_motion, observe


@pytest.fixture(scope="module")
def scene():
    rig = camera_ring(4, seed=2)
    xyz = np.stack([human_motion(100, seed=0), human_motion(100, seed=1, centre=(1.0, -0.8))], axis=1)
    kp = observe(rig, xyz, noise_px=0.5, seed=0)
    # The height the user would type: the people's stature in the proportions the method assumes.
    d = np.linalg.norm(xyz[:, :, list(EYES)].mean(2) - xyz[:, :, list(ANKLES)].mean(2), axis=-1)
    return rig, kp, np.percentile(d, 95) / EYE_TO_ANKLE


def _aligned_errors(rig, found):
    """Per camera: rotation error (°) and position error (m) after turning/shifting the found rig
    onto the truth (rigid, no scaling: the scale must come from the height), and the tilt (°)
    between the found and true vertical."""
    P, Q = np.array([c.position for c in found]), np.array([c.position for c in rig])
    U, _, Vt = np.linalg.svd((P - P.mean(0)).T @ (Q - Q.mean(0)))
    A = (U @ np.diag([1, 1, np.linalg.det(U @ Vt)]) @ Vt).T
    rot = [np.degrees(np.arccos(np.clip((np.trace(t.R.T @ f.R @ A.T) - 1) / 2, -1, 1))) for t, f in zip(rig, found)]
    pos = [np.linalg.norm(A @ (p - P.mean(0)) - (q - Q.mean(0))) for p, q in zip(P, Q)]
    tilt = np.degrees(np.arccos(np.clip(A[2, 2], -1, 1)))
    return np.array(rot), np.array(pos), tilt


def test_poses_scale_and_floor_from_people(scene):
    rig, kp, height = scene
    unposed = [c.with_pose(np.zeros(3), np.zeros(3)) for c in rig]
    result = calibrate_from_people(unposed, kp.xy, kp.score, height=height)
    rot, pos, tilt = _aligned_errors(rig, result.cameras)
    print(f"rotation {rot.max():.4f}°, position {pos.max() * 1000:.1f} mm, floor tilt {tilt:.3f}°, RMS {result.rms:.2f} px")
    assert result.rms < 0.8  # 0.5 px noise
    assert rot.max() < 0.05  # measured 0.008°
    assert pos.max() < 0.005  # metres, measured 1 mm on a 4 m ring
    assert tilt < 0.3  # the floor from the feet, measured 0.1°
    # Z up with the floor at z = 0: camera heights are the true ones.
    heights = np.array([c.position[2] for c in result.cameras]) - np.array([c.position[2] for c in rig])
    assert np.abs(heights).max() < 0.02
    assert "feet" in result.world_frame


def test_focal_lengths_refined_from_people(scene):
    rig, kp, height = scene
    wrong = [c.replace(matrix=c.matrix * [[1.03, 1, 1], [1, 1.03, 1], [1, 1, 1]], rvec=np.zeros(3), tvec=np.zeros(3))
             for c in rig]
    result = calibrate_from_people(wrong, kp.xy, kp.score, height=height, refine_focal=True)
    for true, cam in zip(rig, result.cameras):
        assert abs(cam.matrix[0, 0] / true.matrix[0, 0] - 1) < 0.002  # from 3 % off; measured ≤ 0.03 %
    rot, pos, _ = _aligned_errors(rig, result.cameras)
    assert rot.max() < 0.05 and pos.max() < 0.01


def test_people_seen_by_one_camera_only(scene):
    rig, kp, _ = scene
    score = kp.score.copy()
    score[1:] = 0.0
    with pytest.raises(CalibrationError, match="too few keypoints seen by two cameras"):
        calibrate_from_people(list(rig), kp.xy, score)


@pytest.mark.realdata
def test_real_people_against_the_lab_calibration(pose2sim_demo):
    """Pose2Sim demo: 100 frames of OpenPose BODY_25B keypoints of one person balancing on a beam
    (and a bystander), with the lab's Qualisys intrinsics: the camera rotations found from the
    person agree with Qualisys' within 2° (measured ≤ 1.1°) once the rigs are aligned."""
    import cv2

    from calibration import read_qualisys
    from mocap.io.openpose import read_openpose_json

    lab = read_qualisys(pose2sim_demo / "calibration" / "Calib.qca.txt")
    folders = [pose2sim_demo / "pose2d_openpose_body25b" / f"{name}_json" for name in lab.names]
    sizes = []
    for name in lab.names:  # cam01/02 videos were resampled to 1080 px wide (see qualisys.py)
        capture = cv2.VideoCapture(str(pose2sim_demo / "videos" / f"{name}.mp4"))
        sizes.append((int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))))
        capture.release()
    kp = read_openpose_json(folders, layout="body_25b", image_sizes=sizes, progress=False)
    # The subject is the tallest person in each view (the bystander stands farther away).
    with warnings.catch_warnings():  # views where nobody is seen
        warnings.simplefilter("ignore", RuntimeWarning)
        extent = np.nan_to_num(np.nanmax(kp.xy[..., 1], -1) - np.nanmin(kp.xy[..., 1], -1), nan=-1.0)
    best = np.argmax(extent, axis=-1)
    kp = dataclasses.replace(kp, xy=np.take_along_axis(kp.xy, best[..., None, None, None], 2),
                             score=np.take_along_axis(kp.score, best[..., None, None], 2),
                             swapped=np.take_along_axis(kp.swapped, best[..., None, None], 2))
    # The API rescales the resampled cam01/cam02 keypoints to the calibration's 1088 px by itself.
    from calibration import CameraGroup
    from mocap.calibrate_api import calibrate_from_keypoints

    intrinsics = CameraGroup(tuple(c.with_pose(np.zeros(3), np.zeros(3)) for c in lab))
    _, result = calibrate_from_keypoints(intrinsics, kp, height=1.75)
    rot, pos, _ = _aligned_errors(list(lab), result.cameras)
    print(f"rotations vs Qualisys: {np.round(rot, 2)}°, positions {np.round(pos * 1000)} mm, RMS {result.rms:.1f} px")
    assert rot.max() < 2.0
    assert result.rms < 10.0


def test_api_writes_a_calibration_from_keypoints(scene, tmp_path):
    from calibration import CameraGroup, load_calibration
    from mocap.calibrate_api import calibrate_from_keypoints

    rig, kp, height = scene
    intrinsics = CameraGroup(tuple(c.with_pose(np.zeros(3), np.zeros(3)) for c in reversed(rig.cameras)))
    group, _ = calibrate_from_keypoints(intrinsics, kp, tmp_path / "people.toml", height=height)
    loaded = load_calibration(tmp_path / "people.toml")
    assert loaded.names == list(kp.camera_names)
    assert "feet" in loaded.metadata["world_frame"]
    d_true = np.linalg.norm(rig[0].position - rig[2].position)
    assert abs(np.linalg.norm(loaded[0].position - loaded[2].position) - d_true) < 0.01
    with pytest.raises(CalibrationError, match="no intrinsics for cameras cam04"):
        calibrate_from_keypoints(CameraGroup(tuple(intrinsics.cameras[1:])), kp)


def test_metric_scale_from_one_board_view(scene):
    from calibration.boards import CharucoBoard
    from calibration.people import scale_from_board
    from calibration.synthetic import BoardRenderer

    rig, kp, _ = scene
    result = calibrate_from_people([c.with_pose(np.zeros(3), np.zeros(3)) for c in rig], kp.xy, kp.score, floor=False)
    board = CharucoBoard((7, 5), 0.12, 0.09, "DICT_4X4_50")
    # Board upright at the centre, facing between cam01 and cam02 (both see it).
    facing = (rig[0].position + rig[1].position) / 2
    facing[2] = 1.0
    z = -(facing - [0, 0, 1.0]) / np.linalg.norm(facing - [0, 0, 1.0])
    x = np.cross([0, 0, 1.0], z)
    x /= np.linalg.norm(x)
    R = np.column_stack([x, np.cross(z, x), z])
    t = np.array([0, 0, 1.0]) - R @ np.array([*board.extent, 0]) / 2
    import cv2

    renderer = BoardRenderer(board, pixels_per_square=60, supersample=1)  # 1080p: keep the maps small
    detections = {c.name: board.detect(renderer.render(c, cv2.Rodrigues(R)[0].ravel(), t)) for c in rig[:2]}
    assert all(d is not None for d in detections.values())
    scale = scale_from_board(result.cameras, detections, board.object_points)
    found = np.linalg.norm(result.cameras[0].position - result.cameras[1].position) * scale
    true = np.linalg.norm(rig[0].position - rig[1].position)
    assert abs(found / true - 1) < 0.005


def test_people_calibration_from_the_command_line(tmp_path):
    """`mocap calibration people`: intrinsics + a person filmed by 4 cameras -> poses like the truth."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import calibration
    from mocap.synthetic import synthetic_session

    group, kp2d, _ = synthetic_session(120, n_cameras=4, noise_px=0.5, dropout=0.05, bystander=True, seed=21)
    calibration.save_calibration(group, tmp_path / "intrinsics.toml")  # its poses are not used
    kp2d.save(tmp_path / "pose2d.npz")
    repo = Path(__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, "-m", "mocap.cli", "--quiet", "calibration", "people", str(tmp_path / "pose2d.npz"),
                          "--intrinsics", str(tmp_path / "intrinsics.toml"), "--height", "1.75",
                          "-o", str(tmp_path / "people.toml")], capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, PYTHONPATH=str(repo)))
    assert run.returncode == 0, run.stderr
    assert "largest in each view" in run.stdout
    found = calibration.load_calibration(tmp_path / "people.toml")
    # Relative rotations between cameras do not depend on the world frame chosen.
    for i in range(1, 4):
        rel_true = group[i].R @ group[0].R.T
        rel_found = found[i].R @ found[0].R.T
        angle = np.degrees(np.arccos(np.clip((np.trace(rel_true.T @ rel_found) - 1) / 2, -1, 1)))
        assert angle < 0.5, (i, angle)

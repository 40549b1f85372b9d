"""The command line, run as a user runs it: a real process, real files, exit codes and messages."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import write_openpose_folder

REPO = Path(__file__).resolve().parents[1]


def mocap(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "mocap.cli", "--quiet", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def assert_user_error(result, *fragments):
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert str(fragment) in result.stderr, (fragment, result.stderr)


@pytest.fixture(scope="module")
def small_session(tmp_path_factory):
    """A synthetic 4-camera session as a user would have it: calibration TOML + OpenPose folders."""
    import calibration
    from mocap.skeleton import from_wholebody, get_layout
    from mocap.synthetic import synthetic_session

    root = tmp_path_factory.mktemp("session")
    group, kp2d, truth = synthetic_session(40, n_cameras=4, seed=11)
    calibration.save_calibration(group, root / "calibration.toml")
    body25 = get_layout("body_25")
    xy, score = from_wholebody(kp2d.xy, kp2d.score, body25)
    folders = []
    for c, name in enumerate(kp2d.camera_names):
        triplets = np.concatenate([np.nan_to_num(xy[c]), score[c][..., None]], -1)  # (T, P, 25, 3)
        frames = [[p.ravel() for p in frame] for frame in triplets]
        folders.append(write_openpose_folder(root / f"{name}_json", frames, prefix=name))
    return root, folders, truth


def test_triangulate_then_export_bvh(small_session, tmp_path):
    root, folders, truth = small_session
    out = tmp_path / "out"
    result = mocap("triangulate", "--calibration", root / "calibration.toml", "--openpose-json", *folders,
                   "--layout", "body_25", "--fps", 30, "-o", out)
    assert result.returncode == 0, result.stderr
    assert (out / "pose3d.npz").is_file() and (out / "pose3d.trc").is_file()
    from mocap.data import Keypoints3D

    kp = Keypoints3D.load(out / "pose3d.npz")
    assert kp.xyz.shape == (40, 1, 133, 3) and kp.fps == 30
    err = np.linalg.norm(kp.xyz[:, :, :17] - truth[:, :, :17], axis=-1)
    assert np.nanmedian(err) < 0.003
    result = mocap("export", "bvh", out / "pose3d.npz", "-o", tmp_path / "motion.bvh")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "motion.bvh").read_text().startswith("HIERARCHY")


def test_calibration_import_of_the_real_qualisys_file(pose2sim_demo, tmp_path):
    result = mocap("calibration", "import", pose2sim_demo / "calibration" / "Calib.qca.txt", "-o",
                   tmp_path / "calibration.toml")
    assert result.returncode == 0, result.stderr
    import calibration

    group = calibration.load_calibration(tmp_path / "calibration.toml")
    assert list(group.names) == ["cam01", "cam02", "cam03", "cam04"]
    np.testing.assert_allclose(group[0].matrix[0, 0], 107599.671875 / 64)


def test_demo_reports_its_error(tmp_path):
    result = mocap("demo", "-o", tmp_path / "demo", "--frames", 60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo" / "output" / "motion.bvh").is_file()
    assert "3D error against the synthetic truth" in result.stdout


def _triangulate(root, folders, out, calib=None):
    return mocap("triangulate", "--calibration", calib or root / "calibration.toml", "--openpose-json", *folders,
                 "--layout", "body_25", "--fps", 30, "-o", out)  # JSON does not record the rate: --fps is required


def test_bad_keypoint_folders(small_session, tmp_path):
    root, folders, _ = small_session
    assert_user_error(_triangulate(root, [*folders[:3], tmp_path / "nowhere_json"], tmp_path / "o"),
                      tmp_path / "nowhere_json", "not found")
    (tmp_path / "empty_json").mkdir()
    assert_user_error(_triangulate(root, [*folders[:3], tmp_path / "empty_json"], tmp_path / "o"),
                      tmp_path / "empty_json", "no OpenPose .json files")
    short = write_openpose_folder(tmp_path / "short_json", [[np.ones(75)]] * 5)
    # cameras pair by frame number (issue 12): frames a camera has no file for are NaN, with a warning
    run = _triangulate(root, [*folders[:3], short], tmp_path / "o")
    assert run.returncode == 0 and "short: 35 of 40" in run.stderr, run.stderr
    wrong = write_openpose_folder(tmp_path / "wrong_json", [[np.ones(54)]] * 40)  # COCO-18, not BODY_25
    assert_user_error(_triangulate(root, [*folders[:3], wrong], tmp_path / "o"), "wrong_json",
                      "expected 25")
    broken = write_openpose_folder(tmp_path / "broken_json", [[np.ones(75)]] * 40)
    bad_file = sorted(broken.glob("*.json"))[7]
    bad_file.write_text("{not json")
    assert_user_error(_triangulate(root, [*folders[:3], broken], tmp_path / "o"), bad_file, "not valid JSON")


def test_bad_calibrations(small_session, tmp_path):
    root, folders, _ = small_session
    assert_user_error(_triangulate(root, folders, tmp_path / "o", calib=tmp_path / "missing.toml"),
                      tmp_path / "missing.toml")
    malformed = tmp_path / "malformed.toml"
    malformed.write_text("[cam_1]\nmatrix = [[1, 0\n")
    assert_user_error(_triangulate(root, folders, tmp_path / "o", calib=malformed), malformed)
    assert_user_error(_triangulate(root, folders[:3], tmp_path / "o"), root / "calibration.toml",
                      "4 cameras", "3")


def test_unwritable_output_and_existing_outputs_kept(small_session, tmp_path):
    root, folders, _ = small_session
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert_user_error(_triangulate(root, folders, blocker / "out"), blocker)
    # A failing run leaves what the user already had exactly as it was.
    out = tmp_path / "out"
    out.mkdir()
    (out / "pose3d.npz").write_bytes(b"the user's earlier result")
    broken = write_openpose_folder(tmp_path / "broken_json", [[np.ones(75)]] * 40)
    sorted(broken.glob("*.json"))[-1].write_text("[")
    assert_user_error(_triangulate(root, [*folders[:3], broken], out), "not valid JSON")
    assert (out / "pose3d.npz").read_bytes() == b"the user's earlier result"
    target = tmp_path / "motion.bvh"
    target.write_text("earlier")
    assert_user_error(mocap("export", "bvh", tmp_path / "missing.npz", "-o", target), "missing.npz")
    assert target.read_text() == "earlier"
    assert_user_error(mocap("export", "bvh", root / "calibration.toml", "-o", target), "calibration.toml")
    assert target.read_text() == "earlier"

"""`mocap triangulate DIR` takes the session's `[triangulate]` settings (as `mocap run` does; flags
given win), and `--fill-with-lifting` from the command line fills keypoints fewer than two cameras
saw from lifted 3D (a synthetic scene with known truth and simulated monocular 3D)."""

import numpy as np
import pytest

import calibration
from mocap.data import SOURCE_LIFTED, Keypoints3D
from mocap.lift import LiftedViews
from mocap.skeleton import INDEX, LEFT_HAND
from mocap.synthetic import synthetic_session
from mocap.synthetic.monocular import monocular_views, occlude
from sessions import assert_user_error, mocap, write_settings

HIDDEN = [INDEX["left_wrist"]] + list(range(LEFT_HAND.start, LEFT_HAND.stop))  # the left hand, in frames 10-40


@pytest.fixture(scope="module")
def crowd(tmp_path_factory):
    """A session folder: two people seen by every camera, as pose2d.npz."""
    from mocap.synthetic import camera_ring, human_motion, observe

    root = tmp_path_factory.mktemp("crowd")
    group = camera_ring(4, seed=6)
    people = np.stack([human_motion(20, seed=6), human_motion(20, seed=7, centre=(1.5, -1.5))], 1)
    kp2d = observe(group, people, noise_px=0.5, dropout=0.1, seed=6)
    for sub in ("calibration", "output", "videos"):
        (root / sub).mkdir()
    calibration.save_calibration(group, root / "calibration" / "calibration.toml")
    kp2d.save(root / "output" / "pose2d.npz")
    return root


def tracks(root):
    return Keypoints3D.load(root / "output" / "pose3d.npz").n_persons


def test_a_session_folder_takes_its_triangulate_settings(crowd):
    # No session.toml: the session's defaults, persons = 1 (the subject), as `mocap run` has it.
    result = mocap("triangulate", crowd)
    assert result.returncode == 0, result.stderr
    assert tracks(crowd) == 1
    # A flag given wins over the session.
    result = mocap("triangulate", crowd, "--persons", "all")
    assert result.returncode == 0 and tracks(crowd) == 2 and "2 track(s)" in result.stdout
    # session.toml says everyone, and 3 views a point: so does `mocap triangulate DIR`.
    write_settings(crowd, {"triangulate": {"persons": "all", "min_views": 3}})
    result = mocap("triangulate", crowd)
    assert result.returncode == 0, result.stderr
    kp = Keypoints3D.load(crowd / "output" / "pose3d.npz")
    assert (kp.n_views[np.isfinite(kp.xyz[..., 0])] >= 3).all()  # (the second person, often seen by 2, goes)
    assert mocap("triangulate", crowd, "--min-views", "2").returncode == 0
    kp = Keypoints3D.load(crowd / "output" / "pose3d.npz")
    assert kp.n_persons == 2 and (kp.n_views[np.isfinite(kp.xyz[..., 0])] == 2).any()
    write_settings(crowd, {"triangulate": {"persons": "some"}})
    assert_user_error(mocap("triangulate", crowd), "session.toml", "[triangulate] persons")


@pytest.fixture(scope="module")
def hidden_hand(tmp_path_factory):
    """pose2d.npz of a scene whose left hand only one camera sees in frames 10-40, the lifted 3D of
    every camera beside it (lifted.npz), and the calibration."""
    root = tmp_path_factory.mktemp("fill")
    group, kp2d, truth = synthetic_session(50, seed=3)
    kp2d = occlude(kp2d, HIDDEN, slice(10, 40), 0)
    (root / "output").mkdir()
    kp2d.save(root / "output" / "pose2d.npz")
    lifted = monocular_views(group, truth, seed=1)
    LiftedViews(kp2d, lifted, "skeleton", "simulated").save(root / "output" / "lifted.npz")
    calibration.save_calibration(group, root / "calibration.toml")
    return root, truth


def test_fill_with_lifting_from_the_command_line(hidden_hand, tmp_path):
    root, truth = hidden_hand
    out = tmp_path / "out"
    result = mocap("triangulate", root / "output" / "pose2d.npz", "--calibration", root / "calibration.toml", "-o",
                   out, "--persons", "1", "--fill-with-lifting")
    assert result.returncode == 0, result.stderr
    kp = Keypoints3D.load(out / "pose3d.npz")
    lifted = kp.source == SOURCE_LIFTED
    n = int(lifted.sum())
    assert f"filled {n} keypoints from lifted 3D" in result.stdout
    assert lifted[10:40, 0, HIDDEN].mean() > 0.9 and lifted[10:40, 0, HIDDEN].sum() > 0.8 * n  # where it was hidden
    err = np.linalg.norm(kp.xyz - truth, axis=-1)[lifted]
    assert np.median(err) < 0.07, np.median(err)  # a monocular model's error, where nothing was before
    assert (out / "pose3d.trc").is_file()
    # A pose2d.npz without its lifted views beside it: said, exit 2.
    lone = tmp_path / "lone"
    lone.mkdir()
    (lone / "pose2d.npz").write_bytes((root / "output" / "pose2d.npz").read_bytes())
    assert_user_error(mocap("triangulate", lone / "pose2d.npz", "--calibration", root / "calibration.toml", "-o",
                            tmp_path / "o2", "--fill-with-lifting"), "lifted.npz", "--fill-with-lifting needs")

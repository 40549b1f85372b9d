"""`mocap triangulate` takes what `mocap pose2d` wrote (frame rate, image sizes, frame numbers from the
file), and the contracts carry what later stages need: frame numbers into TRC / C3D / BVH, the world
frame (a calibration that is not floor-aligned is said, and exports still stand the person up), and
metres from millimetre calibrations. Through real processes where a user would meet the problem."""

import dataclasses
import warnings

import numpy as np
import pytest

import calibration
from mocap.data import Keypoints3D
from mocap.synthetic import synthetic_session
from sessions import assert_user_error, mocap

FIRST, STRIDE = 10, 2


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """A synthetic 4-camera session cut from video frame 10 with stride 2 (60 fps videos -> 30 fps)."""
    root = tmp_path_factory.mktemp("session")
    group, kp2d, truth = synthetic_session(30, fps=30.0, n_cameras=4, seed=5)
    kp2d = dataclasses.replace(kp2d, frame_index=FIRST + STRIDE * np.arange(kp2d.n_frames))
    for sub in ("calibration", "output", "videos"):
        (root / sub).mkdir()
    calibration.save_calibration(group, root / "calibration" / "calibration.toml")
    kp2d.save(root / "output" / "pose2d.npz")
    return root, group, kp2d, truth


def test_triangulate_a_session_folder(scene):
    root, _, kp2d, truth = scene
    result = mocap("triangulate", root, "--persons", "1")
    assert result.returncode == 0, result.stderr
    kp = Keypoints3D.load(root / "output" / "pose3d.npz")
    assert kp.fps == 30.0 and np.array_equal(kp.frame_index, kp2d.frame_index) and kp.world_frame == "floor"
    assert np.nanmedian(np.linalg.norm(kp.xyz[:, :, :17] - truth[:, :, :17], axis=-1)) < 0.01
    assert "median reprojection error per camera (px): cam01 " in result.stdout and "cam04" in result.stdout
    assert "video frames 10 to 68" in result.stdout


def test_triangulate_a_pose2d_file_and_the_frame_numbers_reach_every_format(scene, tmp_path):
    root, group, kp2d, _ = scene
    # The calibration names its cameras otherwise: matched by position, with both lists said.
    renamed = calibration.CameraGroup(tuple(dataclasses.replace(c, name=f"c{i}") for i, c in enumerate(group)),
                                      group.metadata)
    calibration.save_calibration(renamed, tmp_path / "cal.toml")
    result = mocap("triangulate", root / "output" / "pose2d.npz", "--calibration", tmp_path / "cal.toml",
                   "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "(c0, c1, c2, c3) are not named like the keypoints' (cam01, cam02, cam03, cam04)" in result.stderr
    assert "matching them by position: c0 = cam01" in result.stderr
    out = tmp_path / "out"
    trc = (out / "pose3d.trc").read_text().splitlines()
    assert trc[2].split("\t")[6] == str(FIRST + 1)  # OrigDataStartFrame: the first video frame, from 1
    first_row = trc[6].split("\t")
    assert first_row[0] == str(FIRST + 1) and float(first_row[1]) == pytest.approx(FIRST / 60.0, abs=1e-6)
    from exporters import read_trc

    assert np.array_equal(read_trc(out / "pose3d.trc").frame_index, kp2d.frame_index)
    assert mocap("export", "c3d", out / "pose3d.npz", "-o", out / "m.c3d").returncode == 0
    import c3d

    with open(out / "m.c3d", "rb") as f:
        reader = c3d.Reader(f)
        assert (reader.first_frame, reader.last_frame) == (FIRST + 1, FIRST + kp2d.n_frames)
    assert mocap("export", "bvh", out / "pose3d.npz", "-o", out / "m.bvh").returncode == 0
    assert f"first frame: video frame {FIRST}" in (out / "m.bvh").read_text().splitlines()[1]


def test_bad_triangulate_inputs(scene, tmp_path):
    root, _, _, _ = scene
    assert_user_error(mocap("triangulate", "--openpose-json", tmp_path, "--calibration", tmp_path / "c.toml",
                            "-o", tmp_path / "o"), "--openpose-json needs --fps")
    result = mocap("triangulate", root, "--persons", "x")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "argument --persons: expected a whole number >= 1 or 'all', got 'x'" in result.stderr
    assert_user_error(mocap("triangulate", tmp_path / "pose2d.npz"), "needs --calibration CAL and -o OUT")
    assert_user_error(mocap("triangulate", tmp_path), "no output/pose2d.npz")


def test_a_camera_far_above_the_others_is_warned_about(scene, tmp_path):
    root, group, _, _ = scene
    cams = list(group.cameras)
    cams[2] = cams[2].with_pose(cams[2].rvec + np.array([0.0, 0.06, 0.0]), cams[2].tvec)  # 3.4° off
    calibration.save_calibration(calibration.CameraGroup(tuple(cams), group.metadata), tmp_path / "off.toml")
    result = mocap("triangulate", root / "output" / "pose2d.npz", "--calibration", tmp_path / "off.toml",
                   "-o", tmp_path / "o", "--persons", "1")
    assert result.returncode == 0, result.stderr
    assert "camera cam03: median reprojection error" in result.stderr and "far above the other cameras'" in result.stderr
    assert "cam03" in result.stdout and "(far above the others)" in result.stdout


def test_millimetre_calibrations_give_metres(scene, tmp_path):
    """Our own FreeMoCap export (translations in mm, [metadata] units = "mm") and a FreeMoCap file
    without units both load in metres, with a message; the 3D is then metre-scale."""
    from calibration import UnitsWarning, export_calibration

    root, group, kp2d, truth = scene
    export_calibration(group, tmp_path / "fmc.toml", "freemocap")
    with pytest.warns(UnitsWarning, match='millimetres .*units = "mm".*converted to metres'):
        loaded = calibration.load_calibration(tmp_path / "fmc.toml")
    assert np.allclose([c.tvec for c in loaded], [c.tvec for c in group])
    text = (tmp_path / "fmc.toml").read_text().replace('units = "mm"', 'note = "no units"')
    (tmp_path / "bare.toml").write_text(text)
    with pytest.warns(UnitsWarning, match="no units given, and the cameras sit .* units from the origin"):
        assert np.allclose([c.tvec for c in calibration.load_calibration(tmp_path / "bare.toml")],
                           [c.tvec for c in group])
    from mocap.triangulate import triangulate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kp = triangulate(calibration.load_calibration(tmp_path / "fmc.toml"), kp2d)
    assert np.nanmedian(np.linalg.norm(kp.xyz[:, :, :17] - truth[:, :, :17], axis=-1)) < 0.01


def test_an_unaligned_world_is_said_and_exports_stand_the_person_up(scene, tmp_path):
    """A board calibration without a floor: the world is the first camera's (y down). Triangulation
    says so, and the BVH still has the head above the feet."""
    from exporters import read_bvh, write_bvh
    from mocap.retarget import forward_kinematics, retarget
    from mocap.triangulate import WorldFrameWarning, triangulate

    _, group, kp2d, _ = scene
    first = group.cameras[0]
    R0, t0 = first.R, first.tvec  # world -> camera 0: the new world is camera 0's frame
    cams = tuple(c.with_pose(c.R @ R0.T, c.tvec - c.R @ R0.T @ t0) for c in group.cameras)
    camera_world = calibration.CameraGroup(cams, {"world_frame": "camera cam01"})
    with pytest.warns(WorldFrameWarning, match="not floor-aligned"):
        kp = triangulate(camera_world, kp2d)
    assert kp.world_frame == "unaligned"
    with pytest.warns(UserWarning, match="turned so that the person's own up"):
        motion = retarget(kp).motion
    write_bvh(motion, tmp_path / "m.bvh")
    back = read_bvh(tmp_path / "m.bvh")
    joints = forward_kinematics(back)  # world (Z up) positions of the joints
    names = list(back.joint_names)
    head, feet = names.index("head"), [names.index(n) for n in names if "foot" in n or "toe" in n]
    assert np.all(joints[:, head, 2] > joints[:, feet, 2].max(-1) + 0.8)  # upright, not on its side


def test_small_defects_met_on_the_way(tmp_path):
    """A truncated .npz given to `mocap export` is a clean error; `export csv|npz --person` exports
    that person only; a clip shorter than min_track_frames keeps its people."""
    from mocap.triangulate import triangulate

    group, kp2d, _ = synthetic_session(30, fps=30.0, n_cameras=4, bystander=True, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        short = triangulate(group, dataclasses.replace(kp2d, xy=kp2d.xy[:, :3], score=kp2d.score[:, :3],
                                                       swapped=kp2d.swapped[:, :3], frame_index=np.arange(3)),
                            persons=None, min_track_frames=5)  # 3 frames < 5: the limit is capped at the clip
    assert short.n_persons >= 1 and np.isfinite(short.xyz).any()
    from mocap.synthetic import human_motion

    xyz = np.stack([human_motion(30, 30.0, seed=1), human_motion(30, 30.0, seed=2, centre=(1.5, 1.0))], axis=1)
    ones = np.ones(xyz.shape[:3])
    kp = Keypoints3D(xyz=xyz, score=ones, reproj_error=ones, n_views=2 * ones, fps=30.0)
    kp.save(tmp_path / "pose3d.npz")
    data = (tmp_path / "pose3d.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    assert_user_error(mocap("export", "bvh", tmp_path / "cut.npz", "-o", tmp_path / "x.bvh"), "cut.npz",
                      "not a readable .npz file, truncated or damaged")
    assert mocap("export", "npz", tmp_path / "pose3d.npz", "--person", "1", "-o", tmp_path / "one.npz").returncode == 0
    one = Keypoints3D.load(tmp_path / "one.npz")
    assert one.n_persons == 1 and np.array_equal(one.xyz[:, 0], kp.xyz[:, 1], equal_nan=True)
    assert mocap("export", "csv", tmp_path / "pose3d.npz", "--person", "all", "-o", tmp_path / "all.csv").returncode == 0
    assert mocap("export", "csv", tmp_path / "pose3d.npz", "--person", "1", "-o", tmp_path / "p1.csv").returncode == 0
    rows_all = (tmp_path / "all.csv").read_text().splitlines()[2:]
    rows_one = (tmp_path / "p1.csv").read_text().splitlines()[2:]
    assert len(rows_all) == 60 and len(rows_one) == 30
    assert_user_error(mocap("export", "bvh", tmp_path / "pose3d.npz", "--person", "all", "-o", tmp_path / "a.bvh"),
                      "person 'all' is for csv and npz")

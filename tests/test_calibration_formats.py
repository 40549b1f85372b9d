"""Calibration files: TOML round trips and interop with aniposelib, Qualisys import, bad input."""

import json
import shutil

import numpy as np
import pytest

from calibration import (
    CalibrationError,
    Camera,
    CameraGroup,
    load_calibration,
    read_qualisys,
    read_toml,
    save_calibration,
    write_toml,
)

aniposelib_cameras = pytest.importorskip("aniposelib.cameras")


def _random_group(seed=0):
    rng = np.random.default_rng(seed)

    def camera(name, dist, fisheye=False, size=(1920, 1080)):
        f = rng.uniform(800, 1800)
        K = [[f, 0.0, size[0] / 2 + rng.normal(0, 10)], [0.0, f * rng.uniform(0.99, 1.01), size[1] / 2 + rng.normal(0, 10)], [0.0, 0.0, 1.0]]
        return Camera(name, size, K, dist, rng.uniform(-2, 2, 3), rng.uniform(-3, 3, 3) + [0, 0, 6], fisheye)

    return CameraGroup(
        (
            camera("front", [-0.21, 0.07, 1.3e-3, -4e-4, -0.011]),
            camera("side left", [-0.2, 0.05, 1e-4, 2e-4, 0.001, 0.03, 0.01, 0.002], size=(1080, 1920)),
            camera("top", [-0.1, 0.02, 3e-4, 1e-4]),
            camera("wide", [0.05, -0.01, 0.003, -0.0007], fisheye=True, size=(1280, 800)),
        ),
        {"error": 0.731, "source": "test"},
    )


def _points(n=200, seed=1):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, (n, 3))


def _assert_same_cameras(a: CameraGroup, b: CameraGroup, atol=1e-12):
    assert a.names == b.names
    for x, y in zip(a, b):
        assert x.size == y.size and x.fisheye == y.fisheye
        for field in ("matrix", "dist", "rvec", "tvec"):
            np.testing.assert_allclose(getattr(x, field), getattr(y, field), rtol=0, atol=atol)


# --- TOML ---------------------------------------------------------------------------------------


def test_toml_round_trip_is_exact(tmp_path):
    group = _random_group()
    path = save_calibration(group, tmp_path / "calibration.toml")
    back = read_toml(path)
    _assert_same_cameras(group, back, atol=0)  # repr floats: bit-exact
    assert back.metadata == {"adjusted": False, "error": 0.731, "source": "test"}
    assert load_calibration(path).names == group.names
    assert [p.name for p in tmp_path.iterdir()] == ["calibration.toml"]  # no temporary left behind


def test_aniposelib_reads_what_we_write(tmp_path):
    group = _random_group(seed=3)
    path = write_toml(group, tmp_path / "calibration.toml")
    theirs = aniposelib_cameras.CameraGroup.load(str(path))
    assert theirs.get_names() == group.names
    points = _points()
    np.testing.assert_allclose(theirs.project(points), group.project(points), rtol=0, atol=1e-6)
    assert theirs.metadata["error"] == 0.731


def test_we_read_what_aniposelib_writes(tmp_path):
    group = _random_group(seed=4)
    kinds = {False: aniposelib_cameras.Camera, True: aniposelib_cameras.FisheyeCamera}
    theirs = aniposelib_cameras.CameraGroup(
        [kinds[c.fisheye](matrix=c.matrix, dist=c.dist, size=c.size, rvec=c.rvec, tvec=c.tvec, name=c.name) for c in group],
        metadata={"adjusted": True, "error": 2.5},
    )
    path = tmp_path / "anipose.toml"
    theirs.dump(str(path))
    ours = load_calibration(path)
    _assert_same_cameras(group, ours)
    assert ours.metadata == {"adjusted": True, "error": 2.5}
    points = _points(seed=5)
    np.testing.assert_allclose(ours.project(points), theirs.project(points), rtol=0, atol=1e-6)


POSE2SIM_TOML = """\
[cam01]
name = "cam01"
size = [ 1088.0, 1920.0]
matrix = [ [ 1681.244873046875, 0.0, 532.97369384375], [ 0.0, 1681.075439453125, 948.137390140625], [ 0.0, 0.0, 1.0]]
distortions = [ -0.046183, 0.139983, 0.000608, 0.00069]
rotation = [ 1.6882754799999993, 1.0483220499999997, -0.41955852000000016]
translation = [ 0.3211048899999996, 0.9563320600000009, 2.8907130499999996]
fisheye = false

[cam02]
name = "cam02"
size = [ 1088.0, 1920.0]
matrix = [ [ 1673.729614265625, 0.0, 534.494567875], [ 0.0, 1673.79724121875, 963.225891109375], [ 0.0, 0.0, 1.0]]
distortions = [ -0.047847, 0.136786, 0.000972, 0.000291]
rotation = [ 1.34975875, 1.5963809099999993, -1.1983285799999999]
translation = [ -0.1115282900000002, 0.7766184800000001, 3.0675519599999994]
fisheye = false

[metadata]
adjusted = false
error = 0.0
"""

FREEMOCAP_TOML = """\
[cam_0]
name = "1"
size = [ 640, 480,]
matrix = [ [ 631.46, 0.0, 319.5,], [ 0.0, 631.46, 239.5,], [ 0.0, 0.0, 1.0,],]
distortions = [ 0.1145, 0.0, 0.0, 0.0,]
rotation = [ -0.0043, 0.0019, 0.0141,]
translation = [ -3.8, -17.9, -1488.3,]
fisheye = true

[cam_1]
name = "2"
size = [ 720, 1280,]
matrix = [ [ 912.7, 0.0, 359.5,], [ 0.0, 912.7, 639.5,], [ 0.0, 0.0, 1.0,],]
distortions = [ -0.3338, 0.0, 0.0, 0.0, 0.0,]
rotation = [ 0.0984, 1.2337, 0.6356,]
translation = [ -2512.7, -645.7, 738.9,]

[metadata]
charuco_square_size = 58.0
path_to_recorded_videos = "C:\\\\Users\\\\me\\\\videos"
"""


def test_reads_pose2sim_style(tmp_path):
    path = tmp_path / "Calib.toml"
    path.write_text(POSE2SIM_TOML)
    group = load_calibration(path)
    assert group.names == ["cam01", "cam02"]
    assert group[0].size == (1088, 1920) and isinstance(group[0].size[0], int)
    assert group[1].matrix[1, 2] == 963.225891109375
    np.testing.assert_array_equal(group[1].dist, [-0.047847, 0.136786, 0.000972, 0.000291])
    np.testing.assert_array_equal(group[0].tvec, [0.3211048899999996, 0.9563320600000009, 2.8907130499999996])
    assert group.metadata == {"adjusted": False, "error": 0.0}


def test_reads_freemocap_style(tmp_path):
    path = tmp_path / "freemocap_calibration.toml"
    path.write_text(FREEMOCAP_TOML)
    from calibration import UnitsWarning

    with pytest.warns(UnitsWarning, match="millimetres .* converted to metres"):
        group = read_toml(path)
    assert group.names == ["1", "2"]
    assert group["1"].fisheye and not group["2"].fisheye
    assert group["2"].size == (720, 1280)
    # FreeMoCap writes its board's unit (mm) and no units entry: converted to metres on load.
    np.testing.assert_allclose(group["2"].tvec, [-2.5127, -0.6457, 0.7389], rtol=1e-12)
    assert group.metadata["path_to_recorded_videos"] == "C:\\\\Users\\\\me\\\\videos".replace("\\\\", "\\")
    # And it survives our writer (metadata strings included).
    back = read_toml(write_toml(group, tmp_path / "again.toml"))
    _assert_same_cameras(group, back, atol=0)
    assert back.metadata["path_to_recorded_videos"] == group.metadata["path_to_recorded_videos"]


def test_rotation_matrix_accepted(tmp_path):
    group = _random_group(seed=6)
    text = (tmp_path / "x.toml")
    write_toml(group, text)
    content = text.read_text()
    R = np.round(group[0].R, 15).tolist()
    rotation_line = next(line for line in content.splitlines() if line.startswith("rotation = "))
    text.write_text(content.replace(rotation_line, f"rotation = {R}", 1))
    back = read_toml(text)
    np.testing.assert_allclose(back[0].R, group[0].R, atol=1e-12)


# --- errors ---------------------------------------------------------------------------------------


GOOD_TABLE = """\
[cam_a]
name = "a"
size = [640, 480]
matrix = [[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]]
distortions = [0.0, 0.0, 0.0, 0.0, 0.0]
rotation = [0.0, 0.0, 0.0]
translation = [0.0, 0.0, 1.0]
"""


@pytest.mark.parametrize(
    "text, message",
    [
        ("[cam_a\nname = 1", "malformed TOML"),
        ("[metadata]\nerror = 1.0\n", "no camera table"),
        ("title = 'x'\n", "no camera table"),
        (GOOD_TABLE.replace('size = [640, 480]\n', ""), r"\[cam_a\] \('a'\): missing field 'size'"),
        (GOOD_TABLE.replace("[0.0, 0.0, 1.0]]", "]"), r"\[cam_a\] \('a'\): field 'matrix' must be a 3×3 array"),
        (GOOD_TABLE.replace("distortions = [0.0, 0.0, 0.0, 0.0, 0.0]", "distortions = [0.0, 0.0]"), "'distortions' must be 4 numbers or 5 numbers or 8 numbers"),
        (GOOD_TABLE + "fisheye = true\n", r"'distortions' must be 4 numbers, got shape \(5,\)"),
        (GOOD_TABLE.replace("rotation = [0.0, 0.0, 0.0]", 'rotation = "none"'), "field 'rotation' must hold numbers"),
        (GOOD_TABLE.replace("rotation = [0.0, 0.0, 0.0]", "rotation = [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 2.0]]"), "'rotation': the matrix is not a rotation"),
        (GOOD_TABLE.replace("translation = [0.0, 0.0, 1.0]", "translation = [0.0, nan, 1.0]"), "'translation' holds non-finite"),
        (GOOD_TABLE.replace("size = [640, 480]", "size = [640, -480]"), "'size' must be a positive whole"),
        (GOOD_TABLE.replace("500.0, 0.0, 320.0", "-500.0, 0.0, 320.0"), r"\[cam_a\] \('a'\): matrix must be"),
        (GOOD_TABLE + GOOD_TABLE.replace("[cam_a]", "[cam_b]"), "camera names are repeated: 'a'"),
    ],
)
def test_bad_toml_files_name_file_camera_and_field(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(CalibrationError, match=message) as info:
        load_calibration(path)
    assert str(info.value).startswith(f"{path}: ") and info.value.path == str(path)


def test_missing_not_a_file_and_unknown_format(tmp_path):
    with pytest.raises(CalibrationError, match="not found") as info:
        load_calibration(tmp_path / "nope.toml")
    assert "nope.toml" in str(info.value)
    with pytest.raises(CalibrationError, match="not a file"):
        load_calibration(tmp_path)
    for name, content in [("calib.json", '{"cameras": []}'), ("calib.yml", "K: [1, 2]\n"), ("empty.txt", "")]:
        (tmp_path / name).write_text(content)
        with pytest.raises(CalibrationError, match=r"supported: .*TOML.*Qualisys") as info:
            load_calibration(tmp_path / name)
        assert name in str(info.value)
    (tmp_path / "binary.dat").write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(CalibrationError, match="binary.dat"):
        load_calibration(tmp_path / "binary.dat")


def test_toml_without_suffix_is_sniffed(tmp_path):
    path = tmp_path / "calibration.txt"
    path.write_text(GOOD_TABLE)
    group = load_calibration(path)
    np.testing.assert_allclose(group.project([[0.0, 0.0, 0.0]]), [[[320.0, 240.0]]])


def test_writer_errors_leave_old_file_intact(tmp_path):
    group = _random_group()
    path = write_toml(group, tmp_path / "calibration.toml")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="metadata 'bad'"):
        write_toml(group, path, metadata={"bad": object()})
    assert path.read_bytes() == before and len(list(tmp_path.iterdir())) == 1
    with pytest.raises(CalibrationError, match="output folder does not exist"):
        write_toml(group, tmp_path / "missing" / "calibration.toml")
    with pytest.raises(CalibrationError, match="is a folder"):
        write_toml(group, tmp_path)


# --- Qualisys ---------------------------------------------------------------------------------------

# cam01 of the Pose2Sim demo's Calib.qca.txt, the numbers the hand derivations below start from.
R01 = [0.5536380477336265, 0.8046719867383512, 0.2144479094331626, -0.4345300743838753, 0.05946489349975602, 0.8986921279821063, 0.7104002579937896, -0.5907342212870501, 0.3825762057979294]
XYZ01 = [1460.2323709212087, -1909.1590482454608, 1896.5058524092062]
QCA_ONE_CAMERA = """<?xml version='1.0' encoding='ASCII'?>
<calibration source="test">
  <cameras>
    <camera active="1" avg-residual="0.402000" model="none" serial="cam01" viewrotation="0">
      <fov_video bottom="1919" left="0" right="1087" top="0"/>
      <transform r11="0.5536380477336265" r12="0.8046719867383512" r13="0.2144479094331626" r21="-0.4345300743838753" r22="0.05946489349975602" r23="0.8986921279821063" r31="0.7104002579937896" r32="-0.5907342212870501" r33="0.3825762057979294" x="1460.2323709212087" y="-1909.1590482454608" z="1896.5058524092062"/>
      <intrinsic centerPointU="34110.316406" centerPointV="60680.792969" focalLengthU="107599.671875" focalLengthV="107588.828125" radialDistortion1="-0.046183" radialDistortion2="0.139983" radialDistortion3="0.000000" sensorMaxU="69568" sensorMaxV="122816" skew="0.000000" tangentalDistortion1="0.000608" tangentalDistortion2="0.00069"/>
    </camera>
  </cameras>
</calibration>
"""


def _check_cam01(camera):
    assert camera.name == "cam01" and camera.size == (1087 - 0 + 1, 1919 - 0 + 1) == (1088, 1920)
    expected_K = [[107599.671875 / 64, 0.0, 34110.316406 / 64], [0.0, 107588.828125 / 64, 60680.792969 / 64], [0.0, 0.0, 1.0]]
    np.testing.assert_allclose(camera.matrix, expected_K, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(camera.dist, [-0.046183, 0.139983, 0.000608, 0.00069, 0.0])
    np.testing.assert_allclose(camera.position, np.array(XYZ01) / 1000, rtol=0, atol=1e-9)
    R, M = camera.R, np.reshape(R01, (3, 3))
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0, abs=1e-12)
    # Qualisys rows are the camera axes (x right, y up, looking down -z): x stays, y and z flip.
    np.testing.assert_allclose(R[0], M[0], atol=1e-12)
    np.testing.assert_allclose(R[1:], -M[1:], atol=1e-12)
    assert not camera.fisheye


def test_qualisys_by_hand_from_the_file_numbers(tmp_path):
    path = tmp_path / "one.qca.txt"
    path.write_text(QCA_ONE_CAMERA)
    group = load_calibration(path)
    _check_cam01(group[0])
    assert group.metadata == {"source": "qualisys", "avg_residual": [0.402]}


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("</calibration>", "", "malformed XML"),
        ('focalLengthU="107599.671875" ', "", "camera 'cam01': <intrinsic> has no attribute 'focalLengthU'"),
        ('r11="0.5536380477336265"', 'r11="abc"', "camera 'cam01': <transform> attribute 'r11' is not a number"),
        ('r11="0.5536380477336265"', 'r11="1.5536380477336265"', "camera 'cam01': <transform> the matrix is not a rotation"),
        ('viewrotation="0"', 'viewrotation="90"', "camera 'cam01': viewrotation=90 is not supported"),
        ('<fov_video bottom="1919" left="0" right="1087" top="0"/>', "", "camera 'cam01': no <fov_video>"),
        ('right="1087"', 'right="-5"', "<fov_video> is empty"),
        ("<calibration source", "<calib source", "not a Qualisys calibration"),
        ("<cameras>", "<cameras/><other>", "no <camera>"),
    ],
)
def test_bad_qualisys_files(tmp_path, old, new, message):
    if old == "<calibration source":
        text = QCA_ONE_CAMERA.replace(old, new).replace("</calibration>", "</calib>")
    elif old == "<cameras>":
        text = QCA_ONE_CAMERA.replace(old, new).replace("</cameras>", "</other>")
    else:
        text = QCA_ONE_CAMERA.replace(old, new)
    assert text != QCA_ONE_CAMERA
    path = tmp_path / "lab.qca.txt"
    path.write_text(text)
    with pytest.raises(CalibrationError, match=message) as info:
        read_qualisys(path)
    assert str(info.value).startswith(f"{path}: ")


def test_qualisys_repeated_serials(tmp_path):
    camera = QCA_ONE_CAMERA[QCA_ONE_CAMERA.index("    <camera "):QCA_ONE_CAMERA.index("  </cameras>")]
    path = tmp_path / "two.qca.txt"
    path.write_text(QCA_ONE_CAMERA.replace("  </cameras>", camera + "  </cameras>"))
    with pytest.raises(CalibrationError, match="repeated: 'cam01'"):
        read_qualisys(path)


# --- Qualisys: the real Pose2Sim demo lab ---------------------------------------------------------


def _subject_keypoints(folder):
    """(C, T, 25, 3) OpenPose BODY_25B x, y, confidence of the biggest person in each view."""
    views = []
    for json_folder in sorted(folder.glob("pose2d_openpose_body25b/cam*_json")):
        frames = []
        for file in sorted(json_folder.glob("*.json")):
            people = [np.reshape(p["pose_keypoints_2d"], (25, 3)) for p in json.loads(file.read_text())["people"]]

            def box_area(person):
                seen = person[person[:, 2] > 0]
                return np.ptp(seen[:, 0]) * np.ptp(seen[:, 1]) if len(seen) else 0.0

            frames.append(max(people, key=box_area) if people else np.zeros((25, 3)))
        views.append(frames)
    return np.array(views, dtype=float)


def _triangulate_dlt(group, xy):
    """Linear triangulation of (C, N, 2) pixels (NaN = unseen) → (N, 3); NaN if seen < 2 times."""
    normalized = group.undistort_points(xy)
    P = group.extrinsic_matrices()[:, None]  # (C, 1, 3, 4)
    rows = np.concatenate([normalized[..., :1] * P[..., 2, :] - P[..., 0, :], normalized[..., 1:] * P[..., 2, :] - P[..., 1, :]])
    seen = np.isfinite(rows).all(axis=-1)  # (2C, N)
    rows = np.where(seen[..., None], rows, 0.0).transpose(1, 0, 2)
    _, _, vt = np.linalg.svd(rows)
    X = vt[:, -1, :3] / vt[:, -1, 3:]
    X[seen.sum(axis=0) < 4] = np.nan
    return X


def _median_reprojection_error(group, xy):
    X = _triangulate_dlt(group, xy)
    errors = np.linalg.norm(group.project(X) - xy, axis=-1)
    return np.nanmedian(errors), np.nanmedian(errors, axis=1), X


@pytest.mark.realdata
def test_qualisys_demo_lab_reprojects_openpose(pose2sim_demo):
    group = load_calibration(pose2sim_demo / "calibration" / "Calib.qca.txt")
    assert group.names == ["cam01", "cam02", "cam03", "cam04"]
    _check_cam01(group["cam01"])
    for camera in group:
        np.testing.assert_allclose(camera.R @ camera.R.T, np.eye(3), atol=1e-12)
        # The subject stands near the world origin: in front of every camera, inside its image.
        depth = camera.to_camera([0.0, 0.0, 1.0])[2]
        u, v = camera.project([0.0, 0.0, 1.0])
        assert 2.0 < depth < 5.0 and 0 <= u < camera.size[0] and 0 <= v < camera.size[1]

    keypoints = _subject_keypoints(pose2sim_demo)
    assert keypoints.shape == (4, 100, 25, 3)
    xy = np.where(keypoints[..., 2:] >= 0.3, keypoints[..., :2], np.nan).reshape(4, -1, 2)
    median, per_camera, X = _median_reprojection_error(group, xy)
    # The correct convention gives a 12.4 px median (per camera 16, 8, 18, 10 px: OpenPose joints on
    # 1920 px tall images, the subject cut by the edge of cam03); any other axis flip gives > 70 px.
    assert median < 15.0 and np.all(per_camera < 25.0)
    # Z up, metres: the subject's body centre is about 1 m above the floor, near the origin.
    centre = np.nanmedian(X, axis=0)
    assert np.hypot(*centre[:2]) < 1.5 and 0.5 < centre[2] < 1.3
    # The check can tell conventions apart: a half turn about y instead of x (image mirrored).
    flip = np.diag([-1.0, 1.0, -1.0]) @ np.diag([1.0, -1.0, -1.0])
    wrong = CameraGroup(tuple(c.with_pose(flip @ c.R, flip @ c.tvec) for c in group))
    assert _median_reprojection_error(wrong, xy)[0] > 50.0


@pytest.mark.realdata
def test_qualisys_demo_lab_file_dispatch_and_toml_round_trip(pose2sim_demo, tmp_path):
    qca = pose2sim_demo / "calibration" / "Calib.qca.txt"
    group = read_qualisys(qca)
    # Pose2Sim's own conversion of this file (its Calib_qualisys.toml) has the same poses.
    np.testing.assert_allclose(group["cam01"].rvec, [1.6882754799999993, 1.0483220499999997, -0.41955852000000016], atol=1e-7)
    np.testing.assert_allclose(group["cam03"].tvec, [-0.7934803899999995, 0.32283594000000126, 4.353514870000001], atol=1e-7)
    sniffed = tmp_path / "lab_export.xml"
    shutil.copyfile(qca, sniffed)
    _assert_same_cameras(group, load_calibration(sniffed), atol=0)
    back = load_calibration(save_calibration(group, tmp_path / "lab.toml"))
    _assert_same_cameras(group, back, atol=0)
    assert back.metadata["avg_residual"] == [0.402, 0.444749, 0.450323, 0.504772]
    points = _points(seed=8) + [0.0, 0.0, 1.0]
    np.testing.assert_allclose(back.project(points), group.project(points), atol=1e-9)

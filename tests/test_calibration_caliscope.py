"""caliscope's calibration files: both of its layouts read, ours written and read back."""

import numpy as np
import pytest

import calibration
from calibration import CalibrationError, load_calibration
from mocap.synthetic import camera_ring

CURRENT = """
[cameras.0]
cam_id = 0
size = [1280, 720]
rotation_count = 0
error = 0.31
matrix = [[903.5, 0.0, 618.3], [0.0, 907.8, 394.2], [0.0, 0.0, 1.0]]
distortions = [-0.332, 0.046, -0.004, 0.004, 0.066]
translation = [0.0, 0.0, 0.0]
rotation = [0.0, 0.0, 0.0]
exposure = -6
grid_count = 1200
fisheye = false

[cameras.1]
cam_id = 1
size = [1280, 720]
rotation_count = 0
matrix = [[910.0, 0.0, 640.5], [0.0, 911.0, 355.0], [0.0, 0.0, 1.0]]
distortions = [-0.30, 0.05, 0.0, 0.0, 0.0]
translation = [[-0.62], [0.03], [0.21]]
rotation = [[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]

[cameras.2]
cam_id = 2
size = [1280, 720]
matrix = [[900.0, 0.0, 640.0], [0.0, 900.0, 360.0], [0.0, 0.0, 1.0]]
distortions = [0.0, 0.0, 0.0, 0.0, 0.0]
"""

LEGACY = """
[charuco]
columns = 4
rows = 5

[cam_0]
port = 0
size = [640, 480]
matrix = [[600.0, 0.0, 330.0], [0.0, 601.0, 242.0], [0.0, 0.0, 1.0]]
distortions = [-0.1, 0.02, 0.0, 0.0, 0.0]
rotation = [0.1, 0.2, 0.3]
translation = [0.5, -0.1, 2.0]
ignore = false

[cam_1]
port = 1
size = [640, 480]
matrix = [[600.0, 0.0, 320.0], [0.0, 600.0, 240.0], [0.0, 0.0, 1.0]]
distortions = [0.0, 0.0, 0.0, 0.0, 0.0]
rotation = [0.0, 0.0, 0.0]
translation = [0.0, 0.0, 0.0]
ignore = true
"""


def test_current_layout_matrix_or_rodrigues_and_column_translation(tmp_path):
    path = tmp_path / "camera_array.toml"
    path.write_text(CURRENT)
    group = load_calibration(path)
    assert list(group.names) == ["cam_0", "cam_1"]  # cam_2 has no extrinsics yet: left out
    cam1 = group["cam_1"]
    np.testing.assert_allclose(cam1.R, [[0, 0, -1], [0, 1, 0], [1, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(cam1.tvec, [-0.62, 0.03, 0.21])
    np.testing.assert_allclose(group["cam_0"].dist, [-0.332, 0.046, -0.004, 0.004, 0.066])
    # A point 2 m in front of camera 0 projects as its own matrix says.
    np.testing.assert_allclose(group["cam_0"].project(np.array([0.0, 0.0, 2.0])), [618.3, 394.2], atol=1e-9)


def test_legacy_config_skips_ignored_cameras_and_other_tables(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(LEGACY)
    group = load_calibration(path)
    assert list(group.names) == ["cam_0"]
    np.testing.assert_allclose(group[0].rvec, [0.1, 0.2, 0.3])
    np.testing.assert_allclose(group[0].matrix[1, 1], 601.0)


def test_export_then_read_back_is_exact(tmp_path):
    group = camera_ring(4, seed=12)
    path = calibration.export_calibration(group, tmp_path / "camera_array.toml", "caliscope")
    text = path.read_text()
    assert "[cameras.3]" in text and "cam_id: 0 = cam01" in text
    back = load_calibration(path)
    points = np.random.default_rng(0).uniform(-1, 1, (50, 3)) + [0, 0, 1]
    np.testing.assert_allclose(back.project(points), group.project(points), atol=1e-9)


def test_caliscope_file_without_posed_cameras_is_refused(tmp_path):
    path = tmp_path / "camera_array.toml"
    path.write_text(CURRENT.split("[cameras.2]")[0].replace("translation", "#").replace("rotation =", "#") +
                    "[cameras.2]\ncam_id = 2\nsize = [4, 4]\n")
    with pytest.raises(CalibrationError, match="without any posed camera") as err:
        load_calibration(path)
    assert str(path) in str(err.value)

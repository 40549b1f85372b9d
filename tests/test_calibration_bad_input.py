"""Every bad input of ``mocap calibrate``: a clear one-line error naming the camera/file, exit 2,
and no calibration file written."""

import cv2
import numpy as np
import pytest

from calibration.boards import CharucoBoard
from calibration.synthetic import BoardRenderer, board_poses
from calibration import load_calibration
from mocap.cli import main
from mocap.synthetic import camera_ring

BOARD = CharucoBoard((7, 5), 0.1, 0.075, "DICT_4X4_50")
FLAGS = ["--board", "charuco", "--squares", "7x5", "--square-size", "0.1", "--marker-size", "0.075"]
FLAGS_TOML = 'board = "charuco"\nsquares = "7x5"\nsquare_size = 0.1\nmarker_size = 0.075\n'


@pytest.fixture(scope="module")
def views():
    """Two opposite cameras (never sharing a view), 8 rendered views each."""
    rig = camera_ring(2, radius=1.5, height=1.3, target=(0, 0, 1.0), size=(480, 360), seed=4)
    renderer = BoardRenderer(BOARD, pixels_per_square=60)
    out = {}
    for ci, cam in enumerate(rig):
        poses = board_poses(cam.position[None], BOARD, 8, spread=0.5, tilt_deg=40, seed=10 + ci)
        out[cam.name] = {f"{100 * ci + i:03d}": renderer.render(cam, *p, rng=np.random.default_rng(i)) for i, p in enumerate(poses)}
    return out


def _write(folder, views, names=None, count=None):
    for name, imgs in views.items():
        if names and name not in names:
            continue
        (folder / name).mkdir(parents=True, exist_ok=True)
        for key, img in list(imgs.items())[:count]:
            cv2.imwrite(str(folder / name / f"{key}.png"), img)
    return folder


def _run(folder, tmp_path, capsys, *extra):
    out = tmp_path / "calibration.toml"
    code = main(["calibrate", str(folder), *FLAGS, *extra, "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert not out.exists() and not any(tmp_path.glob(".calibration*"))
    assert "Traceback" not in err
    return err


def test_wrong_dictionary_says_which_camera_and_why(views, tmp_path, capsys):
    folder = _write(tmp_path / "c", views)
    err = _run(folder, tmp_path, capsys, "--dictionary", "DICT_6X6_50")
    assert "cam01" in err and "8 pictures tried" in err and "dictionary" in err


def test_wrong_board_size(views, tmp_path, capsys):
    folder = _write(tmp_path / "c", views, count=3)
    out = tmp_path / "calibration.toml"
    code = main(["calibrate", str(folder), "--board", "checkerboard", "--squares", "9x6", "--square-size", "0.1",
                 "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "no board found" in err and "inner corners" in err and not out.exists()


def test_too_few_views(views, tmp_path, capsys):
    folder = _write(tmp_path / "c", views, count=3)
    err = _run(folder, tmp_path, capsys)
    assert "cam01" in err and "only 3 usable board views" in err


def test_cameras_never_seeing_the_board_together_are_named(views, tmp_path, capsys):
    folder = _write(tmp_path / "c", views)
    err = _run(folder, tmp_path, capsys)
    assert "cam02" in err and "never saw the board at the same time as cameras cam01" in err


def test_intrinsics_only_works_without_shared_views(views, tmp_path):
    folder = _write(tmp_path / "c", views)
    out = tmp_path / "calibration.toml"
    assert main(["calibrate", str(folder), *FLAGS, "--intrinsics-only", "--no-report", "-o", str(out)]) == 0
    assert out.is_file()


def test_corrupt_image(views, tmp_path, capsys):
    folder = _write(tmp_path / "c", views)
    (folder / "cam02" / "999.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    err = _run(folder, tmp_path, capsys)
    assert "999.png" in err and "cannot decode" in err


def test_inconsistent_image_sizes(views, tmp_path, capsys):
    folder = _write(tmp_path / "c", views)
    cv2.imwrite(str(folder / "cam01" / "999.png"), np.zeros((100, 120), np.uint8))
    err = _run(folder, tmp_path, capsys)
    assert "999.png" in err and "120×100" in err and "differs" in err


def test_corrupt_video(tmp_path, capsys):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "cam01.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 garbage" * 10)
    err = _run(folder, tmp_path, capsys)
    assert "cam01.mp4" in err and ("cannot open" in err or "no frame" in err)


def test_empty_folder_and_bad_settings(tmp_path, capsys):
    (tmp_path / "c").mkdir()
    err = _run(tmp_path / "c", tmp_path, capsys)
    assert "holds no camera" in err
    (tmp_path / "session.toml").write_text('[calibration]\nsquares = "7x5"\nsquare_sise = 0.1\n')
    err = _run(tmp_path / "c", tmp_path, capsys)
    assert "session.toml" in err and "square_sise" in err


def test_settings_from_session_toml(views, tmp_path):
    """The session's [calibration] table is used: its fisheye = true (not the default) shows in the result."""
    folder = _write(tmp_path / "c", views)
    (folder / "session.toml").write_text('[calibration]\nboard = "charuco"\nsquares = "7x5"\nsquare_size = 0.1\n'
                                         'marker_size = 0.075\ndictionary = "DICT_4X4_50"\nfisheye = true\n')
    out = tmp_path / "calibration.toml"
    assert main(["calibrate", str(folder), "--intrinsics-only", "--no-report", "-o", str(out)]) == 0
    assert all(cam.fisheye for cam in load_calibration(out))
    (folder / "session.toml").write_text('[calibration]\nfisheye = false\n' + FLAGS_TOML)
    assert main(["calibrate", str(folder), "--intrinsics-only", "--no-report", "-o", str(out)]) == 0
    assert not any(cam.fisheye for cam in load_calibration(out))


def _write_videos(views, folder, *, fps, blanks):
    """One MJPG video per camera: each board picture followed by ``blanks`` frames without it."""
    folder.mkdir()
    for name, imgs in views.items():
        frames = list(imgs.values())
        h, w = frames[0].shape
        writer = cv2.VideoWriter(str(folder / f"{name}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
        for img in frames:
            writer.write(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
            for _ in range(blanks):
                writer.write(np.full((h, w, 3), 110, np.uint8))
        writer.release()
    return folder


def test_videos_sampled_every_other_frame(views, tmp_path):
    """One video per camera (file stem = camera name); --every 2 keeps frames 0, 2, 4…"""
    folder = _write_videos(views, tmp_path / "videos", fps=10, blanks=1)  # odd frames: no board
    from calibration.pipeline import calibrate_folder

    out = tmp_path / "calibration.toml"
    result = calibrate_folder(folder, BOARD, out, intrinsics_only=True, step=2, report=False)
    for name in views:
        assert len(result.detections[name]) == 8  # 16 frames, every other one
        assert all(d is not None for d in result.detections[name].values())
        assert sorted(result.detections[name])[:2] == ["000000", "000002"]
    assert out.is_file()


def test_videos_sampled_at_a_rate(views, tmp_path):
    # The board every third frame, at 30 fps: sampling at 10 fps sees it each time.
    folder = _write_videos(views, tmp_path / "videos", fps=30, blanks=2)
    out = tmp_path / "calibration.toml"
    assert main(["calibrate", str(folder), *FLAGS, "--rate", "10", "--intrinsics-only", "--no-report",
                 "-o", str(out)]) == 0
    group = load_calibration(out)
    assert group.names == ["cam01", "cam02"]
    from calibration.pipeline import detect_all

    detections, _ = detect_all(folder, BOARD, rate=10)
    for name in views:  # frames 0, 3, 6, ...: the board in every sampled frame
        assert len(detections[name]) == 8 and all(d is not None for d in detections[name].values())

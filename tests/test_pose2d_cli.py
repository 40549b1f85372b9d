"""``mocap pose2d`` and ``mocap models`` end to end on short real clips (written here from the
Pose2Sim demo videos), with the real detector and a blob-finding pose model built here."""

import json
import warnings

import cv2
import numpy as np
import pytest

from mocap.cli import main
from mocap.data import Keypoints2D
from mocap.io import read_openpose_json
from mocap.pose2d.testmodels import blob_simcc_model
from mocap.skeleton import INDEX
from mocap.video import VideoReader

N = 6


@pytest.fixture(scope="module")
def session(pose2sim_demo, tmp_path_factory):
    """DIR/videos/cam01.mp4, cam03.mp4: the first N frames at half size."""
    root = tmp_path_factory.mktemp("session")
    (root / "videos").mkdir()
    for cam in ("cam01", "cam03"):
        r = VideoReader(pose2sim_demo / "videos" / f"{cam}.mp4")
        vw = None
        for _, frame in r.frames(stop=N):
            small = cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2))
            if vw is None:
                vw = cv2.VideoWriter(str(root / "videos" / f"{cam}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 60,
                                     (small.shape[1], small.shape[0]))
            vw.write(small)
        vw.release()
    return root


@pytest.fixture(scope="module")
def detector_dir(pose2sim_demo):
    return str(pose2sim_demo.parents[1] / "models" / "rtmdet_nano_person")


def test_rtmw_session_with_openpose_and_overlay(session, detector_dir, tmp_path, capsys):
    model = blob_simcc_model(tmp_path / "blob.onnx", input_size=(192, 256))
    rc = main(["--quiet", "pose2d", str(session), "--backend", "rtmw", "--model", str(model), "--detector", detector_dir,
               "--device", "cpu", "--openpose", "body_25b", "--overlay", "images", "--pose-maps"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "rtmw on cpu" in out and "cam01: found in % of frames: person 100%" in out
    kp = Keypoints2D.load(session / "output" / "pose2d.npz")
    assert kp.camera_names == ("cam01", "cam03") and kp.n_frames == N and kp.fps == 60
    assert kp.xy.shape[3:] == (133, 2) and np.all(kp.image_sizes == [[540, 960], [544, 960]])
    assert kp.n_persons >= 2                    # cam01 has the subject and a bystander
    assert (kp.score[:, :, 0] > 0).all()        # slot 0 (first track) found in every frame
    # OpenPose export reads back to the same body keypoints
    back = read_openpose_json([session / "output" / "openpose" / f"{c}_json" for c in kp.camera_names],
                              layout="body_25b", progress=False)
    assert back.xy.shape[:2] == (2, N)
    body = slice(0, 17)
    a, b = kp.xy[:, :, 0, body], back.xy[:, :, 0, body]
    assert np.nanmax(np.abs(a - b)) < 1e-3
    first = json.loads(sorted((session / "output" / "openpose" / "cam01_json").glob("*.json"))[0].read_text())
    assert len(first["people"][0]["pose_keypoints_2d"]) == 25 * 3
    assert len(first["people"][0]["face_keypoints_2d"]) == 70 * 3
    assert len(sorted((session / "output" / "overlay" / "cam03").glob("*.jpg"))) == N
    maps = sorted((session / "output" / "pose_maps" / "cam01").glob("*.png"))
    assert [m.name for m in maps] == [f"{t:06d}.png" for t in range(N)]
    pm = cv2.imread(str(maps[0]))
    assert pm.shape == (960, 540, 3) and (pm == 0).all(-1).mean() > 0.9  # black, skeletons drawn on it


def test_mediapipe_videos_to_output(session, tmp_path, capsys):
    pytest.importorskip("mediapipe")
    out = tmp_path / "out"
    rc = main(["--quiet", "pose2d", "--video", str(session / "videos" / "cam03.mp4"), "--backend", "mediapipe",
               "-o", str(out), "--stop", "3", "--overlay", "video"])
    assert rc == 0
    kp = Keypoints2D.load(out / "pose2d.npz")
    assert kp.xy.shape == (1, 3, 1, 133, 2)
    assert np.isfinite(kp.xy[0, :, 0, :17]).all()
    assert np.isnan(kp.xy[0, :, 0, INDEX["left_small_toe"]]).all()  # MediaPipe has no small toes
    overlay = VideoReader(out / "overlay" / "cam03_overlay.mp4")
    assert overlay.info.n_frames == 3


def test_no_person_in_whole_video_warns_with_camera_name(tmp_path, detector_dir):
    videos = tmp_path / "s" / "videos"
    videos.mkdir(parents=True)
    vw = cv2.VideoWriter(str(videos / "empty_room.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 240))
    for _ in range(3):
        vw.write(np.full((240, 320, 3), 40, np.uint8))
    vw.release()
    model = blob_simcc_model(tmp_path / "blob.onnx", input_size=(48, 64))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        rc = main(["--quiet", "pose2d", str(tmp_path / "s"), "--backend", "rtmw", "--model", str(model),
                   "--detector", detector_dir, "--device", "cpu"])
    assert rc == 0
    assert any("empty_room" in str(x.message) and "no person found" in str(x.message) for x in w)
    kp = Keypoints2D.load(tmp_path / "s" / "output" / "pose2d.npz")
    assert kp.xy.shape == (1, 3, 1, 133, 2) and np.isnan(kp.xy).all() and (kp.score == 0).all()


def test_bad_inputs_exit_2_naming_the_file(tmp_path, detector_dir, capsys):
    (tmp_path / "zero.mp4").write_bytes(b"")
    assert main(["pose2d", "--video", str(tmp_path / "zero.mp4"), "-o", str(tmp_path / "o")]) == 2
    assert "zero.mp4: video file is empty" in capsys.readouterr().err
    (tmp_path / "v").mkdir()
    vw = cv2.VideoWriter(str(tmp_path / "v" / "a.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    vw.write(np.zeros((48, 64, 3), np.uint8))
    vw.release()
    (tmp_path / "junk.onnx").write_bytes(b"\x00junk")
    assert main(["pose2d", "--video", str(tmp_path / "v" / "a.avi"), "-o", str(tmp_path / "o"), "--backend", "rtmw",
                 "--model", str(tmp_path / "junk.onnx"), "--detector", detector_dir]) == 2
    assert "junk.onnx: not a loadable ONNX model" in capsys.readouterr().err
    assert main(["pose2d", "--video", str(tmp_path / "v" / "a.avi")]) == 2
    assert "-o OUT" in capsys.readouterr().err
    assert main(["pose2d", str(tmp_path / "nothing_here")]) == 2
    assert "nothing_here: folder not found" in capsys.readouterr().err


def test_models_cli_list_and_import(tmp_path, monkeypatch, detector_dir, capsys):
    monkeypatch.setenv("MOCAP_MODELS_DIR", str(tmp_path / "cache"))
    assert main(["models", "import", detector_dir, "--name", "rtmdet-nano-person", "--kind", "detector"]) == 0
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "cache") in out
    line = next(x for x in out.splitlines() if x.startswith("  rtmdet-nano-person"))
    assert "installed" in line and "320x320" in line
    assert main(["models", "pull", "no-such-model"]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err

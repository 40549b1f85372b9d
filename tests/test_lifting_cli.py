"""``mocap lift`` end to end on a short real clip (cam01 of the Pose2Sim demo, written here), with
the real person detector and an RTMW3D-signature model built here whose answer is a known body:
its three SimCC outputs peak at fixed bins, so every crop decodes to the same crop coordinates and
root-relative depths. Bad input goes through a real subprocess."""

import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from lifting import RTMW3D_Z_RANGE, root_of, stature
from lifting.body import HAND_SHARE, hand_lengths
from mocap.data import SOURCE_LIFTED, Keypoints3D
from mocap.lift import LiftedViews
from mocap.pose2d.testmodels import blob_simcc_model
from mocap.synthetic import human_motion
from mocap.video import VideoReader

N = 4
SIZE = (96, 128)  # W, H of the test model's input
RATIO = 2


def constant_body_model(path):
    """An RTMW3D-signature model whose outputs are one body whatever the crop: the synthetic
    person seen from the front, filling the crop. Returns (path, crop xy (133, 2), depth (133,))."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    body = human_motion(1, seed=0)[0]
    u = SIZE[0] / 2 - 52 * body[:, 1]             # the person's left to the image's right
    v = SIZE[1] / 2 - 52 * (body[:, 2] - 0.9)     # up is up
    depth = -(body[:, 0] - body[[11, 12], 0].mean())  # facing the camera: forward is nearer
    n_z = SIZE[0] * RATIO
    bins = [np.clip(np.round(u * RATIO), 0, SIZE[0] * RATIO - 1).astype(int),
            np.clip(np.round(v * RATIO), 0, SIZE[1] * RATIO - 1).astype(int),
            np.round((depth / RTMW3D_Z_RANGE + 1) * n_z / 2).astype(int)]
    names, inits, nodes = ("simcc_x", "simcc_y", "simcc_z"), [], []
    nodes.append(helper.make_node("ReduceMax", ["input"], ["m"], axes=[1, 2, 3], keepdims=0))
    inits.append(numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "axes"))
    nodes += [helper.make_node("Unsqueeze", ["m", "axes"], ["m3"]),
              helper.make_node("Mul", ["m3", "zero"], ["z3"])]
    inits.append(numpy_helper.from_array(np.zeros(1, np.float32), "zero"))
    outs = []
    for name, b, n in zip(names, bins, (SIZE[0] * RATIO, SIZE[1] * RATIO, n_z)):
        table = np.zeros((1, 133, n), np.float32)
        table[0, np.arange(133), b] = 1.0
        inits.append(numpy_helper.from_array(table, f"{name}_table"))
        nodes.append(helper.make_node("Add", ["z3", f"{name}_table"], [name]))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", 133, n]))
    graph = helper.make_graph(nodes, "constant_body",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, SIZE[1], SIZE[0]])],
                              outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    decoded_depth = (2.0 * bins[2] / n_z - 1.0) * RTMW3D_Z_RANGE
    return path, np.stack(bins[:2], -1) / RATIO, decoded_depth


@pytest.fixture(scope="module")
def clip_session(pose2sim_demo, tmp_path_factory):
    """DIR/videos/cam01.mp4 (the first N frames at half size) and the model and detector to lift it."""
    root = tmp_path_factory.mktemp("lift_session")
    (root / "videos").mkdir()
    reader = VideoReader(pose2sim_demo / "videos" / "cam01.mp4")
    writer = None
    for _, frame in reader.frames(stop=N):
        small = cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2))
        if writer is None:
            writer = cv2.VideoWriter(str(root / "videos" / "cam01.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 60,
                                     (small.shape[1], small.shape[0]))
        writer.write(small)
    writer.release()
    model, crop_xy, depth = constant_body_model(tmp_path_factory.mktemp("model") / "body3d.onnx")
    detector = pose2sim_demo.parents[1] / "models" / "rtmdet_nano_person"
    return root, model, str(detector), depth


def _mocap(*args):
    return subprocess.run([sys.executable, "-m", "mocap.cli", "--quiet", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def test_uncalibrated_camera_gives_root_relative_3d_with_a_warning(clip_session, tmp_path):
    root, model, detector, depth = clip_session
    session = tmp_path / "s"
    shutil.copytree(root, session)
    run = _mocap("lift", session, "--model", model, "--detector", detector, "--device", "cpu")
    assert run.returncode == 0, run.stderr
    assert "mocap: warning: camera cam01 has no calibration" in run.stderr and "root-relative" in run.stderr
    assert "height 1.70 m (a typical adult's" in run.stdout and "world frame 'unaligned'" in run.stdout
    kp = Keypoints3D.load(session / "output" / "pose3d.npz")
    views = LiftedViews.load(session / "output" / "lifted.npz")
    assert kp.world_frame == "unaligned" and kp.n_frames == N and kp.camera_names == ("cam01",)
    assert not (session / "output" / "pose3d.trc").exists()
    assert views.rel_kind == "depth" and views.backend.startswith("rtmw3d")
    found = np.isfinite(kp.xyz[..., 0]).all(-1)  # (T, P): the subject (and the bystander) in every frame
    assert found[:, 0].all()
    xyz = kp.xyz[found]
    np.testing.assert_allclose(root_of(xyz), 0.0, atol=1e-9)          # the hips' midpoint at the origin
    np.testing.assert_allclose(stature(xyz), 1.70, rtol=1e-6)          # scaled to the typical height
    # the body's depth differences are the model's decoded depths exactly (its hips average to depth 0)
    expected = depth - depth[[11, 12]].mean()
    np.testing.assert_allclose(xyz[..., :23, 2], np.broadcast_to(expected[:23], xyz[..., :23, 2].shape), atol=1e-9)
    np.testing.assert_allclose(hand_lengths(xyz), HAND_SHARE * 1.70, rtol=3e-3)  # hands at the body scale
    assert np.all(kp.source[found] == SOURCE_LIFTED) and np.all(kp.n_views[found] == 1)


def test_calibrated_camera_is_placed_in_the_world(clip_session, pose2sim_demo, tmp_path):
    root, model, detector, _ = clip_session
    session = tmp_path / "s"
    shutil.copytree(root, session)
    (session / "calibration").mkdir()
    shutil.copy(pose2sim_demo / "calibration" / "Calib.qca.txt", session / "calibration")
    run = _mocap("lift", session, "--model", model, "--detector", detector, "--device", "cpu", "--height", "1.8")
    assert run.returncode == 0, run.stderr
    assert "no calibration" not in run.stderr and "height 1.80 m (given)" in run.stdout
    kp = Keypoints3D.load(session / "output" / "pose3d.npz")
    assert kp.world_frame == "z_up" and (session / "output" / "pose3d.trc").is_file()
    subject = kp.xyz[:, 0]
    assert np.isfinite(subject[..., :17, :]).all()
    assert np.allclose(stature(subject), 1.8, rtol=0.02)
    # in front of cam01, between the floor and the camera's height (1.9 m)
    assert np.all((root_of(subject)[:, 2] > 0.3) & (root_of(subject)[:, 2] < 1.9))
    seen = kp.score[:, 0] >= 0.3
    assert np.nanmedian(kp.reproj_error[:, 0][seen]) < 1.0  # confident points sit on their 2D rays
    # placed again from the lifted views written beside (no model run), on the floor, height measured
    calibration = session / "calibration" / "Calib.qca.txt"
    again = _mocap("lift", session / "output" / "lifted.npz", "--calibration", calibration,
                   "--world-frame", "floor", "-o", tmp_path / "again")
    assert again.returncode == 0, again.stderr
    assert "measured with the feet on the floor" in again.stdout and "wrote" in again.stdout
    on_floor = Keypoints3D.load(tmp_path / "again" / "pose3d.npz")
    assert on_floor.world_frame == "floor"
    lowest = np.nanmin(on_floor.xyz[:, 0, 15:23, 2], axis=-1)
    assert np.all(np.abs(lowest - 0.035) < 0.05)  # the lowest foot point at about its clearance


def test_bad_inputs_exit_2_and_say_why(clip_session, tmp_path):
    root, _, detector, _ = clip_session
    two = blob_simcc_model(tmp_path / "two_outputs.onnx", input_size=SIZE)
    run = _mocap("lift", root, "--model", two, "--detector", detector, "--device", "cpu", "-o", tmp_path / "out")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "two_outputs.onnx" in run.stderr and "expected one input (N, 3, H, W) and three outputs" in run.stderr
    assert "simcc_z" in run.stderr
    # 2D keypoints alone hold nothing to lift
    from mocap.synthetic import synthetic_session

    _, kp2d, _ = synthetic_session(5)
    kp2d.save(tmp_path / "pose2d.npz")
    run = _mocap("lift", tmp_path / "pose2d.npz")
    assert run.returncode == 2 and "pose2d.npz: holds 2D keypoints only" in run.stderr
    run = _mocap("lift", tmp_path / "missing")
    assert run.returncode == 2 and "missing: not found" in run.stderr

"""RTMW3D-style decoding on ONNX models built here whose outputs are known (the blob models of
mocap.pose2d.testmodels): x/y land on the blob drawn in the image, z is the depth the codec maps
the blob's crop column to; the depth bins are the model's own (not the crop height)."""

import numpy as np
import pytest

from lifting.rtmw3d import RTMW3D_Z_RANGE, decode_simcc_depth, skeleton_from_depth
from lifting.body import root_of, stature
from mocap.errors import InputFileError
from mocap.pose2d.rtmw import RTMWBackend, SimCCPoseModel
from mocap.pose2d.rtmw3d import Poses3D, RTMW3DBackend, SimCC3DPoseModel
from mocap.pose2d.testmodels import blob_simcc3d_model, blob_simcc_model, draw_blob

SIZE = (96, 128)  # model input W, H (small: the test is about the geometry, not the network)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rtmw3d")
    return {"rtmw3d": blob_simcc3d_model(folder / "blob3d.onnx", input_size=SIZE),
            "odd_bins": blob_simcc3d_model(folder / "odd.onnx", input_size=SIZE, depth_bins=150),
            "fixed": blob_simcc3d_model(folder / "fixed.onnx", input_size=SIZE, batch=2),
            "named_otherwise": blob_simcc3d_model(folder / "anon.onnx", input_size=SIZE,
                                                  output_names=("a", "b", "c")),
            "2d": blob_simcc_model(folder / "blob2d.onnx", input_size=SIZE)}


def test_depth_decoding_is_exact_and_uses_the_output_bins():
    rng = np.random.default_rng(0)
    for n_bins in (576, 150):  # RTMW3D-l: D = 288 crop columns x split ratio 2
        logits = rng.random((3, 133, n_bins)).astype(np.float32)
        peak = rng.integers(0, n_bins, (3, 133))
        np.put_along_axis(logits, peak[..., None], 5.0, axis=-1)
        z = decode_simcc_depth(logits)
        np.testing.assert_array_equal(z, (2.0 * peak / n_bins - 1.0) * RTMW3D_Z_RANGE)
    # mmpose's codec: z = (bin / k / (D / 2) - 1) * z_range with D = 288, k = 2; the centre bin is depth 0
    logits = np.zeros((1, 1, 576))
    logits[0, 0, 288] = 1
    assert decode_simcc_depth(logits)[0, 0] == 0.0
    logits[0, 0, 288], logits[0, 0, 432] = 0, 1
    assert decode_simcc_depth(logits)[0, 0] == pytest.approx((432 / 2 / 144 - 1) * RTMW3D_Z_RANGE)
    # a port dividing by half the crop height (384 / 2) instead would say 0.75x this minus 0.25 z_range
    wrong = (432 / 2 / 192 - 1) * RTMW3D_Z_RANGE
    assert abs(decode_simcc_depth(logits)[0, 0] - wrong) > 0.5


def _scene(rng, n_images=3):
    images, boxes, truth = [], [], []
    for i in range(n_images):
        img = np.zeros((480, 640, 3), np.uint8)
        bxs = [(40 + 200 * j, 60 + 20 * i, 160 + 200 * j, 220 + 20 * i) for j in range(i % 3 + 1)]
        t = []
        for x1, y1, x2, y2 in bxs:
            x, y = rng.uniform(x1 + 20, x2 - 20), rng.uniform(y1 + 30, y2 - 30)
            draw_blob(img, x, y, sigma=3.0)
            t.append((x, y))
        images.append(img)
        boxes.append(np.array(bxs, float))
        truth.append(np.array(t))
    return images, boxes, truth


@pytest.mark.parametrize("name,max_batch", [("rtmw3d", None), ("rtmw3d", 2), ("odd_bins", None), ("fixed", None),
                                            ("named_otherwise", None)])
def test_backend_decodes_xy_and_depth(models, name, max_batch):
    rng = np.random.default_rng(3)
    images, boxes, truth = _scene(rng)
    backend = RTMW3DBackend(SimCC3DPoseModel(models[name]), max_batch=max_batch)
    poses = backend.process(images, boxes)
    n = sum(len(b) for b in boxes)
    step = 2 if (max_batch or name == "fixed") else n
    assert backend.last_batch_sizes == [min(step, n - i) for i in range(0, n, step)]
    n_bins = backend.pose.output_shapes[2][-1]
    assert n_bins == (150 if name == "odd_bins" else 2 * SIZE[0])
    for p, b, t in zip(poses, boxes, truth):
        assert isinstance(p, Poses3D) and p.depth.shape == (len(b), 133, 1)
        assert np.abs(p.xy - t[:, None]).max() < 1.0  # image pixels (crops shrink the image < 2x)
        # the blob's crop column u decodes to the depth (2 u / W - 1) z_range, within one depth bin
        center = (b[:, :2] + b[:, 2:4]) / 2
        width = np.maximum(b[:, 2] - b[:, 0], (b[:, 3] - b[:, 1]) * SIZE[0] / SIZE[1]) * 1.25
        u = (t[:, 0] - center[:, 0]) * SIZE[0] / width + SIZE[0] / 2
        expected = (2 * u / SIZE[0] - 1) * RTMW3D_Z_RANGE
        assert np.abs(p.depth[..., 0] - expected[:, None]).max() <= 2 * RTMW3D_Z_RANGE / n_bins


def test_2d_behaviour_unchanged_by_the_3d_path(models):
    """The 3D backend's x/y are exactly those of the 2D backend on the same crops; its confidence is
    the smaller axis maximum (mmpose's RTMW3D decoder), never above the 2D backend's mean."""
    rng = np.random.default_rng(5)
    images, boxes, _ = _scene(rng)
    p3 = RTMW3DBackend(SimCC3DPoseModel(models["rtmw3d"])).process(images, boxes)
    p2 = RTMWBackend(SimCCPoseModel(models["2d"])).process(images, boxes)
    for a, b in zip(p3, p2):
        np.testing.assert_array_equal(a.xy, b.xy)
        assert np.all(a.score <= b.score + 1e-12)
    empty = RTMW3DBackend(SimCC3DPoseModel(models["rtmw3d"])).process([images[0]], [np.zeros((0, 4))])
    assert len(empty[0]) == 0 and empty[0].depth.shape == (0, 133, 1)


def test_wrong_signature_says_what_was_expected(models):
    with pytest.raises(InputFileError, match="three outputs simcc_x .* simcc_z"):
        SimCC3DPoseModel(models["2d"])
    with pytest.raises(InputFileError, match="two outputs simcc_x"):
        SimCCPoseModel(models["rtmw3d"])


def test_skeleton_from_depth_recovers_the_camera_frame_skeleton():
    from mocap.synthetic import human_motion

    world = human_motion(20, seed=2)
    cam = world @ np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]]).T + np.array([0.3, 0.9, 4.0])  # 4 m ahead
    uv = cam[..., :2] / cam[..., 2:]
    depth = cam[..., 2] - root_of(cam)[..., None, 2]
    height = float(np.median(stature(cam)))
    rel, z0 = skeleton_from_depth(uv, depth, height)
    np.testing.assert_allclose(z0, root_of(cam)[..., 2], rtol=1e-6)
    np.testing.assert_allclose(rel, cam - root_of(cam)[..., None, :], atol=1e-5)


def test_postprocess_scores_the_weaker_axis_and_keeps_depth_per_person(models):
    from mocap.pose2d.rtmw import CropBatch

    backend = RTMW3DBackend(SimCC3DPoseModel(models["rtmw3d"]))
    w, h = SIZE
    x = np.zeros((3, 133, 2 * w), np.float32)
    y = np.zeros((3, 133, 2 * h), np.float32)
    z = np.zeros((3, 133, 2 * w), np.float32)
    x[:, :, 10], y[:, :, 20] = 0.9, 0.6
    z[0, :, 2 * w // 2], z[1, :, 0], z[2, :, 3 * w // 2] = 1, 1, 1  # depth 0, -z_range, +z_range / 2
    crops = CropBatch(np.zeros((3, 3, h, w), np.float32), np.array([[w / 2, h / 2]] * 3), np.array([[w, h]] * 3),
                      [np.zeros((2, 5)), np.zeros((1, 5))], [2, 1])
    first, second = backend.postprocess((x, y, z), crops)
    assert np.all(first.score == np.float32(0.6)) and np.all(second.score == np.float32(0.6))
    np.testing.assert_allclose(first.xy[0, 0], (5.0, 10.0))
    np.testing.assert_allclose(first.depth[:, 0, 0], (0.0, -RTMW3D_Z_RANGE))
    np.testing.assert_allclose(second.depth[:, 0, 0], (0.5 * RTMW3D_Z_RANGE,))

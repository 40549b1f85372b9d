"""The rtmw path (crop -> batched ONNX pose model -> SimCC decode -> inverse affine) on models
built here whose outputs peak at the brightest blob of each crop: decoded keypoints must land on
blobs drawn at known image positions.

Argmax decoding has a resolution of one SimCC bin (1/2 model-input pixel), i.e. k/2 image pixels
when a crop shrinks the image by k. The 0.5 px check in image pixels therefore uses boxes whose
crops shrink by at most 1.6 (model 192x256, as RTMW-l); for bigger boxes the error is checked in
model-input pixels (< 0.5, i.e. below one bin)."""

import numpy as np
import pytest

from mocap.errors import InputFileError
from mocap.pose2d.crops import boxes_to_center_scale, crop_matrices, crop_to_image
from mocap.pose2d.rtmw import RTMWBackend, SimCCPoseModel
from mocap.pose2d.simcc import decode_simcc
from mocap.pose2d.testmodels import blob_simcc_model, draw_blob


@pytest.fixture(scope="module")
def blob_model(tmp_path_factory):
    return blob_simcc_model(tmp_path_factory.mktemp("m") / "blob.onnx", input_size=(192, 256))


def _scene(rng, size, boxes):
    """An image of ``size`` (w, h) with one blob inside each box, at a random sub-pixel place."""
    img = np.zeros((size[1], size[0], 3), np.uint8)
    truth = []
    for x1, y1, x2, y2 in boxes:
        x = x1 + (x2 - x1) * rng.uniform(0.3, 0.7)
        y = y1 + (y2 - y1) * rng.uniform(0.3, 0.7)
        k = _shrink((x1, y1, x2, y2))  # image px per crop px
        draw_blob(img, x, y, sigma=3 * k)
        truth.append((x, y))
    return img, np.array(truth)


def _shrink(box):
    """Image pixels per model-input pixel for this box (model 192x256, padding 1.25)."""
    x1, y1, x2, y2 = box
    return max((x2 - x1) * 1.25 / 192, (y2 - y1) * 1.25 / 256)


# (image size, boxes): tall, wide, square, tiny and large boxes, boxes touching the image border
SCENES = [
    ((640, 480), [(100, 50, 220, 300), (400, 200, 600, 280)]),
    ((1080, 1920), [(300, 400, 500, 700)]),
    ((320, 240), [(0, 0, 60, 60), (200, 100, 320, 240)]),
    ((1920, 1080), [(50, 100, 250, 400), (900, 300, 1000, 420), (1400, 50, 1600, 300)]),
]
BIG = ((1920, 1080), [(50, 50, 650, 1050), (1000, 300, 1900, 700)])  # crops shrink 4.9x and 5.9x


@pytest.mark.parametrize("max_batch", [None, 1, 2])
def test_decoded_keypoints_within_half_pixel(blob_model, max_batch):
    rng = np.random.default_rng(7)
    backend = RTMWBackend(SimCCPoseModel(blob_model), max_batch=max_batch)
    images, truths, boxes = [], [], []
    for size, bxs in SCENES:
        img, truth = _scene(rng, size, bxs)
        images.append(img)
        truths.append(truth)
        boxes.append(np.array(bxs, float))
    poses = backend.process(images, boxes)
    n = sum(len(b) for b in boxes)
    # one ONNX call for all 8 crops of all 4 images, unless max_batch splits it
    assert backend.last_batch_sizes == ([n] if max_batch is None else
                                        [max_batch] * (n // max_batch) + ([n % max_batch] if n % max_batch else []))
    errors = []
    for p, truth in zip(poses, truths):
        assert p.xy.shape == (len(truth), 133, 2)
        assert np.all(p.score == 1.0)
        errors.append(np.linalg.norm(p.xy - truth[:, None, :], axis=-1).ravel())
    errors = np.concatenate(errors)
    assert errors.max() < 0.5, errors.max()


def test_big_boxes_within_half_model_pixel(blob_model):
    rng = np.random.default_rng(11)
    backend = RTMWBackend(SimCCPoseModel(blob_model))
    img, truth = _scene(rng, *BIG)
    p = backend.process([img], [np.array(BIG[1], float)])[0]
    shrink = np.array([_shrink(b) for b in BIG[1]])
    err_model_px = np.linalg.norm(p.xy - truth[:, None], axis=-1) / shrink[:, None]
    assert err_model_px.max() < 0.5, err_model_px.max()


def test_single_image_matches_batched(blob_model):
    rng = np.random.default_rng(3)
    backend = RTMWBackend(SimCCPoseModel(blob_model))
    img, truth = _scene(rng, (640, 480), [(100, 50, 220, 300)])
    one = backend.process([img], [np.array([(100, 50, 220, 300)], float)])[0]
    assert backend.last_batch_sizes == [1]
    assert np.abs(one.xy[0] - truth[0]).max() < 0.5


def test_center_scale_keeps_aspect_and_padding():
    center, scale = boxes_to_center_scale(np.array([[0, 0, 100, 100], [10, 20, 30, 220]]), (192, 256))
    assert np.allclose(center, [[50, 50], [20, 120]])
    assert np.allclose(scale[:, 0] / scale[:, 1], 192 / 256)
    assert np.allclose(scale, [[125, 125 * 256 / 192], [250 * 0.75, 250]])
    m = crop_matrices(center, scale, (192, 256))
    pts = np.array([[[3.0, 7.0]], [[15.0, 100.0]]])
    crop = np.einsum("nij,nkj->nki", m[:, :, :2], pts) + m[:, None, :, 2]
    assert np.allclose(crop_to_image(crop, center, scale, (192, 256)), pts)
    assert np.allclose(crop[0, 0], [(3 - 50) * 192 / 125 + 96, (7 - 50) * 256 / (125 * 256 / 192) + 128])


def test_simcc_decoding_argmax_ratio_and_missing():
    sx = np.zeros((2, 3, 20))
    sy = np.zeros((2, 3, 30))
    sx[0, 0, 7], sy[0, 0, 11] = 0.9, 0.6   # keypoint at (3.5, 5.5), score mean 0.75 (rtmlib) or min 0.6
    sx[1, 2, 19], sy[1, 2, 0] = 0.4, 0.8
    sx[0, 1, 3], sy[0, 1] = 0.5, -1.0      # mean of the maxima not positive -> missing
    xy, score = decode_simcc(sx, sy, 2.0)
    assert np.allclose(xy[0, 0], [3.5, 5.5]) and score[0, 0] == pytest.approx(0.75)
    assert np.allclose(xy[1, 2], [9.5, 0.0]) and score[1, 2] == pytest.approx(0.6)
    assert np.isnan(xy[0, 1]).all() and score[0, 1] == 0
    _, low = decode_simcc(sx, sy, 2.0, score="min")
    assert low[0, 0] == pytest.approx(0.6) and low[1, 2] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="'mean' or 'min'"):
        decode_simcc(sx, sy, 2.0, score="max")


def test_not_onnx_file_is_refused(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_text("this is not a model")
    with pytest.raises(InputFileError, match="not a loadable ONNX model") as e:
        SimCCPoseModel(bad)
    assert "model.onnx" in str(e.value)


def test_wrong_inputs_outputs_say_what_was_expected(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Relu", ["input"], ["out"])], "g",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 64, 48])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 3, 64, 48])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, tmp_path / "relu.onnx")
    with pytest.raises(InputFileError, match="expected one input .* two outputs simcc_x"):
        SimCCPoseModel(tmp_path / "relu.onnx")


def test_wrong_keypoint_count_and_input_size(tmp_path):
    p = blob_simcc_model(tmp_path / "k17.onnx", n_keypoints=17)
    with pytest.raises(InputFileError, match="17 keypoints, expected 133"):
        SimCCPoseModel(p)
    p = blob_simcc_model(tmp_path / "m.onnx", input_size=(96, 128))
    with pytest.raises(InputFileError, match="model input is 96x128"):
        SimCCPoseModel(p, input_size=(192, 256))

"""The real RTMDet-nano person detector (mmdeploy export, NMS inside) on the Pose2Sim demo videos:
the subject's box must contain his OpenPose BODY_25B keypoints."""

import numpy as np
import pytest

from mocap.errors import InputFileError
from mocap.io import read_openpose_json
from mocap.pose2d.detector import PersonDetector
from mocap.video import VideoReader, read_synchronized

FRAMES = (0, 60)


@pytest.fixture(scope="module")
def detector(pose2sim_demo):
    model = pose2sim_demo.parents[1] / "models" / "rtmdet_nano_person" / "end2end.onnx"
    if not model.is_file():
        pytest.skip("../shared/models/rtmdet_nano_person is not here")
    return PersonDetector(model, device="cpu")


def test_subject_box_contains_openpose_keypoints(detector, pose2sim_demo):
    cams = ["cam01", "cam02", "cam03", "cam04"]
    op = read_openpose_json([pose2sim_demo / "pose2d_openpose_body25b" / f"{c}_json" for c in cams],
                            layout="body_25b", progress=False)
    readers = [VideoReader(pose2sim_demo / "videos" / f"{c}.mp4") for c in cams]
    inside, n_boxes = [], {}
    for t in FRAMES:
        _, frames = next(read_synchronized(readers, start=t, stop=t + 1))
        for c, boxes in enumerate(detector(frames)):
            n_boxes[(cams[c], t)] = len(boxes)
            xy, score = op.xy[c, t, :, :23], op.score[c, t, :, :23]  # body + feet
            # the subject is the OpenPose person with the most confident keypoints
            p = int(np.argmax((score > 0.3).sum(axis=1)))
            pts = xy[p][score[p] > 0.3]
            # the best box for him: the one holding most of his keypoints
            x1, y1, x2, y2 = boxes[:, :4].T[:, :, None]
            m = 0.05 * np.maximum(x2 - x1, y2 - y1)  # 5 % slack: boxes hug the silhouette
            hit = ((pts[:, 0] >= x1 - m) & (pts[:, 0] <= x2 + m) & (pts[:, 1] >= y1 - m) & (pts[:, 1] <= y2 + m))
            inside.append(hit.mean(axis=1).max())
    assert np.min(inside) >= 0.95, inside
    # every view finds the subject; the bystander of cam01/cam02 is found too
    assert all(n >= 1 for n in n_boxes.values())
    assert n_boxes[("cam01", 0)] >= 2 and n_boxes[("cam02", 0)] >= 2
    assert detector.batched is False  # this export's NMS takes one image at a time: fell back


def test_detector_with_wrong_outputs_is_refused(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Relu", ["input"], ["a"]), helper.make_node("Relu", ["input"], ["b"])], "g",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 32, 32])],
                          [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 3, 32, 32]),
                           helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 3, 32, 32])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, tmp_path / "det.onnx")
    with pytest.raises(InputFileError, match="expected mmdeploy 'dets'") as e:
        PersonDetector(tmp_path / "det.onnx")
    assert "det.onnx" in str(e.value)


def test_raw_yolox_decoding(tmp_path):
    """A raw YOLOX head (N, anchors, 5 + classes) built as a constant: one anchor at stride 16,
    grid cell (3, 2), offsets (0.5, 0.25), log-size log(4): box centre ((3.5) * 16, (2.25) * 16),
    size 64; a duplicate at the next cell with a lower score is removed by NMS."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    size = 128
    n = sum((size // s) ** 2 for s in (8, 16, 32))
    pred = np.zeros((1, n, 6), np.float32)
    pred[..., 4] = 0.0
    base = (size // 8) ** 2
    i = base + 2 * (size // 16) + 3
    pred[0, i] = [0.5, 0.25, np.log(4), np.log(4), 0.9, 1.0]
    pred[0, i + 1] = [-0.4, 0.25, np.log(4), np.log(4), 0.8, 1.0]
    g = helper.make_graph([helper.make_node("Shape", ["images"], ["s"]),
                           helper.make_node("Identity", ["const"], ["output"])], "g",
                          [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
                          [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, n, 6])],
                          [numpy_helper.from_array(pred, "const")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, tmp_path / "yolox.onnx")
    det = PersonDetector(tmp_path / "yolox.onnx", input_size=(size, size), mean=None, std=None)
    assert det.kind == "yolox_raw"
    img = np.zeros((256, 200, 3), np.uint8)  # resize ratio 0.5 into the 128 input
    boxes = det([img])[0]
    assert boxes.shape == (1, 5)
    cx, cy = 3.5 * 16 / 0.5, 2.25 * 16 / 0.5
    assert np.allclose(boxes[0], [cx - 64, cy - 64, cx + 64, cy + 64, 0.9], atol=1e-4)

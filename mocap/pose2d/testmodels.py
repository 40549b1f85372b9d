"""Small ONNX models built with ``onnx.helper`` whose answers are known, for tests and benchmarks.

:func:`blob_simcc_model` has the RTMPose signature (``input`` (N, 3, H, W) -> ``simcc_x`` (N, K,
W r), ``simcc_y`` (N, K, H r)) and "finds" the brightest blob of each crop: the maximum over
channels and rows gives a column profile, the maximum over channels and columns a row profile;
each profile is resampled onto the SimCC bins with a Gaussian kernel (so the argmax lands on the
bin nearest the blob's true centre, not only on whole pixels) and repeated for all K keypoints.
A Gaussian blob drawn at a known place in an image is therefore decoded there by a correct
crop -> infer -> decode -> inverse-affine chain.

:func:`blob_simcc3d_model` adds RTMW3D's third output ``simcc_z`` (N, K, D): the column profile
resampled onto the D depth bins, bin ``j`` at crop column ``j W / D``. The blob at crop column u
therefore lands in bin ``u D / W`` and decodes to the depth ``(2 u / W - 1) z_range``: known for
any D, which need not be the width times the split ratio.
"""

from __future__ import annotations

import numpy as np


def _resample_matrix(n: int, ratio: float, sigma: float = 1.0) -> np.ndarray:
    """(n, n*ratio) weights: bin j at position j / ratio gathers pixel i with a Gaussian weight."""
    pos = np.arange(int(round(n * ratio))) / ratio
    w = np.exp(-0.5 * ((pos[None, :] - np.arange(n)[:, None]) / sigma) ** 2)
    return (w / w.sum(axis=0, keepdims=True)).astype(np.float32)


def blob_simcc_model(path, input_size=(96, 128), n_keypoints=133, split_ratio=2.0, batch="N",
                     output_names=("simcc_x", "simcc_y"), opset=17):
    """Write the blob-finding SimCC model to ``path`` (see the module docstring); returns ``path``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w, h = input_size
    inits = [numpy_helper.from_array(_resample_matrix(w, split_ratio), "ux"),
             numpy_helper.from_array(_resample_matrix(h, split_ratio), "uy"),
             numpy_helper.from_array(np.array([1, n_keypoints, 1], dtype=np.int64), "kshape"),
             numpy_helper.from_array(np.array([1], dtype=np.int64), "one")]
    nodes = [
        helper.make_node("ReduceMax", ["input"], ["colmax"], axes=[1, 2], keepdims=0),
        helper.make_node("ReduceMax", ["input"], ["rowmax"], axes=[1, 3], keepdims=0),
        helper.make_node("MatMul", ["colmax", "ux"], ["px"]),
        helper.make_node("MatMul", ["rowmax", "uy"], ["py"]),
        helper.make_node("Unsqueeze", ["px", "one"], ["px1"]),
        helper.make_node("Unsqueeze", ["py", "one"], ["py1"]),
        helper.make_node("Expand", ["px1", "kshape"], [output_names[0]]),
        helper.make_node("Expand", ["py1", "kshape"], [output_names[1]]),
    ]
    wr, hr = int(round(w * split_ratio)), int(round(h * split_ratio))
    graph = helper.make_graph(
        nodes, "blob_simcc",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, h, w])],
        [helper.make_tensor_value_info(output_names[0], TensorProto.FLOAT, [batch, n_keypoints, wr]),
         helper.make_tensor_value_info(output_names[1], TensorProto.FLOAT, [batch, n_keypoints, hr])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def blob_simcc3d_model(path, input_size=(96, 128), n_keypoints=133, split_ratio=2.0, depth_bins=None, batch="N",
                       output_names=("simcc_x", "simcc_y", "simcc_z"), opset=17):
    """Write the 3-output blob model (see the module docstring) to ``path``; ``depth_bins``
    defaults to ``W * split_ratio`` (RTMW3D: D = the crop width 288, times 2). Returns ``path``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w, h = input_size
    d = int(depth_bins or round(w * split_ratio))
    inits = [numpy_helper.from_array(_resample_matrix(w, split_ratio), "ux"),
             numpy_helper.from_array(_resample_matrix(h, split_ratio), "uy"),
             numpy_helper.from_array(_resample_matrix(w, d / w), "uz"),
             numpy_helper.from_array(np.array([1, n_keypoints, 1], dtype=np.int64), "kshape"),
             numpy_helper.from_array(np.array([1], dtype=np.int64), "one")]
    nodes = [helper.make_node("ReduceMax", ["input"], ["colmax"], axes=[1, 2], keepdims=0),
             helper.make_node("ReduceMax", ["input"], ["rowmax"], axes=[1, 3], keepdims=0)]
    for axis, (profile, matrix) in enumerate((("colmax", "ux"), ("rowmax", "uy"), ("colmax", "uz"))):
        nodes += [helper.make_node("MatMul", [profile, matrix], [f"p{axis}"]),
                  helper.make_node("Unsqueeze", [f"p{axis}", "one"], [f"q{axis}"]),
                  helper.make_node("Expand", [f"q{axis}", "kshape"], [output_names[axis]])]
    sizes = (int(round(w * split_ratio)), int(round(h * split_ratio)), d)
    graph = helper.make_graph(
        nodes, "blob_simcc3d",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, h, w])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, n_keypoints, n])
         for name, n in zip(output_names, sizes)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def draw_blob(image: np.ndarray, x: float, y: float, sigma: float, value: float = 255.0) -> None:
    """Add a Gaussian blob centred at pixel coordinates (x, y) (pixel centres at integers)."""
    h, w = image.shape[:2]
    r = int(np.ceil(4 * sigma))
    x0, x1 = max(int(x) - r, 0), min(int(x) + r + 2, w)
    y0, y1 = max(int(y) - r, 0), min(int(y) + r + 2, h)
    gy, gx = np.mgrid[y0:y1, x0:x1]
    g = value * np.exp(-0.5 * ((gx - x) ** 2 + (gy - y) ** 2) / sigma ** 2)
    patch = image[y0:y1, x0:x1].astype(np.float64)
    image[y0:y1, x0:x1] = np.clip(np.maximum(patch, g[..., None]), 0, 255).astype(image.dtype)


# (out channels, stride) of each 3x3 conv of :func:`random_simcc_model`'s stand-ins
SMALL_PLAN = ((8, 2), (16, 2), (16, 2), (32, 2), (32, 2))
RTMW_SIZED_PLAN = ((32, 2), (64, 2), (64, 1), (64, 1), (128, 2), (128, 1), (128, 1), (256, 2), (256, 1), (256, 1),
                   (256, 1), (512, 2), (512, 1), (512, 1), (512, 1))


def random_simcc_model(path, input_size=(192, 256), n_keypoints=133, split_ratio=2.0, plan=SMALL_PLAN,
                       width: float = 1.0, hidden: int = 64, seed: int = 0, batch="N", opset=17) -> float:
    """A SimCC network with random weights and the RTMPose / RTMW signature (``input`` (N, 3, H, W)
    -> ``simcc_x`` (N, K, W r), ``simcc_y`` (N, K, H r)), written to ``path``; returns its GFLOPs
    per crop.

    A stack of 3x3 convolutions (``plan``: out channels, stride; channels times ``width``) with
    ReLUs, a 1x1 conv to K maps, then per keypoint a dense layer over *all* positions of the last
    map, a ReLU and two dense classifiers with a sigmoid: every output depends on every input
    pixel (a wrong crop, normalisation or channel order changes the answer), and scores lie in
    (0, 1) like a real model's. It stands in for the real weights (which cannot be had here) in
    equivalence tests and benchmarks: :data:`RTMW_SIZED_PLAN` at ``width`` 1.5 costs about as much
    as RTMW-l per 256 x 192 crop.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w_in, h_in = input_size
    k = n_keypoints
    nodes, inits, flops = [], [], 0.0
    x, c, h, w = "input", 3, h_in, w_in
    for i, (co, s) in enumerate(plan):
        co = max(8, int(co * width))
        wt = (rng.standard_normal((co, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32)
        inits += [numpy_helper.from_array(wt, f"conv{i}_w"),
                  numpy_helper.from_array((0.1 * rng.standard_normal(co)).astype(np.float32), f"conv{i}_b")]
        h, w = (h + s - 1) // s, (w + s - 1) // s
        nodes += [helper.make_node("Conv", [x, f"conv{i}_w", f"conv{i}_b"], [f"c{i}"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                   strides=[s, s]), helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
        flops += 2 * co * c * 9 * h * w
        x, c = f"r{i}", co
    wx, hy = int(round(w_in * split_ratio)), int(round(h_in * split_ratio))
    inits += [numpy_helper.from_array((rng.standard_normal((k, c, 1, 1)) / np.sqrt(c)).astype(np.float32), "wk"),
              numpy_helper.from_array(np.array([0, k, h * w], np.int64), "shape"),
              numpy_helper.from_array((rng.standard_normal((h * w, hidden)) / np.sqrt(h * w)).astype(np.float32), "dense_w"),
              numpy_helper.from_array((rng.standard_normal((hidden, wx)) * 2 / np.sqrt(hidden)).astype(np.float32), "head_x"),
              numpy_helper.from_array((rng.standard_normal((hidden, hy)) * 2 / np.sqrt(hidden)).astype(np.float32), "head_y")]
    nodes += [helper.make_node("Conv", [x, "wk"], ["kmap"]), helper.make_node("Reshape", ["kmap", "shape"], ["flat"]),
              helper.make_node("MatMul", ["flat", "dense_w"], ["hid0"]), helper.make_node("Relu", ["hid0"], ["hid"]),
              helper.make_node("MatMul", ["hid", "head_x"], ["lx"]), helper.make_node("MatMul", ["hid", "head_y"], ["ly"]),
              helper.make_node("Sigmoid", ["lx"], ["simcc_x"]), helper.make_node("Sigmoid", ["ly"], ["simcc_y"])]
    flops += 2 * (k * c * h * w + k * h * w * hidden + k * hidden * (wx + hy))
    graph = helper.make_graph(nodes, "random_simcc",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, h_in, w_in])],
                              [helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, [batch, k, wx]),
                               helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, [batch, k, hy])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return flops / 1e9


def box_detector_model(path, box, input_size=(640, 640), score: float = 0.99, opset=17):
    """Write a person detector (mmdeploy "end2end" signature: ``dets`` (N, 1, 5), ``labels`` (N, 1))
    that finds one person in ``box`` (x1, y1, x2, y2 in its input's pixels) in every image: with
    ``box`` the letterboxed image's area, the whole picture. Returns ``path``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w, h = input_size
    inits = [numpy_helper.from_array(np.array([[list(box) + [score]]], dtype=np.float32), "box"),
             numpy_helper.from_array(np.array([-1, 1, 1], dtype=np.int64), "shape3"),
             numpy_helper.from_array(np.array([-1, 1], dtype=np.int64), "shape2")]
    nodes = [helper.make_node("ReduceMax", ["input"], ["m"], axes=[1, 2, 3], keepdims=0),  # (N,): one per image
             helper.make_node("Reshape", ["m", "shape3"], ["m3"]),
             helper.make_node("Mul", ["m3", "zero"], ["z3"]),
             helper.make_node("Add", ["z3", "box"], ["dets"]),
             helper.make_node("Reshape", ["z3", "shape2"], ["z2"]),
             helper.make_node("Cast", ["z2"], ["labels"], to=TensorProto.INT64)]
    inits.append(numpy_helper.from_array(np.zeros(1, np.float32), "zero"))
    graph = helper.make_graph(
        nodes, "box_detector", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, h, w])],
        [helper.make_tensor_value_info("dets", TensorProto.FLOAT, ["N", 1, 5]),
         helper.make_tensor_value_info("labels", TensorProto.INT64, ["N", 1])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path

"""Small ONNX models built with ``onnx.helper`` whose answers are known, for tests and benchmarks.

:func:`blob_simcc_model` has the RTMPose signature (``input`` (N, 3, H, W) -> ``simcc_x`` (N, K,
W r), ``simcc_y`` (N, K, H r)) and "finds" the brightest blob of each crop: the maximum over
channels and rows gives a column profile, the maximum over channels and columns a row profile;
each profile is resampled onto the SimCC bins with a Gaussian kernel (so the argmax lands on the
bin nearest the blob's true centre, not only on whole pixels) and repeated for all K keypoints.
A Gaussian blob drawn at a known place in an image is therefore decoded there by a correct
crop -> infer -> decode -> inverse-affine chain.
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

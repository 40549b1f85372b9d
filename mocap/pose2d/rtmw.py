"""Top-down whole-body 2D keypoints with SimCC ONNX models (RTMW, DWPose, RTMPose-wholebody).

Pipeline for a list of images (several frames of several cameras at once):

1. **detect** persons (:class:`~mocap.pose2d.detector.PersonDetector`, one batched call), unless
   the caller passes boxes (tracking between detection frames);
2. **preprocess** every box: padded, aspect-corrected centre/scale, affine warp into the model's
   input size, one vectorised normalisation for the whole stack of crops;
3. **infer** one pose batch holding all crops of all images (split only if the model has a fixed
   batch size or ``max_batch`` asks for it);
4. **postprocess**: SimCC argmax decoding, inverse affine to image pixels, scores clipped to [0, 1]
   (RTMW's raw maxima can exceed 1).

The split ratio is read from the outputs' length (``len(simcc_x) / input width``), so 2x and 1.5x
models work alike.

:meth:`RTMWBackend.process` runs those steps as :meth:`~RTMWBackend.preprocess` (boxes -> one
:class:`CropBatch`), :meth:`~RTMWBackend.infer` and :meth:`~RTMWBackend.postprocess`; a model with
more SimCC outputs (RTMW3D's ``simcc_z``, :mod:`mocap.pose2d.rtmw3d`) subclasses
:class:`SimCCPoseModel` (its ``outputs``) and the backend, overriding the decoding only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from mocap.errors import InputFileError
from mocap.pose2d.base import Poses, PoseBackend, as_boxes
from mocap.pose2d.crops import (
    boxes_to_center_scale, crop_matrices, crop_to_image, normalize_batch, warp_crops,
)
from mocap.pose2d.providers import create_session
from mocap.pose2d.simcc import decode_simcc
from mocap.skeleton import N_KEYPOINTS

RTMPOSE_MEAN = (123.675, 116.28, 103.53)  # RGB, as mmpose normalises
RTMPOSE_STD = (58.395, 57.12, 57.375)


class SimCCPoseModel:
    """An ONNX SimCC pose model: (N, 3, H, W) crops -> ``simcc_x`` (N, K, W r), ``simcc_y`` (N, K, H r).

    ``outputs`` names the SimCC outputs in the order :meth:`__call__` returns them (found by name
    when the export names them so, else taken in the file's order); ``signature`` says what is
    expected when a file does not match. Subclasses with more outputs change these two only.
    """

    outputs: tuple[str, ...] = ("simcc_x", "simcc_y")
    signature = ("one input (N, 3, H, W) and two outputs simcc_x (N, K, W*r) and simcc_y (N, K, H*r) "
                 "(an RTMPose/RTMW/DWPose SimCC export)")

    def __init__(self, model_path, input_size=None, mean=RTMPOSE_MEAN, std=RTMPOSE_STD, to_rgb=True,
                 device="auto", fp16=False, n_keypoints=N_KEYPOINTS):
        self.path = model_path
        self.session, self.provider = create_session(model_path, device, fp16)
        ins, outs = self.session.get_inputs(), self.session.get_outputs()
        n_out = len(self.outputs)
        if len(ins) != 1 or len(ins[0].shape) != 4 or len(outs) != n_out or any(len(o.shape) != 3 for o in outs):
            got = [(i.name, i.shape) for i in ins], [(o.name, o.shape) for o in outs]
            raise InputFileError(f"wrong inputs/outputs {got[0]} -> {got[1]}; expected {self.signature}", model_path)
        names = [o.name for o in outs]
        self.order = [names.index(n) for n in self.outputs] if set(names) >= set(self.outputs) else list(range(n_out))
        self.output_shapes = [tuple(outs[i].shape) for i in self.order]
        shape = ins[0].shape
        static = tuple(s if isinstance(s, int) else None for s in (shape[3], shape[2]))
        if input_size is None:
            if None in static:
                raise InputFileError("the model's input size is dynamic; give input_size (W, H)", model_path)
            input_size = static
        input_size = tuple(int(v) for v in input_size)
        if None not in static and static != input_size:
            raise InputFileError(f"model input is {static[0]}x{static[1]} (W x H) but the registry entry says "
                                 f"{input_size[0]}x{input_size[1]}", model_path)
        k = outs[self.order[0]].shape[1]
        if isinstance(k, int) and k != n_keypoints:
            raise InputFileError(f"model outputs {k} keypoints, expected {n_keypoints} (COCO-WholeBody)", model_path)
        self.input_size, self.mean, self.std, self.to_rgb = input_size, mean, std, to_rgb
        self.input_name = ins[0].name
        self.fixed_batch = shape[0] if isinstance(shape[0], int) else None
        self.input_dtype = np.float16 if "float16" in ins[0].type else np.float32

    def __call__(self, x: np.ndarray, max_batch: int | None = None) -> tuple[np.ndarray, ...]:
        """The SimCC outputs for crops ``x``, one array per name in :attr:`outputs`."""
        step = self.fixed_batch or max_batch or len(x)
        parts: list[list[np.ndarray]] = [[] for _ in self.order]
        for i in range(0, len(x), step):
            chunk = x[i:i + step]
            n = len(chunk)
            if self.fixed_batch and n < step:  # a fixed-batch model needs a full batch
                chunk = np.concatenate([chunk, np.zeros((step - n,) + chunk.shape[1:], chunk.dtype)])
            out = self.session.run(None, {self.input_name: chunk})
            for part, j in zip(parts, self.order):
                part.append(np.asarray(out[j])[:n])
        return tuple(np.concatenate(part) for part in parts)


@dataclass
class CropBatch:
    """Every person crop of one :meth:`RTMWBackend.process` call: ``x`` (N, 3, H, W) network input,
    ``center`` / ``scale`` (N, 2) of each crop (image pixels), ``boxes`` per image and ``counts``
    (crops per image, in image order)."""

    x: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    boxes: list[np.ndarray]
    counts: list[int]

    def per_image(self, array: np.ndarray) -> list[np.ndarray]:
        """Split a per-crop array (N, ...) into one array per image."""
        return np.split(array, np.cumsum(self.counts)[:-1])


class RTMWBackend(PoseBackend):
    """Detector + batched SimCC pose model. ``last_batch_sizes`` lists the pose batch sizes of the
    latest :meth:`process` call (one entry per ONNX Runtime call)."""

    name = "rtmw"

    def __init__(self, pose_model: SimCCPoseModel, detector=None, padding: float = 1.25,
                 max_batch: int | None = None, max_persons: int | None = None):
        self.pose, self.detector = pose_model, detector
        self.padding, self.max_batch, self.max_persons = padding, max_batch, max_persons
        self.provider = pose_model.provider
        self.last_batch_sizes: list[int] = []
        self.timings = {"detect": 0.0, "preprocess": 0.0, "infer": 0.0, "postprocess": 0.0}

    def _boxes(self, images, boxes):
        boxes = list(boxes) if boxes is not None else [None] * len(images)
        todo = [i for i, b in enumerate(boxes) if b is None]
        if todo:
            if self.detector is None:
                raise ValueError("no detector: give boxes for every image")
            t = time.perf_counter()
            for i, found in zip(todo, self.detector([images[i] for i in todo])):
                boxes[i] = found
            self.timings["detect"] += time.perf_counter() - t
        boxes = [as_boxes(b) for b in boxes]
        if self.max_persons:
            boxes = [b[: self.max_persons] for b in boxes]
        return boxes

    def process(self, images, boxes=None) -> list[Poses]:
        boxes = self._boxes(images, boxes)
        if sum(len(b) for b in boxes) == 0:
            self.last_batch_sizes = []
            return [Poses.empty() for _ in images]
        t0 = time.perf_counter()
        crops = self.preprocess(images, boxes)
        t1 = time.perf_counter()
        outputs = self.infer(crops)
        t2 = time.perf_counter()
        out = self.postprocess(outputs, crops)
        t3 = time.perf_counter()
        self.timings["preprocess"] += t1 - t0
        self.timings["infer"] += t2 - t1
        self.timings["postprocess"] += t3 - t2
        return out

    def preprocess(self, images, boxes: list[np.ndarray]) -> CropBatch:
        """Each image's (N_i, 5) boxes -> one batch of normalised crops (see the module docstring)."""
        counts = [len(b) for b in boxes]
        n = sum(counts)
        size = self.pose.input_size
        all_boxes = np.concatenate(boxes)
        center, scale = boxes_to_center_scale(all_boxes[:, :4], size, self.padding)
        mats = crop_matrices(center, scale, size)
        crops = np.empty((n, size[1], size[0], 3), dtype=np.uint8)
        owner = np.repeat(np.arange(len(images)), counts)
        for i, img in enumerate(images):
            sel = np.flatnonzero(owner == i)
            if len(sel):
                warp_crops(img, mats[sel], size, out=crops[sel[0]:sel[-1] + 1])
        x = normalize_batch(crops, self.pose.mean, self.pose.std, self.pose.to_rgb, self.pose.input_dtype)
        return CropBatch(x, center, scale, boxes, counts)

    def infer(self, crops: CropBatch) -> tuple[np.ndarray, ...]:
        """The pose model's outputs for every crop (batches as the model and ``max_batch`` allow)."""
        n = len(crops.x)
        step = self.pose.fixed_batch or self.max_batch or n
        self.last_batch_sizes = [min(step, n - i) for i in range(0, n, step)]
        return self.pose(crops.x, self.max_batch)

    def decode_xy(self, simcc_x: np.ndarray, simcc_y: np.ndarray, crops: CropBatch, score: str = "mean"):
        """SimCC x/y -> ``xy`` (N, K, 2) image pixels and ``score`` (N, K) clipped to [0, 1]
        (``score``: how the two axes' maxima combine, see :func:`~mocap.pose2d.simcc.decode_simcc`)."""
        size = self.pose.input_size
        ratio = simcc_x.shape[-1] / size[0]
        xy, score = decode_simcc(simcc_x, simcc_y, ratio, score=score)
        return crop_to_image(xy, crops.center, crops.scale, size), np.clip(score, 0.0, 1.0)

    def postprocess(self, outputs, crops: CropBatch) -> list[Poses]:
        """Model outputs -> one :class:`Poses` per image."""
        xy, score = self.decode_xy(outputs[0], outputs[1], crops)
        return [Poses(a, s, b) for a, s, b in zip(crops.per_image(xy), crops.per_image(score), crops.boxes)]

"""Person detection with an ONNX detector: mmdeploy RTMDet/YOLOX (NMS inside) or raw YOLOX.

Preprocess (batched over images): letterbox each image into the model's square input (resize
keeping the aspect ratio, top-left aligned, padded with grey 114 as mmdet trains), then normalise
(in float64, rounded once to the network's float32). Infer: one call for all images. Postprocess:
scale boxes back by the resize ratio and keep persons above the score threshold.

Two output signatures are understood:

* mmdeploy "end2end": ``dets`` (N, D, 5) x1, y1, x2, y2, score and ``labels`` (N, D); NMS done.
* raw YOLOX: one output (N, A, 5 + classes) of grid-relative predictions at strides 8, 16, 32:
  ``xy = (pred_xy + grid) * stride``, ``wh = exp(pred_wh) * stride``, score = objectness x class
  score; NMS is done here (OpenCV's ``NMSBoxes``).
"""

from __future__ import annotations

import cv2
import numpy as np

from mocap.errors import InputFileError
from mocap.pose2d.providers import create_session


class PersonDetector:
    """Batched person boxes for a list of BGR images."""

    def __init__(self, model_path, input_size=(320, 320), mean=(103.53, 116.28, 123.675),
                 std=(57.375, 57.12, 58.395), to_rgb=False, score_threshold=0.3, nms_iou=0.45,
                 person_label=0, device="auto", fp16=False):
        self.session, self.provider = create_session(model_path, device, fp16)
        self.input_size = tuple(int(v) for v in input_size)
        self.mean, self.std, self.to_rgb = mean, std, to_rgb
        self.score_threshold, self.nms_iou, self.person_label = score_threshold, nms_iou, person_label
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        names = [o.name for o in outputs]
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise InputFileError(f"a person detector must have one 4-D image input (N, 3, H, W); this model "
                                 f"has inputs {[(i.name, i.shape) for i in inputs]}", model_path)
        if "dets" in names and "labels" in names:
            self.kind = "end2end"
        elif len(outputs) == 1 and len(outputs[0].shape) == 3:
            self.kind = "yolox_raw"
        else:
            raise InputFileError(f"unknown detector outputs {[(o.name, o.shape) for o in outputs]}; expected "
                                 f"mmdeploy 'dets' (N, D, 5) + 'labels' (N, D), or one raw YOLOX "
                                 f"output (N, anchors, 5 + classes)", model_path)
        self.input_name = inputs[0].name
        self.batched: bool | None = None  # does the export take batches? learnt on first use
        self.images_seen = 0  # how many images this detector has looked at (detect-every-N checks)
        self.input_dtype = np.float16 if "float16" in inputs[0].type else np.float32

    # --- preprocess / infer / postprocess ---------------------------------------------------

    def preprocess(self, images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Letterboxed, normalised batch (N, 3, H, W) and each image's resize ratio (N,)."""
        w_in, h_in = self.input_size
        batch = np.full((len(images), h_in, w_in, 3), 114, dtype=np.uint8)
        ratios = np.empty(len(images))
        for i, img in enumerate(images):
            r = min(w_in / img.shape[1], h_in / img.shape[0])
            w, h = int(round(img.shape[1] * r)), int(round(img.shape[0] * r))
            batch[i, :h, :w] = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
            ratios[i] = r
        x = batch[..., ::-1] if self.to_rgb else batch
        if self.mean is not None:  # in float64 then rounded once, as mmdet / rtmlib do
            x = (x - np.asarray(self.mean, dtype=np.float64)) / np.asarray(self.std, dtype=np.float64)
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=self.input_dtype)
        return x, ratios

    def infer(self, x: np.ndarray) -> list[np.ndarray]:
        """One call for the batch; image by image for exports whose NMS only takes batch 1 (the
        mmdeploy RTMDet exports fail on batch > 1 in their Where node), learnt on the first try."""
        if self.batched is not False and len(x) > 1:
            try:
                import onnxruntime as ort

                quiet = ort.RunOptions()
                quiet.log_severity_level = 4  # the probe may fail; ORT would print the failure
                out = self.session.run(None, {self.input_name: x}, quiet)
                self.batched = True
                return out
            except Exception:  # ORT's Fail / RuntimeException: fall back once, remember
                if self.batched:
                    raise
                self.batched = False
        outs = [self.session.run(None, {self.input_name: x[i:i + 1]}) for i in range(len(x))]
        if self.kind == "end2end":  # pad the detections to a common count before stacking
            n = max(o[0].shape[1] for o in outs)
            dets = np.zeros((len(x), n, 5), np.float32)
            labels = np.full((len(x), n), -1, np.int64)
            names = [o.name for o in self.session.get_outputs()]
            di, li = names.index("dets"), names.index("labels")
            for i, o in enumerate(outs):
                dets[i, : o[di].shape[1]] = o[di][0]
                labels[i, : o[li].shape[1]] = o[li][0]
            result = [None, None]
            result[di], result[li] = dets, labels
            return result
        return [np.concatenate([o[0] for o in outs])]

    def postprocess(self, outputs, ratios) -> list[np.ndarray]:
        """Per image, (M, 5) boxes x1, y1, x2, y2, score in image pixels, best first."""
        if self.kind == "end2end":
            names = [o.name for o in self.session.get_outputs()]
            dets = np.asarray(outputs[names.index("dets")], dtype=np.float32)
            labels = np.asarray(outputs[names.index("labels")])
            result = []
            for i in range(len(ratios)):
                keep = (dets[i, :, 4] > self.score_threshold) & (labels[i] == self.person_label)
                d = dets[i, keep].astype(np.float64)
                # scaled in the network's float32, as mmdeploy's SDK and rtmlib do: the same boxes
                # to the last bit, hence the same crops (mocap.pose2d.crops)
                d[:, :4] = dets[i, keep, :4] / np.float32(ratios[i])
                result.append(d[np.argsort(-d[:, 4], kind="stable")])
            return result
        return [self._yolox(o, r) for o, r in zip(np.asarray(outputs[0], dtype=np.float64), ratios)]

    def _yolox(self, pred: np.ndarray, ratio: float) -> np.ndarray:
        w_in, h_in = self.input_size
        grids, strides = [], []
        for s in (8, 16, 32):
            gy, gx = np.mgrid[: h_in // s, : w_in // s]
            grids.append(np.stack([gx.ravel(), gy.ravel()], axis=1))
            strides.append(np.full(gx.size, s))
        grid, stride = np.concatenate(grids), np.concatenate(strides)[:, None]
        if len(grid) != len(pred):
            raise ValueError(f"raw YOLOX output has {len(pred)} anchors, expected {len(grid)} for input "
                             f"{w_in}x{h_in}")
        xy = (pred[:, :2] + grid) * stride
        wh = np.exp(pred[:, 2:4]) * stride
        score = pred[:, 4] * pred[:, 5 + self.person_label]
        keep = score > self.score_threshold
        boxes = np.concatenate([xy - wh / 2, xy + wh / 2], axis=1)[keep] / ratio
        score = score[keep]
        if not len(score):
            return np.zeros((0, 5))
        idx = cv2.dnn.NMSBoxes(np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1).tolist(),
                               score.tolist(), self.score_threshold, self.nms_iou)
        idx = np.asarray(idx, dtype=int).reshape(-1)
        out = np.concatenate([boxes[idx], score[idx, None]], axis=1)
        return out[np.argsort(-out[:, 4], kind="stable")]

    def __call__(self, images: list[np.ndarray]) -> list[np.ndarray]:
        if not images:
            return []
        self.images_seen += len(images)
        x, ratios = self.preprocess(images)
        return self.postprocess(self.infer(x), ratios)

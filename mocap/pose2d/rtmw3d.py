"""RTMW3D-style whole-body 3D: the rtmw top-down path with a third SimCC output, depth.

The detector, the crops, the batching and the x/y decoding are :mod:`mocap.pose2d.rtmw`'s; only
the model's signature (three outputs ``simcc_x``, ``simcc_y``, ``simcc_z``) and the decoding of
``simcc_z`` differ (:func:`lifting.rtmw3d.decode_simcc_depth`: metres relative to the hips' depth,
the number of depth bins read from the output's shape) and the confidence, which is the smaller of
the x and y maxima as mmpose's RTMW3D decoder has it (the 2D backend takes their mean, as rtmlib
does for RTMW). Each image's people come back as
:class:`Poses3D`: the 2D :class:`~mocap.pose2d.base.Poses` plus ``depth``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lifting.rtmw3d import RTMW3D_OUTPUTS, RTMW3D_Z_RANGE, decode_simcc_depth
from mocap.pose2d.base import Poses
from mocap.pose2d.rtmw import CropBatch, RTMWBackend, SimCCPoseModel


class SimCC3DPoseModel(SimCCPoseModel):
    """An ONNX RTMW3D-style model: (N, 3, H, W) crops -> ``simcc_x`` (N, K, W r), ``simcc_y``
    (N, K, H r), ``simcc_z`` (N, K, D r)."""

    outputs = RTMW3D_OUTPUTS
    signature = ("one input (N, 3, H, W) and three outputs simcc_x (N, K, W*r), simcc_y (N, K, H*r) and "
                 "simcc_z (N, K, D*r) (an RTMW3D export of mmpose projects/rtmpose3d)")


@dataclass
class Poses3D(Poses):
    """:class:`Poses` plus ``depth`` (P, 133, 1): each keypoint's camera depth relative to the
    midpoint of the hips, in metres (NaN where the keypoint is unknown). The trailing axis makes it a
    per-point array like ``xy`` and ``world``, which the 2D stage gathers into slots the same way
    (:func:`mocap.pose2d.run.estimate_videos` with ``world="depth"``)."""

    depth: np.ndarray | None = None

    @classmethod
    def empty(cls) -> "Poses3D":
        e = Poses.empty()
        return cls(e.xy, e.score, e.boxes, depth=np.zeros(e.score.shape + (1,)))


class RTMW3DBackend(RTMWBackend):
    """Detector + batched RTMW3D-style model; :meth:`process` returns :class:`Poses3D` per image."""

    name = "rtmw3d"

    def __init__(self, pose_model: SimCC3DPoseModel, detector=None, padding: float = 1.25,
                 max_batch: int | None = None, max_persons: int | None = None, z_range: float = RTMW3D_Z_RANGE):
        super().__init__(pose_model, detector, padding, max_batch, max_persons)
        self.z_range = z_range

    def process(self, images, boxes=None) -> list[Poses3D]:
        out = super().process(images, boxes)
        return [p if isinstance(p, Poses3D) else Poses3D.empty() for p in out]

    def postprocess(self, outputs, crops: CropBatch) -> list[Poses3D]:
        xy, score = self.decode_xy(outputs[0], outputs[1], crops, score="min")  # mmpose's RTMW3D decoder
        depth = np.where(np.isfinite(xy[..., 0]), decode_simcc_depth(outputs[2], self.z_range), np.nan)[..., None]
        return [Poses3D(a, s, b, depth=d) for a, s, b, d in
                zip(crops.per_image(xy), crops.per_image(score), crops.boxes, crops.per_image(depth))]

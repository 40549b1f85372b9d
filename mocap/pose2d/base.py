"""The backend interface: images in, 133-keypoint people out.

A backend turns a list of images (any mix of cameras and frames: batching across them is the
backend's business) into one :class:`Poses` per image. ``boxes`` may be given per image (from a
tracker, between detection frames); ``None`` for an image means "detect people yourself".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.skeleton import N_KEYPOINTS


@dataclass
class Poses:
    """The people found in one image: ``xy`` (P, 133, 2) pixels (NaN where unknown), ``score``
    (P, 133) in [0, 1] (0 where unknown), ``boxes`` (P, 5) x1, y1, x2, y2, detector score, and,
    from backends asked for it, ``world`` (P, 133, 3) metric 3D points per person (NaN where
    unknown; see :class:`mocap.pose2d.mediapipe_backend.MediaPipeBackend`)."""

    xy: np.ndarray
    score: np.ndarray
    boxes: np.ndarray
    world: np.ndarray | None = None

    @classmethod
    def empty(cls, with_world: bool = False) -> "Poses":
        return cls(np.zeros((0, N_KEYPOINTS, 2)), np.zeros((0, N_KEYPOINTS)), np.zeros((0, 5)),
                   np.zeros((0, N_KEYPOINTS, 3)) if with_world else None)

    def __len__(self) -> int:
        return len(self.xy)


def as_boxes(boxes) -> np.ndarray:
    """Boxes given as (N, 4) or (N, 5) (lists too) -> (N, 5) x1, y1, x2, y2, score (score 1 if absent)."""
    b = np.asarray(boxes, dtype=np.float64)
    b = b.reshape(-1, b.shape[-1]) if b.ndim == 2 else b.reshape(-1, 4)
    if b.shape[1] == 4:
        b = np.concatenate([b, np.ones((len(b), 1))], axis=1)
    return b[:, :5]


class PoseBackend:
    """Base class of the 2D backends (``rtmw``, ``mediapipe``)."""

    name = "base"
    provider = "cpu"  # execution provider actually used ("tensorrt", "cuda", "cpu")
    # True when process() also takes ``streams``: per image, a key of the video stream it belongs
    # to (the camera), or None for a single picture; such backends track within each stream.
    uses_streams = False

    def process(self, images: list[np.ndarray], boxes: list[np.ndarray | None] | None = None) -> list[Poses]:
        """One :class:`Poses` per image (BGR uint8)."""
        raise NotImplementedError

    def describe(self) -> str:
        return f"{self.name} on {self.provider}"

"""Person boxes -> fixed-size model crops, and crop coordinates -> image pixels.

Top-down pose models see one person at a time in a crop of fixed size (W, H). A box
``x1, y1, x2, y2`` becomes a centre ``c`` and a size ``s = (sw, sh)``: padded by ``padding`` (1.25,
as RTMPose was trained), then the shorter side grown so that ``sw / sh = W / H`` (never cropped:
the whole person stays in view). The crop is the axis-aligned similarity

    u = (x - cx) * W / sw + W / 2,        v = (y - cy) * H / sh + H / 2

(one scale factor since the aspects match), applied with ``cv2.warpAffine`` (bilinear, zero
border), and its inverse maps decoded crop coordinates back to image pixels:

    x = (u - W / 2) * sw / W + cx,        y = (v - H / 2) * sh / H + cy.
"""

from __future__ import annotations

import cv2
import numpy as np


def boxes_to_center_scale(boxes: np.ndarray, input_size: tuple[int, int], padding: float = 1.25):
    """``boxes`` (N, 4) x1, y1, x2, y2 -> ``center`` (N, 2), ``scale`` (N, 2) with aspect W / H."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w_in, h_in = input_size
    center = (boxes[:, :2] + boxes[:, 2:]) / 2
    size = np.maximum(boxes[:, 2:] - boxes[:, :2], 1.0) * padding  # a degenerate box still crops
    aspect = w_in / h_in
    # grow the side that is too short for the model's aspect ratio
    sw = np.maximum(size[:, 0], size[:, 1] * aspect)
    sh = np.maximum(size[:, 1], size[:, 0] / aspect)
    return center, np.stack([sw, sh], axis=1)


def crop_matrices(center: np.ndarray, scale: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """(N, 2, 3) affine matrices image -> crop (see the module docstring)."""
    w_in, h_in = input_size
    k = np.asarray(input_size, dtype=np.float64) / scale  # (N, 2) pixels of crop per image pixel
    m = np.zeros((len(center), 2, 3))
    m[:, 0, 0], m[:, 1, 1] = k[:, 0], k[:, 1]
    m[:, :, 2] = np.array([w_in, h_in]) / 2 - center * k
    return m


def warp_crops(image: np.ndarray, matrices: np.ndarray, input_size: tuple[int, int],
               out: np.ndarray | None = None) -> np.ndarray:
    """Warp ``image`` (H, W, 3) with each matrix into ``out`` (N, h, w, 3) uint8 crops."""
    w_in, h_in = input_size
    if out is None:
        out = np.empty((len(matrices), h_in, w_in, image.shape[2]), dtype=image.dtype)
    for i, m in enumerate(matrices):  # one cv2 call per crop; cv2 does the pixel work in C
        cv2.warpAffine(image, m, (w_in, h_in), dst=out[i], flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out


def crop_to_image(points: np.ndarray, center: np.ndarray, scale: np.ndarray,
                  input_size: tuple[int, int]) -> np.ndarray:
    """Crop coordinates ``points`` (N, K, 2) -> image pixels (inverse of :func:`crop_matrices`)."""
    size = np.asarray(input_size, dtype=np.float64)
    return (points - size / 2) * (scale / size)[:, None, :] + center[:, None, :]


def normalize_batch(crops: np.ndarray, mean, std, to_rgb: bool, dtype=np.float32) -> np.ndarray:
    """(N, h, w, 3) uint8 BGR crops -> (N, 3, h, w) network input ``(pixel - mean) / std``.

    Done as one multiply-add over the whole batch (mean and std folded into scale and offset)."""
    x = crops[..., ::-1] if to_rgb else crops
    scale = (1.0 / np.asarray(std, dtype=np.float32))
    offset = -np.asarray(mean, dtype=np.float32) * scale
    x = x.astype(np.float32) * scale + offset
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=dtype)

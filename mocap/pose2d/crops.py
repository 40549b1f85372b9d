"""Person boxes -> fixed-size model crops, and crop coordinates -> image pixels.

Top-down pose models see one person at a time in a crop of fixed size (W, H). A box
``x1, y1, x2, y2`` becomes a centre ``c`` and a size ``s = (sw, sh)``: padded by ``padding`` (1.25,
as RTMPose was trained), then the shorter side grown so that ``sw / sh = W / H`` (never cropped:
the whole person stays in view). The crop is the axis-aligned similarity

    u = (x - cx) * W / sw + W / 2,        v = (y - cy) * H / sh + H / 2

(one scale factor since the aspects match), applied with ``cv2.warpAffine`` (bilinear, zero
border), and its inverse maps decoded crop coordinates back to image pixels:

    x = (u - W / 2) * sw / W + cx,        y = (v - H / 2) * sh / H + cy.

Numerics follow mmpose, where RTMPose / RTMW were trained, and rtmlib: centre and size are
computed in float32, and the affine matrix is solved (``cv2.getAffineTransform``) from three float32
points (the centre, the point half a width above it, and the point half a width to its left).
The matrix then differs from the exact one by ~1e-5 pixels, which matters only because
``cv2.warpAffine`` snaps source positions to a 1/32-pixel grid: built the same way, our crops are
bit-identical to theirs (``tests/test_pose2d_rtmlib.py``).
"""

from __future__ import annotations

import cv2
import numpy as np


def boxes_to_center_scale(boxes: np.ndarray, input_size: tuple[int, int], padding: float = 1.25):
    """``boxes`` (N, 4) x1, y1, x2, y2 -> ``center`` (N, 2), ``scale`` (N, 2) with aspect W / H
    (float32 arithmetic, returned as float64 arrays holding those values)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).astype(np.float32)
    w_in, h_in = input_size
    center = (b[:, :2] + b[:, 2:]) * np.float32(0.5)
    size = np.maximum(b[:, 2:] - b[:, :2], np.float32(1.0)) * np.float32(padding)  # a degenerate box still crops
    aspect = np.float32(w_in / h_in)
    sw, sh = size[:, 0], size[:, 1]
    wide = sw > sh * aspect  # grow the side that is too short for the model's aspect ratio
    scale = np.where(wide[:, None], np.stack([sw, sw / aspect], 1), np.stack([sh * aspect, sh], 1))
    return center.astype(np.float64), scale.astype(np.float64)


def crop_matrices(center: np.ndarray, scale: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """(N, 2, 3) affine matrices image -> crop (see the module docstring)."""
    w_in, h_in = input_size
    c = np.asarray(center, dtype=np.float64).reshape(-1, 2).astype(np.float32)
    half = (np.asarray(scale, dtype=np.float64).reshape(-1, 2)[:, 0] * -0.5).astype(np.float32)
    src = np.empty((len(c), 3, 2), np.float32)
    src[:, 0] = c
    src[:, 1, 0] = c[:, 0]
    src[:, 1, 1] = c[:, 1] + half          # half a width "up" from the centre
    d = src[:, 0] - src[:, 1]              # the third point: that offset turned 90 degrees
    src[:, 2, 0] = src[:, 1, 0] - d[:, 1]
    src[:, 2, 1] = src[:, 1, 1] + d[:, 0]
    dc = np.array([w_in * 0.5, h_in * 0.5], np.float32)
    dst = np.array([dc, dc + (0.0, -w_in * 0.5), dc + (0.0, -w_in * 0.5) + (-w_in * 0.5, 0.0)], np.float32)
    return np.stack([cv2.getAffineTransform(s, dst) for s in src]) if len(src) else np.zeros((0, 2, 3))


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


# --- rotated square crops (the MediaPipe landmark models: hands, face) ---------------------------
#
# The landmark models want the part upright and centred in a square of S x S pixels. A crop is
# given by its centre ``c`` (image pixels), its side ``s`` (image pixels) and the image direction
# ``up`` (unit vector) that becomes "up" (-y) in the crop. With pixel centres at integer
# coordinates in both images (as ``cv2.warpAffine`` samples them):
#
#     q = (S / s) R (p - c) + (S - 1) / 2,        R = [[-up_y, up_x], [-up_x, -up_y]]
#
# R is the rotation taking ``up`` to (0, -1) (and the direction (-up_y, up_x) to +x).


def rotated_crop_matrices(center: np.ndarray, side: np.ndarray, up: np.ndarray, size: int) -> np.ndarray:
    """(N, 2, 3) affine matrices image -> square crop of ``size`` pixels (see above)."""
    center = np.asarray(center, dtype=np.float64).reshape(-1, 2)
    up = np.asarray(up, dtype=np.float64).reshape(-1, 2)
    up = up / np.maximum(np.linalg.norm(up, axis=1, keepdims=True), 1e-12)
    k = size / np.asarray(side, dtype=np.float64).reshape(-1)
    rot = np.stack([np.stack([-up[:, 1], up[:, 0]], 1), np.stack([-up[:, 0], -up[:, 1]], 1)], 1)  # (N, 2, 2)
    lin = rot * k[:, None, None]
    m = np.empty((len(center), 2, 3))
    m[:, :, :2] = lin
    m[:, :, 2] = (size - 1) / 2 - np.einsum("nij,nj->ni", lin, center)
    return m


def invert_affine(m: np.ndarray) -> np.ndarray:
    """Inverse of (N, 2, 3) affine matrices."""
    lin = np.linalg.inv(m[:, :, :2])
    out = np.empty_like(m)
    out[:, :, :2] = lin
    out[:, :, 2] = -np.einsum("nij,nj->ni", lin, m[:, :, 2])
    return out


def apply_affine(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 2, 3) matrices applied to (N, K, 2) points."""
    return np.einsum("nij,nkj->nki", m[:, :, :2], points) + m[:, None, :, 2]

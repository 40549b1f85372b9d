"""RTMW3D-style models: the depth axis of a 3D SimCC output, and the camera-frame skeleton it gives.

RTMW3D (mmpose ``projects/rtmpose3d``) classifies each keypoint's coordinates separately, like the
2D SimCC models, with a third vector ``simcc_z`` (N, K, D k) over depth bins. Its codec
(``SimCC3DLabel``) encodes a keypoint's camera depth relative to the root (the mean depth of the
two hips) as ``bin = (z / z_range + 1) * D / 2 * k`` and decodes the argmax the other way:

    z = (bin / k / (D / 2) - 1) * z_range = (2 * bin / n_bins - 1) * z_range,     n_bins = D k,

in metres, with ``z_range`` = 2.1744869 m (the training set's statistic, fixed in the codec) and
D the depth size of the codec's input (288 for RTMW3D-l/x, the crop's width, not its height 384).
The number of bins is read from the output's own shape, so the mapping never depends on the crop:
a widely used ONNX port divides by half the crop *height* instead, which scales every depth by 0.75
and shifts it by 0.25 * z_range. x and y decode exactly as in 2D (crop pixels, then the inverse
crop affine to image pixels); the confidence is the 2D one (the smaller of the x and y maxima).

A 2D point and its depth make a 3D point once the root's depth ``Z0`` is known: with normalized
image coordinates ``(u, v)`` (undistorted, ``x / z`` and ``y / z`` in the camera frame) a keypoint
is ``(u, v, 1) * (Z0 + z)``. :func:`skeleton_from_depth` picks ``Z0`` so that the skeleton has the
person's height (:mod:`lifting.body`); placement then works on it like on any other root-relative
skeleton.
"""

from __future__ import annotations

import numpy as np

from lifting.body import root_of, stature

RTMW3D_Z_RANGE = 2.1744869  # metres (mmpose SimCC3DLabel's z_range)
RTMW3D_OUTPUTS = ("simcc_x", "simcc_y", "simcc_z")


def decode_simcc_depth(simcc_z: np.ndarray, z_range: float = RTMW3D_Z_RANGE) -> np.ndarray:
    """``simcc_z`` (N, K, n_bins) -> (N, K) depth in metres relative to the hips (see the module docstring)."""
    simcc_z = np.asarray(simcc_z)
    n_bins = simcc_z.shape[-1]
    return (2.0 * simcc_z.argmax(axis=-1) / n_bins - 1.0) * z_range


def skeleton_from_depth(uv: np.ndarray, depth: np.ndarray, height: float, *, iterations: int = 20,
                        min_depth: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """2D points and root-relative depths -> the root-relative skeleton in camera axes, ``height`` tall.

    uv: (..., K, 2) normalized image coordinates (NaN where unknown); depth: (..., K) metres relative
    to the hips' depth. Returns ``(rel (..., K, 3), z0 (...))``: the skeleton minus its root (the
    hips' midpoint) and the root depth that gives it the height.

    ``Z0`` solves ``stature(X(Z0)) = height`` by the fixed point ``Z0 <- Z0 * height / stature``:
    the sideways extent of the body grows in proportion to ``Z0`` while the depth differences stay,
    so the map's slope at the solution is between 0 and 1 and it converges from any start.
    """
    uv = np.asarray(uv, dtype=np.float64)
    depth = np.asarray(depth, dtype=np.float64)
    rays = np.concatenate([uv, np.ones(uv.shape[:-1] + (1,))], axis=-1)
    z0 = np.full(uv.shape[:-2], 3.0)
    for _ in range(iterations):
        h = stature(rays * (z0[..., None, None] + depth[..., None]))
        z0 = np.maximum(z0 * height / h, min_depth)
    points = rays * (z0[..., None, None] + depth[..., None])
    return points - root_of(points)[..., None, :], z0

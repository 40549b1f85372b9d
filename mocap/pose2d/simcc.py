"""SimCC decoding (RTMPose, RTMW, DWPose).

SimCC models classify each coordinate separately: for keypoint k they output a vector over
``W * r`` horizontal bins and one over ``H * r`` vertical bins (``r`` the split ratio, 2 for the
published models). The location is the argmax of each vector divided by ``r`` (crop pixels); the
confidence is the smaller of the two maxima (a keypoint is only as sure as its weaker axis). A
keypoint whose confidence is not positive has no location.
"""

from __future__ import annotations

import numpy as np


def decode_simcc(simcc_x: np.ndarray, simcc_y: np.ndarray, split_ratio: float = 2.0):
    """``simcc_x`` (N, K, Wr), ``simcc_y`` (N, K, Hr) -> ``xy`` (N, K, 2) crop pixels, ``score`` (N, K).

    Keypoints with confidence <= 0 get NaN coordinates and score 0.
    """
    ix = simcc_x.argmax(axis=-1)
    iy = simcc_y.argmax(axis=-1)
    vx = np.take_along_axis(simcc_x, ix[..., None], axis=-1)[..., 0]
    vy = np.take_along_axis(simcc_y, iy[..., None], axis=-1)[..., 0]
    score = np.minimum(vx, vy).astype(np.float64)
    xy = np.stack([ix, iy], axis=-1).astype(np.float64) / split_ratio
    missing = ~(score > 0)
    xy[missing] = np.nan
    score[missing] = 0.0
    return xy, score

"""SimCC decoding (RTMPose, RTMW, DWPose).

SimCC models classify each coordinate separately: for keypoint k they output a vector over
``W * r`` horizontal bins and one over ``H * r`` vertical bins (``r`` the split ratio, 2 for the
published models). The location is the argmax of each vector divided by ``r`` (crop pixels). The
confidence combines the two maxima: their **mean** by default, as rtmlib (the runtime Pose2Sim and
most RTMW users run, and our reference: ``tests/test_pose2d_rtmlib.py``) scores 2D keypoints, so
score thresholds carry over; ``score="min"`` takes the smaller one (mmpose's decoder, and rtmlib's
for RTMW3D: a keypoint only as sure as its weaker axis). A keypoint whose confidence is not
positive has no location.
"""

from __future__ import annotations

import numpy as np


def decode_simcc(simcc_x: np.ndarray, simcc_y: np.ndarray, split_ratio: float = 2.0, score: str = "mean"):
    """``simcc_x`` (N, K, Wr), ``simcc_y`` (N, K, Hr) -> ``xy`` (N, K, 2) crop pixels, ``score`` (N, K).

    ``score``: "mean" or "min" of the two axes' maxima (see the module docstring). Keypoints with
    confidence <= 0 get NaN coordinates and score 0.
    """
    if score not in ("mean", "min"):
        raise ValueError(f"score must be 'mean' or 'min', not {score!r}")
    ix = simcc_x.argmax(axis=-1)
    iy = simcc_y.argmax(axis=-1)
    vx = np.take_along_axis(simcc_x, ix[..., None], axis=-1)[..., 0].astype(np.float64)
    vy = np.take_along_axis(simcc_y, iy[..., None], axis=-1)[..., 0].astype(np.float64)
    conf = (vx + vy) / 2 if score == "mean" else np.minimum(vx, vy)
    xy = np.stack([ix, iy], axis=-1).astype(np.float64) / split_ratio
    missing = ~(conf > 0)
    xy[missing] = np.nan
    conf[missing] = 0.0
    return xy, conf

"""Which way is up for a standing person, from their own keypoints: for worlds whose up is unknown.

A calibration without a floor leaves the world in the first camera's frame (y down, z forward): a
Z-up consumer would lay the person on their side. The person's up is taken as the median, over
the frames, of the direction from the midpoint of the ankles (else of the hips) to the midpoint of
the shoulders; :func:`upright_rotation` is the smallest rotation taking it to +Z (the heading is
left as it was).
"""

from __future__ import annotations

import warnings

import numpy as np

from mocap import rotations as rot
from mocap.skeleton.wholebody import INDEX


def _mid(xyz, a, b):
    return (xyz[..., INDEX[a], :] + xyz[..., INDEX[b], :]) / 2


def up_direction(xyz: np.ndarray) -> np.ndarray | None:
    """The unit up vector of the person(s) in ``xyz`` (..., 133, 3); None when never seen."""
    top = _mid(xyz, "left_shoulder", "right_shoulder")
    bottom = _mid(xyz, "left_ankle", "right_ankle")
    bottom = np.where(np.isfinite(bottom), bottom, _mid(xyz, "left_hip", "right_hip"))
    v = (top - bottom).reshape(-1, 3)
    v = v[np.isfinite(v).all(-1)]
    v = v[np.linalg.norm(v, axis=-1) > 1e-6]
    if not len(v):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        up = np.median(v / np.linalg.norm(v, axis=-1, keepdims=True), axis=0)
    n = np.linalg.norm(up)
    return up / n if n > 1e-9 else None


def upright_rotation(xyz: np.ndarray) -> np.ndarray:
    """(3, 3) the smallest rotation taking the person's up (:func:`up_direction`) to +Z; identity
    when they are never seen. Apply as ``xyz @ R.T``."""
    up = up_direction(xyz)
    if up is None:
        return np.eye(3)
    return rot.to_matrix(rot.rotation_between(up, [0.0, 0.0, 1.0]))

"""Body proportions: how tall a skeleton is, from its bone lengths.

Monocular 3D is known only up to scale (MediaPipe's world landmarks have a size, but it is the
model's guess of an average body; a depth map with 2D keypoints has none until the distance is
known). The scale comes from the person's height: given, or :data:`TYPICAL_HEIGHT`. A skeleton's
own height is estimated from the bones least affected by pose: each bone's length divided by its
share of stature (anthropometric tables, Drillis & Contini 1966, as tabulated by Winter,
"Biomechanics and Motor Control of Human Movement", joint centre to joint centre) estimates the
stature once; the median over the bones present is robust to a bone or two that a model got
wrong or that are missing.

Shares of stature H: upper arm (shoulder-elbow) 0.186 H, forearm (elbow-wrist) 0.146 H, thigh
(hip-knee) 0.245 H, shank (knee-ankle) 0.246 H, trunk side (shoulder-hip of one side) 0.29 H and the
shoulder width between the COCO shoulder keypoints 0.22 H. Hip width is left out: where annotators
put the hip keypoints varies far more between datasets than any of the above. Hands: 0.108 H from
the wrist to the middle fingertip (:func:`scale_hands`).
"""

from __future__ import annotations

import warnings

import numpy as np

from mocap.skeleton import INDEX, LEFT_HAND, RIGHT_HAND

TYPICAL_HEIGHT = 1.70  # metres: an adult of either sex, rounded (the world average is 1.65-1.75)

# (a, b, share of stature)
STATURE_BONES = tuple(
    (INDEX[a], INDEX[b], share) for a, b, share in (
        ("left_shoulder", "left_elbow", 0.186), ("right_shoulder", "right_elbow", 0.186),
        ("left_elbow", "left_wrist", 0.146), ("right_elbow", "right_wrist", 0.146),
        ("left_hip", "left_knee", 0.245), ("right_hip", "right_knee", 0.245),
        ("left_knee", "left_ankle", 0.246), ("right_knee", "right_ankle", 0.246),
        ("left_shoulder", "left_hip", 0.29), ("right_shoulder", "right_hip", 0.29),
        ("left_shoulder", "right_shoulder", 0.22),
    ))
HIPS = (INDEX["left_hip"], INDEX["right_hip"])
HAND_SHARE = 0.108  # hand length (wrist crease to the middle fingertip) per stature
HANDS = (LEFT_HAND, RIGHT_HAND)
_MIDDLE_CHAIN = (0, 9, 10, 11, 12)  # wrist, middle finger MCP, PIP, DIP, tip (local hand indices)


def hand_lengths(xyz: np.ndarray) -> np.ndarray:
    """(..., 2) length of each hand (left, right) of skeletons (..., 133, 3): the middle finger's
    chain from the wrist, bone by bone, so that a closed fist measures as long as an open hand."""
    out = []
    for hand in HANDS:
        chain = xyz[..., [hand.start + k for k in _MIDDLE_CHAIN], :]
        out.append(np.linalg.norm(np.diff(chain, axis=-2), axis=-1).sum(-1))
    return np.stack(out, axis=-1)


def scale_hands(xyz: np.ndarray, height) -> np.ndarray:
    """Skeletons (T, P, 133, 3) with each hand scaled about its wrist point to ``HAND_SHARE`` of
    the person's height (P,) (one factor per person and hand: the median over frames).

    A body model and a hand model each guess a size; MediaPipe's hand world landmarks come out
    12-15 cm long against the 17-19 cm of an adult hand, so the hands are brought to the body's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # hands never seen
        length = np.nanmedian(hand_lengths(xyz), axis=0)  # (P, 2)
    factor = np.where(np.isfinite(length) & (length > 0), HAND_SHARE * np.asarray(height)[:, None] /
                      np.where(length > 0, length, 1.0), 1.0)
    out = xyz.copy()
    for side, hand in enumerate(HANDS):
        wrist = xyz[..., hand.start:hand.start + 1, :]
        out[..., hand, :] = wrist + factor[None, :, side, None, None] * (xyz[..., hand, :] - wrist)
    return out


def stature(xyz: np.ndarray, min_bones: int = 3) -> np.ndarray:
    """Estimated standing height of skeletons ``xyz`` (..., 133, 3): the median over the
    :data:`STATURE_BONES` present of length / share. NaN where fewer than ``min_bones`` are present."""
    xyz = np.asarray(xyz, dtype=np.float64)
    a, b, share = (np.array(v) for v in zip(*STATURE_BONES))
    estimates = np.linalg.norm(xyz[..., b, :] - xyz[..., a, :], axis=-1) / share
    enough = np.isfinite(estimates).sum(-1) >= min_bones
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN skeletons
        height = np.nanmedian(np.where(enough[..., None], estimates, np.nan), axis=-1)
    return height


def root_of(xyz: np.ndarray) -> np.ndarray:
    """The root of a skeleton (..., 133, 3): the midpoint of the hips (NaN if either is missing),
    the point RTMW3D and MediaPipe give their coordinates relative to."""
    return xyz[..., HIPS, :].mean(axis=-2)

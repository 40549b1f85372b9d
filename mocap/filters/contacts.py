"""When each foot stands on the floor: the one foot-contact detector (the filter stage writes its
result to ``foot_contacts.npz``; foot locking in :mod:`mocap.retarget` pins the feet with it).

A foot is **in contact** in a frame when

* its lowest point (heel, big toe, small toe, or the ankle less :data:`ANKLE_HEIGHT`, the ankle's
  height above the sole) is within ``height`` metres of the floor, and
* the foot (the mean of those four points) moves slower than ``speed`` m/s (central differences).

A foot not seen in a frame is not in contact there.

**The floor rule.** The floor is **z = 0 when the world frame says the floor is known**
(:attr:`Keypoints3D.floor_known <mocap.data.Keypoints3D.floor_known>`: a floor-aligned
calibration). Otherwise it is **estimated from the feet**: under each foot of each person, the 5th
percentile over the clip of that foot's lowest point (a low percentile rather than the minimum, so
that a few wrong keypoints cannot drag the floor down). :class:`FootContacts` says which rule
applied (``floor_known``) and holds the floor heights used (``floor``). In a world without a known
up (``world_frame`` "unaligned"), heights are measured along each person's own up (from their
posture, :func:`mocap.skeleton.upright_rotation`) and the floor is estimated.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from mocap.data import Keypoints3D
from mocap.errors import SettingsError
from mocap.skeleton.wholebody import INDEX

FEET = ("left", "right")
FOOT_POINTS = {side: np.array([INDEX[f"{side}_{p}"] for p in ("heel", "big_toe", "small_toe")]) for side in FEET}
ANKLE_HEIGHT = 0.07  # metres from the ankle keypoint down to the sole
FLOOR_PERCENTILE = 5.0


@dataclass(frozen=True)
class FootContacts:
    """What :func:`foot_contacts` found.

    contacts: (T, P, 2) whether the left (0) and right (1) foot of each person is on the floor.
    floor: (P, 2) the floor height under each foot, metres (0 where known; NaN: foot never seen).
    floor_known: True when the floor is z = 0 of a floor-aligned world, False when estimated from
        the feet (see the module docstring).
    """

    contacts: np.ndarray
    floor: np.ndarray
    floor_known: bool

    @property
    def floor_rule(self) -> str:
        """The rule that applied, in words (for reports and command-line output)."""
        return "the known floor (z = 0)" if self.floor_known else "the floor estimated from the feet"


def _feet(kp: Keypoints3D):
    """(low (T, P, 2) each foot's lowest point, centre (T, P, 2, 3)) along the world's (or, in a
    world without a known up, each person's own) up."""
    xyz = kp.xyz
    if kp.world_frame == "unaligned":  # no known up: heights are measured along the person's own up
        from mocap.skeleton import upright_rotation

        xyz = np.stack([xyz[:, p] @ upright_rotation(xyz[:, p]).T for p in range(xyz.shape[1])], axis=1) \
            if xyz.shape[1] else xyz
    lows, centres = [], []
    for side in FEET:
        pts = xyz[:, :, FOOT_POINTS[side]]  # (T, P, 3, 3)
        ankle = xyz[:, :, INDEX[f"{side}_ankle"]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # feet not seen
            lows.append(np.nanmin(np.concatenate([pts[..., 2], ankle[..., 2:3] - ANKLE_HEIGHT], -1), axis=-1))
            centres.append(np.nanmean(np.concatenate([pts, ankle[:, :, None]], 2), axis=2))
    return np.stack(lows, -1), np.stack(centres, 2)


def foot_lows(kp: Keypoints3D) -> np.ndarray:
    """(T, P, 2) the lowest point of each foot in each frame (NaN when unseen): what the floor is
    estimated from."""
    return _feet(kp)[0]


def floor_from_lows(lows: np.ndarray) -> np.ndarray:
    """(P, 2) the floor under each foot of each person: the low percentile of its lowest points."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(lows, FLOOR_PERCENTILE, axis=0) if len(lows) else np.full(lows.shape[1:], np.nan)


def foot_contacts(kp: Keypoints3D, *, height: float = 0.05, speed: float = 0.3,
                  floor: np.ndarray | None = None) -> FootContacts:
    """Foot contacts of every person of ``kp`` (133 COCO-WholeBody keypoints, metres, Z up), with
    the floor rule of the module docstring. ``floor`` (P, 2): the estimated floor heights to use
    (a long clip filtered piece by piece estimates them over the whole clip, :func:`floor_from_lows`)."""
    if not kp.fps > 0:
        raise SettingsError(f"the frame rate must be positive, got {kp.fps}")
    if not height > 0 or not speed > 0:
        raise SettingsError(f"foot contact height and speed must be positive, got {height} and {speed}")
    low, centre = _feet(kp)
    n_frames, n_persons = low.shape[:2]
    if kp.floor_known:
        floor = np.zeros((n_persons, 2))
    elif floor is None:
        floor = floor_from_lows(low)
    velocity = np.gradient(centre, axis=0) * kp.fps if n_frames > 1 else np.zeros_like(centre)
    moving = np.linalg.norm(velocity, axis=-1)  # (T, P, 2)
    contacts = (low - floor[None] < height) & (moving < speed)
    return FootContacts(contacts, np.asarray(floor, dtype=float), kp.floor_known)

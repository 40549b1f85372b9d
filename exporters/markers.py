"""What the marker formats (TRC, C3D) share: one person's 133 keypoints, checked and scaled."""

from __future__ import annotations

import numpy as np

from mocap.data import Keypoints3D
from mocap.errors import SettingsError
from mocap.skeleton.wholebody import N_KEYPOINTS

UNITS = {"m": 1.0, "cm": 100.0, "mm": 1000.0}


def person_markers(kp: Keypoints3D, person: int, units: str, fmt: str) -> np.ndarray:
    """(T, 133, 3) positions of ``person`` in ``units`` (world axes, Z up; a world without a known up
    is turned upright from the person's posture, with a warning); errors name ``fmt``."""
    if units not in UNITS:
        raise SettingsError(f"{fmt} units must be one of {sorted(UNITS)}, got {units!r}")
    if not 0 <= person < kp.n_persons:
        raise SettingsError(f"person {person} does not exist: the keypoints hold {kp.n_persons} person(s)")
    if kp.xyz.shape[2] != N_KEYPOINTS:
        raise ValueError(f"{fmt} needs the {N_KEYPOINTS} COCO-WholeBody keypoints, got {kp.xyz.shape[2]}")
    xyz = kp.xyz[:, person]
    if kp.world_frame == "unaligned":  # no known up: a Y-up or Z-up reader would lay the person down
        import warnings

        from mocap.skeleton import upright_rotation

        xyz = xyz @ upright_rotation(xyz).T
        warnings.warn(f"{fmt}: the keypoints' world has no known up (world frame 'unaligned'); the markers are "
                      "turned so that the person's own up (ankles to shoulders) is the file's up", stacklevel=3)
    return xyz * UNITS[units]

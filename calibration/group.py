"""A set of calibrated cameras sharing one world frame (what a calibration file holds).

Arrays over cameras put the camera axis first, in the group's order: ``project`` returns
``(C, ..., 2)`` and ``undistort_points`` takes ``(C, ..., 2)``, like ``Keypoints2D.xy``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from calibration.camera import Camera
from calibration.errors import CalibrationError


@dataclass(frozen=True, eq=False)
class CameraGroup:
    """Cameras in a fixed order, with unique names.

    ``metadata`` carries what a file said besides the cameras (the TOML ``[metadata]`` table, or
    the Qualisys residuals); writers keep it.
    """

    cameras: tuple[Camera, ...]
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        cameras = tuple(self.cameras)
        if not cameras:
            raise ValueError("a CameraGroup needs at least one camera")
        for camera in cameras:
            if not isinstance(camera, Camera):
                raise ValueError(f"a CameraGroup holds Camera objects, got {type(camera).__name__}")
        names = [c.name for c in cameras]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"camera names must be unique; repeated: {', '.join(duplicates)}")
        object.__setattr__(self, "cameras", cameras)
        object.__setattr__(self, "metadata", dict(self.metadata))

    # --- container ----------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cameras]

    @property
    def sizes(self) -> list[tuple[int, int]]:
        """(width, height) of each camera's image."""
        return [c.size for c in self.cameras]

    def __len__(self) -> int:
        return len(self.cameras)

    def __iter__(self) -> Iterator[Camera]:
        return iter(self.cameras)

    def __getitem__(self, key: int | str) -> Camera:
        """A camera by position or by name (KeyError naming the cameras there are)."""
        if isinstance(key, str):
            for camera in self.cameras:
                if camera.name == key:
                    return camera
            raise KeyError(f"no camera named {key!r}; the cameras are {', '.join(self.names)}")
        return self.cameras[key]

    def subset(self, names: Iterable[str]) -> "CameraGroup":
        """The cameras called ``names``, in that order; CalibrationError naming any missing."""
        names = list(names)
        by_name = {c.name: c for c in self.cameras}
        missing = [n for n in names if n not in by_name]
        if missing:
            wanted, there = ", ".join(map(repr, missing)), ", ".join(map(repr, self.names))
            raise CalibrationError(f"the calibration has no camera {wanted}; it has {there}")
        return CameraGroup(tuple(by_name[n] for n in names), self.metadata)

    # --- geometry -----------------------------------------------------------------------------

    def project(self, points) -> np.ndarray:
        """World points ``(..., 3)`` → distorted pixels in every camera ``(C, ..., 2)``."""
        return np.stack([c.project(points) for c in self.cameras])

    def undistort_points(self, xy) -> np.ndarray:
        """Distorted pixels ``(C, ..., 2)`` → normalized coordinates ``(C, ..., 2)``."""
        xy = np.asarray(xy, dtype=np.float64)
        if xy.ndim < 2 or xy.shape[0] != len(self.cameras):
            raise ValueError(f"expected pixels of shape ({len(self.cameras)}, ..., 2), got {xy.shape}")
        return np.stack([c.undistort_points(p) for c, p in zip(self.cameras, xy)])

    def extrinsic_matrices(self) -> np.ndarray:
        """(C, 3, 4) ``[R | t]`` of every camera (world → camera; pair with normalized points)."""
        return np.stack([c.extrinsic_matrix for c in self.cameras])

    def projection_matrices(self) -> np.ndarray:
        """(C, 3, 4) ``K [R | t]`` of every camera (world → undistorted pixels)."""
        return np.stack([c.projection_matrix for c in self.cameras])

    def __repr__(self) -> str:
        return f"CameraGroup({len(self.cameras)} cameras: {', '.join(self.names)})"

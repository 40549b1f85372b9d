"""One calibrated camera: intrinsics, lens distortion and pose, with projection both ways.

Conventions (OpenCV's, which the anipose / Pose2Sim TOML files share):

* Camera frame: x right, y down, z forward (along the optical axis); metres.
* Pose: ``rvec`` (Rodrigues) and ``tvec`` map world to camera: ``x_cam = R x_world + t``.
  The camera centre in the world is ``-Rᵀ t`` (:attr:`Camera.position`).
* Pixels: ``(u, v)`` with the origin at the centre of the top-left pixel (OpenCV's), u right,
  v down; ``size`` is ``(width, height)``.
* ``matrix`` is the 3×3 camera matrix ``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]``; the skew ``s`` is
  applied as written (it is 0 in every file we know of; OpenCV's pinhole functions ignore it).
* ``dist``: pinhole ``k1, k2, p1, p2[, k3[, k4, k5, k6]]`` or, with ``fisheye=True``, OpenCV's
  fisheye ``k1..k4`` (see :mod:`calibration.distortion`).

Every method takes any leading shape, e.g. ``(T, K, 3)`` points → ``(T, K, 2)`` pixels, and turns
a NaN input (a missing keypoint) into a NaN output, never an exception.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from calibration.distortion import FISHEYE_SIZE, PINHOLE_SIZES, distort, undistort_fisheye, undistort_pinhole
from calibration.rotation import as_rvec, rvec_to_matrix


def _vector3(value, what: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.size != 3 or array.ndim > 2:
        raise ValueError(f"{what} must hold 3 values, got shape {array.shape}")
    return array.reshape(3).copy()


def _frozen(array: np.ndarray) -> np.ndarray:
    # The dataclass is frozen; its arrays should not be silently editable either.
    array.setflags(write=False)
    return array


def to_pixels(distorted: np.ndarray, fx, fy, cx, cy, skew=0.0) -> np.ndarray:
    """Normalized distorted coordinates ``(..., 2)`` → pixels ``(..., 2)`` through the camera matrix
    ``[[fx, skew, cx], [0, fy, cy], [0, 0, 1]]``: ``u = fx xd + skew yd + cx``, ``v = fy yd + cy``.
    The entries are numbers, or arrays broadcasting against the points (one camera per point)."""
    xd, yd = distorted[..., 0], distorted[..., 1]
    return np.stack([fx * xd + skew * yd + cx, fy * yd + cy], axis=-1)


@dataclass(frozen=True, eq=False)
class Camera:
    """A calibrated camera (see the module docstring for every convention)."""

    name: str
    size: tuple[int, int]
    matrix: np.ndarray
    dist: np.ndarray
    rvec: np.ndarray
    tvec: np.ndarray
    fisheye: bool = False

    def __post_init__(self):
        def set_(key, value):  # the dataclass is frozen; __post_init__ is where it normalizes
            object.__setattr__(self, key, value)

        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a camera name must be a non-empty string, got {self.name!r}")
        size = np.asarray(self.size, dtype=np.float64)
        if size.shape != (2,) or not np.all(np.isfinite(size)) or np.any(size <= 0) or np.any(size != np.round(size)):
            raise ValueError(f"camera {self.name!r}: size must be (width, height) in whole pixels, got {self.size!r}")
        set_("size", (int(size[0]), int(size[1])))
        set_("fisheye", bool(self.fisheye))

        matrix = np.array(self.matrix, dtype=np.float64)
        if matrix.shape != (3, 3):
            raise ValueError(f"camera {self.name!r}: matrix must be 3×3, got shape {matrix.shape}")
        if matrix[0, 0] <= 0 or matrix[1, 1] <= 0 or matrix[1, 0] != 0 or not np.allclose(matrix[2], [0, 0, 1]):
            raise ValueError(
                f"camera {self.name!r}: matrix must be [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0"
            )
        dist = np.array(self.dist, dtype=np.float64).reshape(-1)
        allowed = (FISHEYE_SIZE,) if self.fisheye else PINHOLE_SIZES
        if dist.size not in allowed:
            model = "fisheye" if self.fisheye else "pinhole"
            counts = " or ".join(map(str, allowed))
            raise ValueError(
                f"camera {self.name!r}: a {model} camera takes {counts} distortion coefficients, got {dist.size}"
            )
        arrays = {"matrix": matrix, "dist": dist, "rvec": as_rvec(self.rvec), "tvec": _vector3(self.tvec, "tvec")}
        for key, array in arrays.items():
            if not np.all(np.isfinite(array)):
                raise ValueError(f"camera {self.name!r}: {key} holds non-finite values")
            set_(key, _frozen(array))

    # --- pose ---------------------------------------------------------------------------------

    @cached_property
    def R(self) -> np.ndarray:
        """(3, 3) world→camera rotation matrix."""
        return _frozen(rvec_to_matrix(self.rvec))

    @property
    def position(self) -> np.ndarray:
        """(3,) camera centre in world coordinates (metres): ``-Rᵀ t``."""
        return -self.R.T @ self.tvec

    @property
    def extrinsic_matrix(self) -> np.ndarray:
        """(3, 4) ``[R | t]``: world → camera frame."""
        return np.hstack([self.R, self.tvec[:, None]])

    @property
    def projection_matrix(self) -> np.ndarray:
        """(3, 4) ``K [R | t]``: homogeneous world point → homogeneous *undistorted* pixel."""
        return self.matrix @ self.extrinsic_matrix

    def with_pose(self, rvec, tvec) -> "Camera":
        """The same camera moved: ``rvec`` may be a rotation vector or a 3×3 world→camera matrix."""
        return dataclasses.replace(self, rvec=rvec, tvec=tvec)

    def replace(self, **changes) -> "Camera":
        """A copy with some fields changed (validated like a new camera)."""
        return dataclasses.replace(self, **changes)

    # --- projection ---------------------------------------------------------------------------

    def to_camera(self, points) -> np.ndarray:
        """World points ``(..., 3)`` → camera-frame points ``(..., 3)`` (z is the depth)."""
        points = np.asarray(points, dtype=np.float64)
        if points.shape[-1:] != (3,):
            raise ValueError(f"points must have shape (..., 3), got {points.shape}")
        return points @ self.R.T + self.tvec

    def project(self, points) -> np.ndarray:
        """World points ``(..., 3)`` → distorted pixels ``(..., 2)``; NaN for points behind the camera."""
        cam = self.to_camera(points)
        z = cam[..., 2:]
        with np.errstate(invalid="ignore", divide="ignore"):
            normalized = cam[..., :2] / z
        normalized = np.where(z > 0, normalized, np.nan)
        return self.distort_points(normalized)

    def distort_points(self, normalized) -> np.ndarray:
        """Normalized undistorted coordinates ``(..., 2)`` → distorted pixels ``(..., 2)``."""
        normalized = np.asarray(normalized, dtype=np.float64)
        if normalized.shape[-1:] != (2,):
            raise ValueError(f"normalized coordinates must have shape (..., 2), got {normalized.shape}")
        K = self.matrix
        return to_pixels(distort(normalized, self.dist, self.fisheye), K[0, 0], K[1, 1], K[0, 2], K[1, 2], K[0, 1])

    def undistort_points(self, xy) -> np.ndarray:
        """Distorted pixels ``(..., 2)`` → normalized undistorted coordinates ``(x/z, y/z)`` ``(..., 2)``.

        Exact to ~1e-12 wherever the distortion model is one-to-one (the whole image for any real
        lens); NaN where it is not, or where the input is NaN.
        """
        xy = np.asarray(xy, dtype=np.float64)
        if xy.shape[-1:] != (2,):
            raise ValueError(f"pixels must have shape (..., 2), got {xy.shape}")
        K = self.matrix
        yd = (xy[..., 1] - K[1, 2]) / K[1, 1]
        xd = (xy[..., 0] - K[0, 2] - K[0, 1] * yd) / K[0, 0]
        distorted = np.stack([xd, yd], axis=-1)
        if self.fisheye:
            return undistort_fisheye(distorted, self.dist)
        return undistort_pinhole(distorted, self.dist)

    def __repr__(self) -> str:
        model = "fisheye" if self.fisheye else "pinhole"
        fx, fy = self.matrix[0, 0], self.matrix[1, 1]
        pos = ", ".join(f"{v:.3f}" for v in self.position)
        size = f"{self.size[0]}×{self.size[1]}"
        return f"Camera({self.name!r}, {size} {model}, f=({fx:.1f}, {fy:.1f}), position=({pos}))"

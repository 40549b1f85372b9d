"""Rotation vectors (Rodrigues, as OpenCV and the calibration files store them) and matrices."""

from __future__ import annotations

import cv2
import numpy as np

# A rotation matrix read from a file is rounded; anything farther than this from orthonormal is
# not a rotation at all.
_ORTHONORMAL_TOL = 1e-6


def rvec_to_matrix(rvec: np.ndarray) -> np.ndarray:
    """(3,) rotation vector (axis × angle in radians) → (3, 3) rotation matrix."""
    return cv2.Rodrigues(np.asarray(rvec, dtype=np.float64).reshape(3, 1))[0]


def matrix_to_rvec(matrix: np.ndarray) -> np.ndarray:
    """(3, 3) rotation matrix → (3,) rotation vector. ValueError if it is not a rotation."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (3, 3) or not np.all(np.isfinite(matrix)):
        raise ValueError(f"a rotation matrix must be 3×3 and finite, got shape {matrix.shape}")
    if not np.allclose(matrix @ matrix.T, np.eye(3), atol=_ORTHONORMAL_TOL) or np.linalg.det(matrix) <= 0:
        raise ValueError("the matrix is not a rotation (not orthonormal with determinant +1)")
    return cv2.Rodrigues(matrix)[0].reshape(3)


def as_rvec(rotation) -> np.ndarray:
    """A rotation given as a (3,) rotation vector or a (3, 3) matrix → (3,) rotation vector."""
    rotation = np.asarray(rotation, dtype=np.float64)
    if rotation.shape == (3, 3):
        return matrix_to_rvec(rotation)
    if rotation.size == 3 and rotation.ndim <= 2:
        return rotation.reshape(3).copy()
    raise ValueError(f"a rotation must be a (3,) rotation vector or a (3, 3) matrix, got shape {rotation.shape}")


def look_at(position, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """World-to-camera rotation (OpenCV axes: x right, y down, z forward) for a camera at
    ``position`` looking at ``target`` with the world's ``up`` pointing up in the image (a camera
    looking straight along ``up`` gets some horizontal x)."""
    z = np.asarray(target, float) - np.asarray(position, float)
    z /= np.linalg.norm(z)
    x = np.cross(z, np.asarray(up, float))
    if np.linalg.norm(x) < 1e-9:
        x = np.cross(z, [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z])

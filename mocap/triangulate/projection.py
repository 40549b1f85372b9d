"""World points into every camera: the one projection triangulation, matching and swap detection use.

With a camera's extrinsic matrix ``[R | t]`` (world to camera), a world point X is at
``x_cam = R X + t`` in the camera frame (x right, y down, z forward), and its **normalized image
coordinates** are the perspective divide ``(u, v) = (x_cam / z_cam, y_cam / z_cam)``: the
undistorted image plane at unit focal length. ``focal · |uv_a - uv_b|`` is a distance in pixels
to first order, so everything downstream of the undistortion measures in pixels without running
the lens model in its loops (the observations are undistorted once, by the calibration).

A point projects only when it lies **in front of** the camera (``z_cam > MIN_DEPTH``); behind the
camera the divide flips the image and would make a wrong match look right.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

MIN_DEPTH = 1e-6  # metres in front of the camera centre below which a point does not project


class Projection(NamedTuple):
    """What :func:`project` returns: ``uv`` (C, ..., 2) normalized coordinates (NaN where the point
    is missing or not in front), ``depth`` (C, ...) ``z_cam`` (NaN where the point is missing) and
    ``front`` (C, ...) ``depth > MIN_DEPTH``."""

    uv: np.ndarray
    depth: np.ndarray
    front: np.ndarray


def project(extrinsics: np.ndarray, points: np.ndarray) -> Projection:
    """Normalized image coordinates of world ``points`` (..., 3) in each of the C cameras of
    ``extrinsics`` (C, 3, 4), with their depths and the front-of-camera mask (module docstring).

    One matrix product for every camera and point at once: the C rotations are stacked into a
    (3C, 3) matrix, so BLAS does the work (einsum would not, for these shapes).
    """
    extrinsics = np.asarray(extrinsics, dtype=float)
    points = np.asarray(points, dtype=float)
    n_cams = extrinsics.shape[0]
    lead = points.shape[:-1]
    flat = points.reshape(-1, 3)
    cam = extrinsics[:, :, :3].reshape(3 * n_cams, 3) @ flat.T + extrinsics[:, :, 3].reshape(-1, 1)
    cam = cam.reshape(n_cams, 3, -1)
    depth = cam[:, 2]
    front = depth > MIN_DEPTH
    inv_z = 1.0 / np.where(front, depth, np.nan)
    # (C, 2, N) computed in one pass and handed out as a (C, N, 2) view: no copy.
    uv = np.moveaxis(cam[:, :2] * inv_z[:, None], 1, -1)
    shape = (n_cams,) + lead
    return Projection(uv.reshape(shape + (2,)), depth.reshape(shape), front.reshape(shape))


def camera_depth(extrinsics: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(C, N) depth ``z_cam`` of points (N, 3) in each camera: :func:`project`'s depth alone, for
    callers that need no image coordinates (a point is in front where it exceeds MIN_DEPTH)."""
    extrinsics = np.asarray(extrinsics, dtype=float)
    return extrinsics[:, 2, :3] @ np.asarray(points, dtype=float).T + extrinsics[:, 2, 3, None]


def image_bounds(group) -> np.ndarray:
    """(C, 4) each camera's image extent in normalized coordinates: u_min, v_min, u_max, v_max
    (the box of the undistorted image corners and edge midpoints; association uses it to tell
    where a camera could see someone)."""
    bounds = []
    for cam in group.cameras:
        w, h = cam.size
        corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1], [w / 2, 0], [w / 2, h - 1],
                            [0, h / 2], [w - 1, h / 2]], dtype=float)
        uv = cam.undistort_points(corners)
        bounds.append([uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()])
    return np.array(bounds)

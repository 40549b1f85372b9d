"""First guess of every camera's pose from board views shared by pairs of cameras.

Algorithm:

1. Each camera's pose of the board in each view it saw (camera ← board), by planar PnP (IPPE)
   on undistorted normalized corners, so that pinhole and fisheye cameras are treated alike.
2. For every pair of cameras that saw the board at the same instant, each shared instant gives one
   estimate of the relative pose ``T_i←j = T_i←board · T_j←board⁻¹``. They are combined robustly:
   the medoid rotation (least summed angle to the others) picks the inliers (within 2° of it),
   whose rotations are averaged (chordal mean by SVD) and translations by the median.
3. The cameras form a graph whose edges are these pairs, weighted by the number of shared views.
   A maximum spanning tree from the first camera chains the relative poses, so that two cameras
   that never see the board together are still placed, through the others. Cameras outside the
   tree's component raise a CalibrationError naming them.
4. The board's world pose at each instant comes from the camera that saw most of its corners.

The world frame is the first camera's; :mod:`calibration.world` moves it afterwards.
"""

from __future__ import annotations

import cv2
import numpy as np

from calibration.camera import Camera
from calibration.errors import CalibrationError
from calibration.rotation import rvec_to_matrix

_INLIER_DEG = 2.0


def board_pose(camera: Camera, detection, object_points: np.ndarray):
    """(R, t) camera ← board of one detection, or None when PnP fails."""
    normalized = camera.undistort_points(detection.corners)
    ok_rows = np.all(np.isfinite(normalized), axis=1)
    if ok_rows.sum() < 4:
        return None
    obj = object_points[detection.ids][ok_rows].astype(np.float64)
    img = normalized[ok_rows].reshape(-1, 1, 2)
    ok, rvec, tvec = cv2.solvePnP(obj, img, np.eye(3), None, flags=cv2.SOLVEPNP_IPPE)
    if not ok:
        return None
    ok, rvec, tvec = cv2.solvePnP(obj, img, np.eye(3), None, rvec, tvec, useExtrinsicGuess=True,
                                  flags=cv2.SOLVEPNP_ITERATIVE)
    # A degenerate view (corners nearly on a line) can come back non-finite or behind the camera.
    if not ok or not (np.all(np.isfinite(rvec)) and np.all(np.isfinite(tvec))) or tvec.ravel()[2] <= 0:
        return None
    return rvec_to_matrix(rvec), tvec.reshape(3)


def _angle_deg(Ra: np.ndarray, Rb: np.ndarray) -> np.ndarray:
    """Angles (degrees) between rotation stacks (..., 3, 3)."""
    cos = (np.einsum("...ij,...ij->...", Ra, Rb) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def robust_mean_pose(Rs: np.ndarray, ts: np.ndarray):
    """Robust mean of poses (N, 3, 3), (N, 3): medoid-selected inliers, chordal rotation mean."""
    angles = _angle_deg(Rs[:, None], Rs[None])
    medoid = int(np.argmin(angles.sum(1)))
    inliers = angles[medoid] <= _INLIER_DEG
    U, _, Vt = np.linalg.svd(Rs[inliers].sum(0))
    R = U @ np.diag([1, 1, np.linalg.det(U @ Vt)]) @ Vt
    return R, np.median(ts[inliers], axis=0), int(inliers.sum())


def initial_poses(cameras: list[Camera], detections: dict, object_points: np.ndarray):
    """Cameras posed in the first camera's frame, and board poses (board → world) per instant.

    ``detections[camera_name][instant]`` is a Detection or None. Returns
    ``(cameras, board_world)`` with ``board_world[instant] = (R, t)``.
    """
    names = [c.name for c in cameras]
    poses = {}  # (camera index, instant) → (R, t) camera ← board
    for ci, cam in enumerate(cameras):
        for key, det in detections.get(cam.name, {}).items():
            if det is not None:
                pose = board_pose(cam, det, object_points)
                if pose is not None:
                    poses[ci, key] = pose
    instants = sorted({k for _, k in poses}, key=str)
    n = len(cameras)
    pair = {}
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            shared = [k for k in instants if (i, k) in poses and (j, k) in poses]
            if not shared:
                continue
            Rs, ts = [], []
            for k in shared:
                (Ri, ti), (Rj, tj) = poses[i, k], poses[j, k]
                R = Ri @ Rj.T
                Rs.append(R)
                ts.append(ti - R @ tj)
            pair[i, j] = (*robust_mean_pose(np.array(Rs), np.array(ts)), len(shared))
    # Prim's maximum spanning tree from camera 0, by shared-view count.
    world = {0: (np.eye(3), np.zeros(3))}  # camera ← world
    while len(world) < n:
        best = None
        for (i, j), (_, _, count, shared) in pair.items():
            if j in world and i not in world and (best is None or shared > best[2]):
                best = (i, j, shared)
        if best is None:
            lost = [names[i] for i in range(n) if i not in world]
            found = [names[i] for i in world]
            raise CalibrationError(
                f"cameras {', '.join(lost)} never saw the board at the same time as cameras {', '.join(found)} "
                "(directly or through other cameras); film the board where these cameras overlap")
        i, j, _ = best
        Rij, tij = pair[i, j][:2]
        Rj, tj = world[j]
        world[i] = (Rij @ Rj, Rij @ tj + tij)
    posed = [cam.with_pose(world[ci][0], world[ci][1]) for ci, cam in enumerate(cameras)]
    board_world = {}
    for key in instants:
        seen = [(len(detections[names[ci]][key]), ci) for ci in range(n) if (ci, key) in poses]
        _, ci = max(seen)
        Rcb, tcb = poses[ci, key]
        Rc, tc = world[ci]
        board_world[key] = (Rc.T @ Rcb, Rc.T @ (tcb - tc))
    return posed, board_world

"""Captured 3D -> pose maps from any camera: a calibrated one, or virtual cameras orbiting the subject.

The 3D points of every frame (``pose3d.npz``: :class:`Keypoints3D`; ``motion.npz``: the armature's
joints by forward kinematics, see :func:`motion_keypoints`) are projected with a
:class:`calibration.Camera` (lens distortion included) and drawn by
:func:`mocap.posemaps.draw.draw_pose_map`. A point behind the camera, or outside the picture by
more than its size, is not drawn.

Virtual cameras (:func:`orbit_cameras`): ``n`` distortion-free cameras on a horizontal circle
around the subject (world Z up), evenly spaced in azimuth, the first on the -Y side (where the
armature's rest pose faces), all at the height of the centre of the subject's points (1st to 99th
percentile box over all frames) and looking at it, with a 50-degree vertical field of view, at the
distance that makes the subject's largest extent fill 80 % of the picture height.
"""

from __future__ import annotations

import warnings

import numpy as np

from mocap.skeleton import INDEX, N_KEYPOINTS

VERTICAL_FOV = 50.0   # degrees, virtual cameras
FILL = 0.8            # the subject's height takes this share of the picture
# A standard head around the armature's head joint (between the ears), in its rest frame (metres;
# left +X, forward -Y, up +Z): the armature keeps one head joint, the pose map wants its points.
HEAD_POINTS = {"nose": (0.0, -0.10, -0.01), "left_eye": (0.032, -0.085, 0.03), "right_eye": (-0.032, -0.085, 0.03),
               "left_ear": (0.075, 0.0, 0.0), "right_ear": (-0.075, 0.0, 0.0)}


def look_at(position: np.ndarray, target: np.ndarray, up=(0.0, 0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """World -> camera rotation R and translation t (OpenCV camera: x right, y down, z forward) for a
    camera at ``position`` looking at ``target`` with world ``up`` pointing up in the picture."""
    from calibration.rotation import look_at as rotation_towards

    R = rotation_towards(position, target, up)
    return R, -R @ np.asarray(position, float)


def orbit_cameras(xyz: np.ndarray, n: int, size: tuple[int, int], fov: float = VERTICAL_FOV):
    """``n`` virtual :class:`calibration.Camera` orbiting points ``xyz`` (..., 3) (see the module
    docstring), named ``orbit000``, ``orbit001``, ..."""
    from calibration import Camera

    pts = np.asarray(xyz, float).reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(1)]
    if not len(pts):
        raise ValueError("no finite 3D point to orbit around")
    lo, hi = np.percentile(pts, 1, axis=0), np.percentile(pts, 99, axis=0)
    center = (lo + hi) / 2
    extent = max(hi[2] - lo[2], np.linalg.norm(hi[:2] - lo[:2]), 0.1)
    w, h = size
    f = (h / 2) / np.tan(np.radians(fov) / 2)
    radius = extent / 2 / (FILL * np.tan(np.radians(fov) / 2)) + np.linalg.norm(hi[:2] - lo[:2]) / 2
    K = np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]])
    cams = []
    for i in range(n):
        a = 2 * np.pi * i / n
        pos = center + radius * np.array([np.sin(a), -np.cos(a), 0.0])
        R, t = look_at(pos, center)
        cams.append(Camera(f"orbit{i:03d}", (w, h), K, np.zeros(5), R, t))
    return cams


def resize_camera(camera, size: tuple[int, int]):
    """The same camera delivering pictures of ``size`` (W, H): intrinsics scaled per axis about
    the pixel grid (pixel centres at integers: u' = (u + 0.5) s - 0.5)."""
    w0, h0 = camera.size
    sx, sy = size[0] / w0, size[1] / h0
    K = np.array(camera.matrix, float)
    K[0, 0] *= sx
    K[0, 1] *= sx
    K[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
    K[1, 1] *= sy
    K[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
    return camera.replace(size=(int(size[0]), int(size[1])), matrix=K)


def project_points(camera, xyz: np.ndarray) -> np.ndarray:
    """World points (..., 3) -> pixels (..., 2) in ``camera``; NaN behind it or far outside."""
    px = camera.project(np.asarray(xyz, float))
    w, h = camera.size
    far = (px[..., 0] < -w) | (px[..., 0] > 2 * w) | (px[..., 1] < -h) | (px[..., 1] > 2 * h)
    return np.where(far[..., None], np.nan, px)


def motion_keypoints(motion) -> np.ndarray:
    """A :class:`Motion` of mocap's whole-body armature -> (T, 1, 133, 3) keypoints: each joint
    that sits on one keypoint gives it (shoulders, elbows, wrists, hips, knees, ankles, toes as big
    toes, every finger joint), the head joint's rest frame carries a standard head
    (:data:`HEAD_POINTS`); the rest is NaN. Raises ValueError for other armatures (a rig preset
    that renamed the joints)."""
    from mocap import rotations
    from mocap.retarget import forward_kinematics

    names = list(motion.joint_names)
    index = {n: i for i, n in enumerate(names)}
    if "head" not in index or "left_wrist" not in index:
        raise ValueError("not mocap's whole-body armature (joints 'head', 'left_wrist', ... missing): "
                         "retarget with the default rig, or render from pose3d.npz")
    pos, world = forward_kinematics(motion, with_rotations=True)
    T = motion.n_frames
    out = np.full((T, 1, N_KEYPOINTS, 3), np.nan)
    for j, name in enumerate(names):
        key = name.replace("_toe", "_big_toe")
        if key not in INDEX:
            side, _, rest = name.partition("_")
            key = f"{side}_hand_{rest}"
        if key in INDEX:
            out[:, 0, INDEX[key]] = pos[:, j]
    h = index["head"]
    for name, offset in HEAD_POINTS.items():
        out[:, 0, INDEX[name]] = pos[:, h] + rotations.rotate(world[:, h], np.asarray(offset))
    return out


def render_frames(xyz: np.ndarray, score: np.ndarray, camera, min_score: float = 0.3):
    """Yield one RGB pose map per frame of ``xyz`` (T, P, 133, 3) seen by ``camera``."""
    from mocap.posemaps.draw import draw_pose_map

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        px = project_points(camera, xyz)
    for t in range(len(xyz)):
        yield draw_pose_map(px[t], np.where(np.isfinite(px[t]).all(-1), score[t], 0.0), camera.size, min_score)

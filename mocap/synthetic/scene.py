"""Synthetic camera rigs and what they see: exact truth for triangulation tests, the demo and benchmarks."""

from __future__ import annotations

import cv2
import numpy as np

from calibration import Camera, CameraGroup
from calibration.rotation import look_at
from mocap.data import Keypoints2D
from mocap.synthetic.motion import human_motion


def camera_ring(n_cameras: int = 4, *, radius: float = 4.0, height: float = 1.7, target=(0.0, 0.0, 0.9),
                size=(1920, 1080), distortion: bool = True, seed: int = 0) -> CameraGroup:
    """Cameras on a ring around ``target``, with realistic and all different intrinsics.

    Focal lengths give 55-70° of horizontal field of view, principal points sit 10-40 px off the
    image centre, and lenses have barrel distortion (k1 -0.05…-0.25) with small tangential terms.
    The world is floor-aligned (metadata ``world_frame``), as the synthetic people walk on z = 0.
    """
    rng = np.random.default_rng(seed)
    w, h = size
    cameras = []
    for i in range(n_cameras):
        angle = 2 * np.pi * i / n_cameras + rng.uniform(-0.2, 0.2)
        position = np.array([radius * np.cos(angle), radius * np.sin(angle), height + rng.uniform(-0.3, 0.3)])
        R = look_at(position, target)
        f = w / (2 * np.tan(np.radians(rng.uniform(55, 70)) / 2))
        offset = rng.uniform(10, 40, size=2) * rng.choice([-1, 1], size=2)
        matrix = np.array([[f, 0, w / 2 + offset[0]], [0, f * rng.uniform(0.998, 1.002), h / 2 + offset[1]], [0, 0, 1]])
        dist = ([rng.uniform(-0.25, -0.05), rng.uniform(0.0, 0.1), *rng.uniform(-1e-3, 1e-3, 2), 0.0]
                if distortion else [0.0] * 5)
        rvec = cv2.Rodrigues(R)[0].ravel()
        cameras.append(Camera(name=f"cam{i + 1:02d}", size=(w, h), matrix=matrix, dist=np.array(dist),
                              rvec=rvec, tvec=-R @ position))
    # The synthetic world is the floor frame: people walk on z = 0, Z up.
    return CameraGroup(tuple(cameras), {"world_frame": "floor (synthetic scene: Z up, the floor at z = 0)"})


def observe(group: CameraGroup, xyz: np.ndarray, *, noise_px: float = 0.5, dropout: float = 0.05,
            noise_follows_score: bool = False, fps: float = 30.0, seed: int = 0) -> Keypoints2D:
    """What ``group`` sees of 3D keypoints ``xyz`` (T, P, K, 3): projected with lens distortion,
    Gaussian pixel noise, a random ``dropout`` fraction of keypoints missing, and points outside an
    image missing in that camera. Scores are random in 0.5-1 where seen.

    The noise is ``noise_px`` for every keypoint, or, with ``noise_follows_score``, ``noise_px ·
    0.75 / score`` (the same mean), as with real detectors, whose confidence tracks their accuracy.
    """
    rng = np.random.default_rng(seed)
    xy = group.project(xyz)
    score = rng.uniform(0.5, 1.0, xy.shape[:-1])
    sigma = noise_px * 0.75 / score if noise_follows_score else np.full(score.shape, noise_px)
    xy = xy + rng.normal(0.0, 1.0, xy.shape) * sigma[..., None]
    sizes = np.array([cam.size for cam in group.cameras], dtype=float)
    inside = ((xy >= 0) & (xy <= sizes.reshape(-1, 1, 1, 1, 2) - 1)).all(-1)
    seen = inside & (rng.random(xy.shape[:-1]) >= dropout) & np.isfinite(xy).all(-1)
    score = np.where(seen, score, 0.0)
    return Keypoints2D(xy=np.where(seen[..., None], xy, np.nan), score=score, camera_names=group.names,
                       image_sizes=sizes.astype(int), fps=fps)


def synthetic_session(n_frames: int = 300, *, fps: float = 30.0, n_cameras: int = 4, noise_px: float = 0.5,
                      dropout: float = 0.05, bystander: bool = False, seed: int = 0):
    """A whole synthetic capture: ``(group, kp2d, truth)`` with truth (T, 1, 133, 3) in metres.

    With ``bystander`` a second person moves 2-3 m from the subject and is detected by only half
    of the cameras; in every frame the order of the detections in each view is shuffled, as a
    detector would list them. ``truth`` holds the subject only.
    """
    group = camera_ring(n_cameras, seed=seed)
    subject = human_motion(n_frames, fps, seed=seed)
    if not bystander:
        return group, observe(group, subject[:, None], noise_px=noise_px, dropout=dropout, fps=fps, seed=seed), subject[:, None]
    other = human_motion(n_frames, fps, seed=seed + 1, centre=(1.6, 1.9))
    kp = observe(group, np.stack([subject, other], axis=1), noise_px=noise_px, dropout=dropout, fps=fps, seed=seed)
    xy, score = kp.xy.copy(), kp.score.copy()
    xy[n_cameras // 2:, :, 1] = np.nan  # the bystander is hidden from the second half of the cameras
    score[n_cameras // 2:, :, 1] = 0.0
    rng = np.random.default_rng(seed + 7)
    order = np.argsort(rng.random((n_cameras, n_frames, 2)), axis=-1)  # shuffled detection order
    xy = np.take_along_axis(xy, order[..., None, None], axis=2)
    score = np.take_along_axis(score, order[..., None], axis=2)
    kp = Keypoints2D(xy=xy, score=score, camera_names=kp.camera_names, image_sizes=kp.image_sizes, fps=fps)
    return group, kp, subject[:, None]

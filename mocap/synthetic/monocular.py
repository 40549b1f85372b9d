"""What a monocular 3D model would say about a synthetic scene, and views that lose keypoints.

:func:`monocular_views` turns exact 3D keypoints into each camera's root-relative skeleton in
that camera's axes (x right, y down, z forward; root = the hips' midpoint), the input of
:mod:`lifting`, with the errors real models make: a size the model cannot know (one scale per
camera, 0.9-1.1), a few degrees of whole-body rotation that drifts slowly, a few degrees of error
in every bone's direction carried down the bone tree (a wrong elbow angle moves the whole hand),
and small per-point errors, larger in depth than sideways; all errors are correlated over time (a
model is wrong the same way on similar frames). With the defaults the root-relative error after a
per-frame similarity alignment is about 40-50 mm, the range RTMW3D reports on H3WB (MPJPE 56 mm)
and MediaPipe's world landmarks reach on the Pose2Sim demo (about 60 mm).

:func:`occlude` hides keypoints from every camera but one over a span of frames, as a hand behind
the body or a foot behind a box would be.
"""

from __future__ import annotations

import numpy as np

from mocap import rotations as rot
from mocap.data import Keypoints2D
from mocap.skeleton import PARENTS


def _smooth_noise(rng, shape, sigma_frames: float) -> np.ndarray:
    """Unit-variance Gaussian noise along axis 0, correlated over ``sigma_frames`` frames."""
    if sigma_frames <= 0:
        return rng.normal(size=shape)
    r = int(np.ceil(3 * sigma_frames))
    white = rng.normal(size=(shape[0] + 2 * r,) + tuple(shape[1:]))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma_frames) ** 2)
    k /= np.sqrt((k ** 2).sum())
    out = np.zeros((shape[0],) + tuple(shape[1:]))
    for i, w in enumerate(k):
        out += w * white[i:i + shape[0]]
    return out


def _rotations(angles: np.ndarray) -> np.ndarray:
    """(..., 3) small rotation vectors -> (..., 3, 3) matrices."""
    theta = np.linalg.norm(angles, axis=-1)
    return rot.to_matrix(rot.from_axis_angle(angles / np.maximum(theta, 1e-12)[..., None], theta))


def _tree_order() -> np.ndarray:
    """Keypoints ordered so that every parent comes before its children."""
    depth = np.zeros(len(PARENTS), dtype=int)
    for k in range(len(PARENTS)):
        j = k
        while PARENTS[j] >= 0:
            depth[k] += 1
            j = PARENTS[j]
    return np.argsort(depth, kind="stable")


def monocular_views(group, xyz: np.ndarray, *, bone_error_deg: float = 5.0, point_error: float = 0.01,
                    depth_factor: float = 2.0, rotation_deg: float = 3.0, scale_range: float = 0.1,
                    correlation_frames: float = 5.0, seed: int = 0) -> np.ndarray:
    """(C, T, P, K, 3) each camera's simulated monocular 3D of ``xyz`` (T, P, K, 3) world metres.

    bone_error_deg: per-axis error of each bone's direction (degrees), carried down the bone tree
    (an elbow's error moves the wrist and the hand, as a model's wrong joint angle does);
    point_error: per-axis sideways error (m) of each point on top, ``depth_factor`` times that in
    depth; rotation_deg: whole-body rotation error (per axis, degrees); scale_range: the model's
    size error (uniform 1 +- scale_range per camera); correlation_frames: time scale of the errors.
    """
    rng = np.random.default_rng(seed)
    xyz = np.asarray(xyz, dtype=np.float64)
    parents = np.asarray(PARENTS)
    order = _tree_order()
    out = []
    for cam in group.cameras:
        Xc = xyz @ cam.R.T + cam.tvec
        bone_rot = _rotations(np.radians(bone_error_deg) * _smooth_noise(rng, xyz.shape, correlation_frames))
        posed = Xc.copy()
        for k in order[1:]:  # rebuild from the root: each bone turned by its error
            p = parents[k]
            posed[..., k, :] = posed[..., p, :] + np.einsum("tpij,tpj->tpi", bone_rot[..., k, :, :],
                                                            Xc[..., k, :] - Xc[..., p, :])
        rel = posed - posed[..., [11, 12], :].mean(-2, keepdims=True)
        rot = _rotations(np.radians(rotation_deg) * _smooth_noise(rng, xyz.shape[:2] + (3,), 4 * correlation_frames))
        rel = np.einsum("tpij,tpkj->tpki", rot, rel)
        noise = _smooth_noise(rng, xyz.shape, correlation_frames) * point_error
        noise[..., 2] *= depth_factor
        rel = rel + noise
        scale = 1.0 + rng.uniform(-scale_range, scale_range)
        out.append(scale * (rel - rel[..., [11, 12], :].mean(-2, keepdims=True)))  # models answer root-relative
    return np.stack(out)


def occlude(kp2d: Keypoints2D, keypoints, frames: slice, visible_in: int, person: int = 0) -> Keypoints2D:
    """``kp2d`` with ``keypoints`` of ``person`` unseen (NaN, score 0) in ``frames`` by every camera
    except ``visible_in``."""
    xy, score = kp2d.xy.copy(), kp2d.score.copy()
    others = [c for c in range(kp2d.n_cameras) if c != visible_in]
    k = np.asarray(keypoints)
    for c in others:
        xy[c, frames, person, k] = np.nan
        score[c, frames, person, k] = 0.0
    return Keypoints2D(xy=xy, score=score, camera_names=kp2d.camera_names, image_sizes=kp2d.image_sizes,
                       layout=kp2d.layout, fps=kp2d.fps, frame_index=kp2d.frame_index, swapped=kp2d.swapped)

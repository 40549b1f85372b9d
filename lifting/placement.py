"""One camera's root-relative skeletons placed in the world.

Input: per frame and person, a root-relative skeleton ``rel`` (133, 3) in the camera's axes (x right,
y down, z forward; metres up to scale: RTMW3D through :func:`lifting.rtmw3d.skeleton_from_depth`,
MediaPipe's world landmarks) and the same person's 2D keypoints as normalized image coordinates
``uv`` (undistorted ``x / z``, ``y / z``) with their confidences. Steps:

1. **Scale.** Each skeleton is scaled to the person's height (given, measured with the feet on a
   known floor, else :data:`~lifting.body.TYPICAL_HEIGHT`) by its bone lengths
   (:func:`~lifting.body.stature`), and each hand to its share of that height
   (:func:`~lifting.body.scale_hands`: hand models guess their own size).
2. **Depth** (camera-frame translation ``t``). A point ``S + t`` projects onto ``(u, v)`` when
   ``u (S_z + t_z) - (S_x + t_x) = 0`` and likewise for v: two equations linear in ``t`` per point,
   whose residuals are the sideways miss in metres at the point's depth. ``t`` is their weighted
   least-squares solution over the confident body and feet points (2D score >= ``min_score``; the
   hands' and face's many small points would outvote the body they hang from), repeated twice
   with Huber weights so that a mislabelled point cannot drag the body. With scale fixed, the 2D
   size of the body sets its depth.
3. **Floor.** When the world's floor is known (z = 0, ``floor_known``), the lowest foot point
   (ankles, heels, toes; lowest relative to its usual height above the floor when planted,
   ``foot_clearance``) must be at that height: one more linear equation ``z_world(S_k + t) = c_k``, weighted
   like all the points together, so that for a camera looking down at the feet the floor fixes the
   depth as much as the body's size does.
4. **Smoothing.** The distance from the camera to the root is the least certain quantity; it is
   smoothed over time (a Gaussian of ``smoothing`` seconds, NaN-aware, per person) and ``t`` moved
   along its own ray to the smoothed distance, which keeps the root's reprojection.
5. **Rays.** A 2D keypoint says where a point is sideways far better than a monocular model does
   (a pixel against centimetres): each confident point is moved onto its own 2D keypoint's ray at
   the depth the placed skeleton gives it (``snap``), so the model only contributes depth there.
6. **World.** ``X_world = R^T (X_cam - tvec)`` with the camera's extrinsics.

Without extrinsics (a camera with no calibration) the result is the scaled root-relative skeleton in
the camera's frame (root at the origin): no depth can be found without the intrinsics.

Person-frames are left NaN, and counted, when fewer than ``min_points`` body points are confident
(mostly unseen) or when the confident 2D points span fewer than ``min_size_px`` pixels (too small).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lifting.body import TYPICAL_HEIGHT, root_of, scale_hands, stature
from mocap.skeleton import BODY, FEET, INDEX

FOOT_POINTS = (INDEX["left_ankle"], INDEX["right_ankle"]) + tuple(range(FEET.start, FEET.stop))
# Height above the floor of each foot point when the foot is planted, for a shod adult: keypoints
# mark the ankle bones and the surface of the heel and toes, not the sole (triangulated shod feet
# in the Pose2Sim demo sit 7-14 cm up at the ankles and 4-10 cm at heels and toes).
FOOT_CLEARANCE = np.array([0.08, 0.08] + [0.035, 0.035, 0.04] * 2)
BODY_POINTS = np.arange(BODY.start, FEET.stop)
B = BODY_POINTS  # the points depth is solved on: the body's, not the small far ends of hands and face


@dataclass(frozen=True, eq=False)
class Placement:
    """``xyz`` (T, P, K, 3) metres (world, or camera frame without extrinsics); ``translation``
    (T, P, 3) each skeleton's root in the camera frame (NaN where not placed, or without extrinsics);
    ``height`` (P,) the stature used for each person and ``height_source`` "given", "floor"
    (measured with the feet on the floor) or "typical"; person-frames ``n_placed``, ``n_unseen``
    (too few confident points) and ``n_too_small``."""

    xyz: np.ndarray
    translation: np.ndarray
    height: np.ndarray
    height_source: str
    n_placed: int
    n_unseen: int
    n_too_small: int


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """NaN-aware Gaussian smoothing along axis 0 of ``x`` (T, ...): each sample becomes the weighted
    mean of the valid samples near it; NaN samples stay NaN."""
    x = np.asarray(x, dtype=np.float64)
    if sigma <= 0 or len(x) < 2:
        return x.copy()
    valid = np.isfinite(x)
    values = np.where(valid, x, 0.0)
    radius = int(np.ceil(3 * sigma))
    total, weight = np.zeros_like(values), np.zeros_like(values)
    n = len(x)
    for d in range(-min(radius, n - 1), min(radius, n - 1) + 1):  # one shifted add per tap
        w = np.exp(-0.5 * (d / sigma) ** 2)
        lo, hi = max(0, -d), min(n, n - d)
        total[lo:hi] += w * values[lo + d:hi + d]
        weight[lo:hi] += w * valid[lo + d:hi + d]
    return np.where(valid, total / np.maximum(weight, 1e-12), np.nan)


def _rows(S, uv, w, with_scale: bool = False):
    """The reprojection equations of every point as rows ``A p = y`` with weights (module docstring).

    Unknowns ``p`` = ``t`` (3), and with ``with_scale`` also ``s`` (the skeleton is ``s S``).
    Returns A (..., 2K, 3 or 4), y (..., 2K), weights (..., 2K)."""
    u, v = uv[..., 0], uv[..., 1]
    zero, one = np.zeros_like(u), np.ones_like(u)
    rx, ry = S[..., 0] - u * S[..., 2], S[..., 1] - v * S[..., 2]
    ax = [-one, zero, u] + ([-rx] if with_scale else [])
    ay = [zero, -one, v] + ([-ry] if with_scale else [])
    A = np.concatenate([np.stack(ax, -1), np.stack(ay, -1)], axis=-2)
    y = np.concatenate([zero, zero], -1) if with_scale else np.concatenate([rx, ry], -1)
    return A, y, np.concatenate([w, w], -1)


def _solve(A, y, w):
    """Weighted least squares ``min sum w (A p - y)^2`` for every leading index; NaN where singular."""
    M = np.einsum("...ri,...r,...rj->...ij", A, w, A)
    b = np.einsum("...ri,...r,...r->...i", A, w, y)
    n = M.shape[-1]
    ok = np.abs(np.linalg.det(M)) > 1e-12 * np.maximum(np.abs(M).max(axis=(-2, -1)), 1e-300) ** n
    M = np.where(ok[..., None, None], M, np.eye(n))
    return np.where(ok[..., None], np.linalg.solve(M, b[..., None])[..., 0], np.nan)


def _floor_row(S, t, s, up, tvec, w, clearance):
    """The floor contact as one more row: the foot point of ``s S + t`` lowest relative to its
    clearance, at its clearance above z = 0.

    Returns (a (..., 1, 3), y (..., 1), weight (..., 1)) for the translation, and the chosen point's
    ``up . S_k`` (for the scale column); weight 0 where no foot point is known."""
    feet = S[..., FOOT_POINTS, :]
    z = (s[..., None, None] * feet + t[..., None, :] - tvec) @ up - clearance
    lowest = np.argmin(np.where(np.isfinite(z), z, np.inf), axis=-1)
    k = np.take_along_axis(feet, lowest[..., None, None], axis=-2)[..., 0, :]
    known = np.isfinite(z).any(-1) & np.isfinite(k).all(-1)
    a = np.broadcast_to(up, k.shape)[..., None, :]
    up_k = np.where(known, np.nan_to_num(k) @ up, 0.0)
    weight = np.where(known, w.sum(-1), 0.0)[..., None]
    return a, (up @ tvec + clearance[lowest])[..., None], weight, up_k


def _misses(S, t, uv):
    """(..., K) distance in normalized image units between each projected point and its 2D point."""
    X = S + t[..., None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.linalg.norm(X[..., :2] / X[..., 2:3] - uv, axis=-1)


def _fit(S, S0, uv0, w, up, tvec, floor_known: bool, free_scale: bool, clearance, iterations: int = 2):
    """Translation (and with ``free_scale`` the scale ``s``) of skeletons ``S`` in one camera.

    ``S`` holds NaN where unknown, ``S0`` / ``uv0`` zeros where ``w`` is 0. Starts from the
    fixed-scale reprojection solution, then ``iterations`` rounds of Huber reweighting and the
    floor contact on the lowest foot point. Returns ``t`` (..., 3), ``s`` (...)."""
    A, y, W = _rows(S0, uv0, w)
    t = _solve(A, y, W)
    s = np.ones(t.shape[:-1])
    for _ in range(iterations):
        miss = _misses(s[..., None, None] * S0, t, uv0)
        scale = np.maximum(2.5 * _weighted_median(miss, w), 2e-3)
        wk = np.where(w > 0, w * np.minimum(1.0, scale[..., None] / np.maximum(miss, 1e-12)), 0.0)
        A, y, W = _rows(S0, uv0, wk, with_scale=free_scale)
        if floor_known:
            a, yf, wf, up_k = _floor_row(S, t, s, up, tvec, wk, clearance)
            if free_scale:
                a = np.concatenate([a, up_k[..., None, None]], axis=-1)
            else:
                yf = yf - up_k[..., None]
            A, y, W = np.concatenate([A, a], -2), np.concatenate([y, yf], -1), np.concatenate([W, wf], -1)
        p = _solve(A, y, W)
        t = p[..., :3]
        if free_scale:
            s = p[..., 3]
    return t, s


def place(rel, uv, score, *, extrinsics=None, height: float | None = None, floor_known: bool = False,
          fps: float = 30.0, smoothing: float = 0.25, min_score: float = 0.3, min_points: int = 6,
          focal: float | None = None, min_size_px: float = 40.0, height_from_floor: bool = True,
          snap: bool = True, foot_clearance=None, hand_scale: bool = True) -> Placement:
    """Place root-relative skeletons seen by one camera (see the module docstring).

    rel: (T, P, K, 3) root-relative skeletons in camera axes; uv: (T, P, K, 2) normalized image
    coordinates of the same person's 2D keypoints; score: (T, P, K) their confidences.
    extrinsics: ``(R, tvec)`` world -> camera (``X_cam = R X_world + tvec``), or None.
    height: the person's stature in metres, or None: then, with a known floor and
        ``height_from_floor``, each person's height is measured (scale and depth solved together
        with the feet on the floor, the median over frames; kept when 1.2-2.3 m), else typical.
    focal: the camera's focal length in pixels (for ``min_size_px``; None skips the size test).
    smoothing: seconds (the Gaussian's sigma) of the depth smoothing; 0 for none.
    snap: move each confident point onto its own 2D keypoint's ray, at its depth (step 5).
    foot_clearance: height above the floor of the ankles, then the 6 foot points (COCO-WholeBody
        order) when planted; default :data:`FOOT_CLEARANCE` (0 for a skeleton whose soles are its points).
    hand_scale: bring each hand to an adult's share of the height (:func:`lifting.body.scale_hands`).
    """
    rel = np.asarray(rel, dtype=np.float64)
    uv = np.asarray(uv, dtype=np.float64)
    score = np.nan_to_num(np.asarray(score, dtype=np.float64))
    if rel.ndim != 4 or rel.shape[-1] != 3 or uv.shape != rel.shape[:-1] + (2,) or score.shape != rel.shape[:-1]:
        raise ValueError(f"rel {rel.shape}, uv {uv.shape}, score {score.shape}: expected (T, P, K, 3), "
                         f"(T, P, K, 2), (T, P, K)")
    if height is not None and not 0.5 <= height <= 2.6:
        raise ValueError(f"height must be a person's height in metres (0.5-2.6), got {height}")
    n_persons = rel.shape[1]
    heights = np.full(n_persons, TYPICAL_HEIGHT if height is None else float(height))
    source = "typical" if height is None else "given"

    unit = rel / stature(rel)[..., None, None]  # stature 1: the scale is the height
    w = np.where((score >= min_score) & np.isfinite(unit).all(-1) & np.isfinite(uv).all(-1), score, 0.0)
    uv0 = np.where(w[..., None] > 0, uv, 0.0)
    unit0 = np.where(w[..., None] > 0, unit, 0.0)
    unseen = (w[..., BODY_POINTS] > 0).sum(-1) < min_points
    too_small = np.zeros_like(unseen)
    if focal is not None:
        lo = np.where(w[..., None] > 0, uv, np.inf).min(-2)
        hi = np.where(w[..., None] > 0, uv, -np.inf).max(-2)
        too_small = ~unseen & ((hi - lo).max(-1) * focal < min_size_px)
    skip = unseen | too_small
    counts = int((~skip).sum()), int(unseen.sum()), int(too_small.sum())

    if extrinsics is None:
        rooted = unit - root_of(unit)[..., None, :]  # the hips' midpoint at the origin, whatever the model's root
        sized = rooted * heights[:, None, None]
        xyz = np.where(skip[..., None, None], np.nan, scale_hands(sized, heights) if hand_scale else sized)
        return Placement(xyz, np.full(rel.shape[:2] + (3,), np.nan), heights, source, *counts)

    clearance = FOOT_CLEARANCE if foot_clearance is None else np.broadcast_to(
        np.asarray(foot_clearance, dtype=np.float64), FOOT_CLEARANCE.shape)
    R, tvec = (np.asarray(a, dtype=np.float64) for a in extrinsics)
    tvec = tvec.reshape(3)
    up = R[:, 2]  # world z of a camera point X is up . (X - tvec)
    if height is None and floor_known and height_from_floor:
        h0 = heights[:, None, None]
        _, s = _fit(unit * h0, unit0[..., B, :] * h0, uv0[..., B, :], w[..., B], up, tvec, True, True, clearance)
        measured = np.nanmedian(np.where(skip, np.nan, s), axis=0) * heights if (~skip).any() else heights * np.nan
        plausible = (measured >= 1.2) & (measured <= 2.3)
        if plausible.any():
            heights = np.where(plausible, measured, heights)
            source = "floor"
    S = scale_hands(unit * heights[:, None, None], heights) if hand_scale else unit * heights[:, None, None]
    S0 = np.where(w[..., None] > 0, S, 0.0)
    t, _ = _fit(S, S0[..., B, :], uv0[..., B, :], w[..., B], up, tvec, floor_known, False, clearance)
    t = np.where(skip[..., None], np.nan, t)
    if smoothing > 0:
        dist = np.linalg.norm(t, axis=-1)
        t = t * (gaussian_smooth(dist, smoothing * fps) / dist)[..., None]
    X = S + t[..., None, :]
    if snap:  # confident points onto their own rays, at the depth the skeleton gives them
        rays = np.concatenate([uv0, np.ones(uv0.shape[:-1] + (1,))], axis=-1)
        X = np.where((w > 0)[..., None], rays * X[..., 2:3], X)
    xyz = (X - tvec) @ R  # R^T (X - tvec) for row vectors
    return Placement(xyz, t, heights, source, *counts)


def _weighted_median(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Median of ``x`` (..., K) over the entries with weight > 0 (NaN where none)."""
    masked = np.where(w > 0, x, np.nan)
    out = np.full(x.shape[:-1], np.nan)
    any_ = (w > 0).any(-1)
    out[any_] = np.nanmedian(masked[any_], axis=-1)
    return out

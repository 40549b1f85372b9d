"""Fill-in: 3D for the keypoints that fewer than two cameras agreed on, from one camera's lifted 3D.

Triangulation leaves a keypoint NaN when fewer than two views saw it (or agreed on it): a hand
behind the body, a foot behind a box. When one camera saw it, that camera's monocular 3D
(RTMW3D, MediaPipe's world landmarks: a root-relative skeleton in its own axes and scale) knows
where it is relative to the rest of the body. Per frame, person and camera:

1. **Align.** The similarity (scale, rotation, translation; :func:`lifting.align.similarity`)
   taking the camera's lifted body and feet (keypoints 0-22) onto the same frame's triangulated
   ones, fitted on the points both have (at least ``min_common``). This absorbs the model's scale
   and the camera's orientation, so the lifted 3D may be in any frame.
2. **Anchor.** A filled point hangs from its nearest triangulated ancestor in the bone tree
   (:data:`mocap.skeleton.PARENTS`): ``filled_k = tri_a + (aligned_k - aligned_a)``. The lifted 3D
   contributes the short vector from a joint that is known (a hand's shape from the triangulated
   wrist, an ankle from the knee) rather than a whole-body position, so the fit's leftover error at
   the far end of the body does not move it. Without any triangulated ancestor the aligned point
   is used as it is.
3. **Choose.** Of the cameras whose 2D confidence of the point is at least ``min_score`` (the
   cameras that saw it), the one whose alignment fits best (smallest RMS) fills it.

Filled points follow the :class:`~mocap.data.Keypoints3D` rule: ``source`` =
``SOURCE_LIFTED``, ``n_views`` 1, ``score`` the filling camera's 2D confidence and ``reproj_error``
the pixel distance in that camera between the filled point's projection and its 2D keypoint
(when the caller gives ``project`` and ``xy``; NaN otherwise). Triangulated points are unchanged;
points gap filling interpolated (``SOURCE_INTERPOLATED``) are replaced where a camera saw them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from lifting.align import similarity
from mocap.data import SOURCE_INTERPOLATED, SOURCE_LIFTED, SOURCE_TRIANGULATED, Keypoints3D
from mocap.skeleton import FEET, PARENTS

ALIGN_POINTS = np.arange(0, FEET.stop)  # body and feet: the points every lifting model has


@dataclass(frozen=True, eq=False)
class FillResult:
    """``keypoints`` with the filled points; ``camera`` (T, P, K) the index of the camera that
    filled each point (-1: not filled); ``n_filled`` points filled; ``n_unfilled`` points that some
    camera saw but none could fill (too few common points to align that frame)."""

    keypoints: Keypoints3D
    camera: np.ndarray
    n_filled: int
    n_unfilled: int


def nearest_present_ancestor(present: np.ndarray) -> np.ndarray:
    """(..., K) bool -> (..., K) index of each keypoint's nearest ancestor (parent, grandparent, ...)
    that is present; -1 where none is."""
    parents = np.asarray(PARENTS)
    anchor = np.broadcast_to(parents, present.shape).copy()
    for _ in range(len(parents)):  # climb until present or past the root; the tree is shallow
        safe = np.maximum(anchor, 0)
        climb = (anchor >= 0) & ~np.take_along_axis(present, safe, axis=-1)
        if not climb.any():
            break
        anchor = np.where(climb, parents[safe], anchor)
    return anchor


def fill_in(kp3d: Keypoints3D, lifted, lifted_score, *, min_score: float = 0.3, min_common: int = 6,
            anchor: bool = True, project=None, xy=None) -> FillResult:
    """Fill ``kp3d``'s missing points from lifted 3D (see the module docstring).

    lifted: (C, T, P, K, 3) each camera's lifted skeleton of each person (NaN where that camera has
        no detection of the person), in any frame and scale; lifted_score: (C, T, P, K) the
        camera's 2D confidence of each point.
    project: optional ``project(c, points (N, 3)) -> (N, 2)`` pixels in camera c, and xy
        (C, T, P, K, 2) the 2D keypoints there, for the filled points' reprojection errors.
    """
    lifted = np.asarray(lifted, dtype=np.float64)
    lifted_score = np.nan_to_num(np.asarray(lifted_score, dtype=np.float64))
    T, P, K = kp3d.xyz.shape[:3]
    if lifted.ndim != 5 or lifted.shape[1:] != (T, P, K, 3) or lifted_score.shape != lifted.shape[:-1]:
        raise ValueError(f"lifted {lifted.shape} and lifted_score {lifted_score.shape} must be (C, {T}, {P}, {K}, 3) "
                         f"and (C, {T}, {P}, {K}) for keypoints of shape {kp3d.xyz.shape}")
    tri = kp3d.xyz
    present = np.isfinite(tri).all(-1) & (kp3d.source == SOURCE_TRIANGULATED)
    target = np.where(present[..., None], tri, np.nan)
    fit = similarity(lifted[..., ALIGN_POINTS, :], target[None, ..., ALIGN_POINTS, :], min_points=min_common)
    aligned = fit.apply(np.nan_to_num(lifted))
    aligned = np.where(np.isfinite(lifted).all(-1)[..., None], aligned, np.nan)  # (C, T, P, K, 3)
    if anchor:
        anc = nearest_present_ancestor(present)  # (T, P, K)
        safe = np.maximum(anc, 0)
        tri_a = np.take_along_axis(target, safe[..., None], axis=-2)
        lift_a = np.take_along_axis(aligned, np.broadcast_to(safe[None, ..., None], aligned.shape[:-1] + (1,)), axis=-2)
        anchored = tri_a[None] + aligned - lift_a
        aligned = np.where(((anc >= 0)[None] & np.isfinite(anchored).all(-1))[..., None], anchored, aligned)

    missing = ~np.isfinite(tri).all(-1) | (kp3d.source == SOURCE_INTERPOLATED)
    seen = lifted_score >= min_score  # (C, T, P, K)
    usable = seen & np.isfinite(aligned).all(-1) & np.isfinite(fit.rms)[..., None]
    cost = np.where(usable, np.broadcast_to(fit.rms[..., None], usable.shape), np.inf)
    best = np.argmin(cost, axis=0)  # (T, P, K)
    fill = missing & usable.any(0)
    unfilled = missing & seen.any(0) & ~fill

    new_xyz = np.where(fill[..., None], np.take_along_axis(aligned, best[None, ..., None], 0)[0], tri)
    picked_score = np.take_along_axis(lifted_score, best[None], 0)[0]
    reproj = kp3d.reproj_error.copy()
    reproj[fill] = np.nan
    if project is not None and xy is not None:
        xy = np.asarray(xy, dtype=np.float64)
        for c in np.unique(best[fill]):
            sel = fill & (best == c)
            reproj[sel] = np.linalg.norm(np.asarray(project(int(c), new_xyz[sel])) - xy[c][sel], axis=-1)
    camera = np.where(fill, best, -1).astype(np.int16)
    out = dataclasses.replace(
        kp3d, xyz=new_xyz, score=np.where(fill, picked_score, kp3d.score), reproj_error=reproj,
        n_views=np.where(fill, 1, kp3d.n_views), source=np.where(fill, SOURCE_LIFTED, kp3d.source))
    return FillResult(out, camera, int(fill.sum()), int(unfilled.sum()))

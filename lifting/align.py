"""Similarity transforms between point sets (Umeyama 1991), batched and weighted.

Given corresponding points ``src`` and ``dst`` with weights, the scale ``s``, rotation ``R`` and
translation ``t`` minimizing ``sum w |s R src + t - dst|^2`` are: centre both sets on their
weighted means, take the SVD ``U D V^T`` of the weighted cross-covariance ``sum w dst' src'^T``;
then ``R = U diag(1, 1, d) V^T`` with ``d = sign(det U det V)`` (a rotation, never a reflection),
``s = trace(diag(D) diag(1, 1, d)) / sum w |src'|^2`` and ``t = mean_dst - s R mean_src``.
Every leading index (frames, persons, cameras) is solved at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Similarity:
    """``scale`` (...), ``rotation`` (..., 3, 3), ``translation`` (..., 3) and ``rms`` (...) the
    weighted root-mean-square distance left after the fit; all NaN where too few points."""

    scale: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    rms: np.ndarray

    def apply(self, points: np.ndarray) -> np.ndarray:
        """``s R p + t`` for points (..., K, 3) with the same leading shape."""
        return (self.scale[..., None, None] * np.einsum("...ij,...kj->...ki", self.rotation, points)
                + self.translation[..., None, :])


def similarity(src, dst, weight=None, *, min_points: int = 3, with_scale: bool = True) -> Similarity:
    """The similarity taking ``src`` (..., K, 3) onto ``dst`` (..., K, 3) (see the module docstring).

    weight: (..., K), default 1; points that are NaN in either set are left out. Fits with fewer
    than ``min_points`` points, or degenerate ones (all points on a line), are NaN.
    ``with_scale`` False fits a rigid transform (s = 1).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    src, dst = np.broadcast_arrays(src, dst)
    w = np.ones(src.shape[:-1]) if weight is None else np.broadcast_to(np.asarray(weight, np.float64), src.shape[:-1])
    w = np.where(np.isfinite(src).all(-1) & np.isfinite(dst).all(-1), w, 0.0)
    total = w.sum(-1)
    enough = ((w > 0).sum(-1) >= min_points) & (total > 0)
    safe = np.where(enough, total, 1.0)
    src0, dst0 = np.nan_to_num(src), np.nan_to_num(dst)
    mu_s = np.einsum("...k,...ki->...i", w, src0) / safe[..., None]
    mu_d = np.einsum("...k,...ki->...i", w, dst0) / safe[..., None]
    a = np.where(w[..., None] > 0, src0 - mu_s[..., None, :], 0.0)
    b = np.where(w[..., None] > 0, dst0 - mu_d[..., None, :], 0.0)
    cov = np.einsum("...k,...ki,...kj->...ij", w, b, a) / safe[..., None, None]
    U, D, Vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(U) * np.linalg.det(Vt))
    d = np.where(d == 0, 1.0, d)
    E = np.ones(D.shape)
    E[..., 2] = d
    R = np.einsum("...ij,...j,...jk->...ik", U, E, Vt)
    var_s = np.einsum("...k,...ki,...ki->...", w, a, a) / safe
    enough &= (D[..., 1] > 1e-9 * np.maximum(D[..., 0], 1e-300)) & (var_s > 0)  # not all on one line
    s = (D * E).sum(-1) / np.where(var_s > 0, var_s, 1.0) if with_scale else np.ones(var_s.shape)
    t = mu_d - s[..., None] * np.einsum("...ij,...j->...i", R, mu_s)
    fit = Similarity(s, R, t, np.zeros(s.shape))
    miss = np.linalg.norm(fit.apply(src0) - dst0, axis=-1)
    rms = np.sqrt((w * miss ** 2).sum(-1) / safe)
    nan = ~enough
    return Similarity(np.where(nan, np.nan, s), np.where(nan[..., None, None], np.nan, R),
                      np.where(nan[..., None], np.nan, t), np.where(nan, np.nan, rms))

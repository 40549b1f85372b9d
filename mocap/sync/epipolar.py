"""How well two views' keypoints fit one epipolar geometry when paired at a given time lag.

Keypoint k of the subject in view i at step t and keypoint k in view j at step t + lag are the
same body point only at the right lag; at a wrong lag a moving point has moved, and no
fundamental matrix explains both views. So the lag whose correspondences fit a fundamental
matrix best is the synchronization (no calibration needed: the matrix is fitted to the keypoints).

:func:`fit_fundamental`: Hartley-normalized eight-point fit, rank 2 enforced, refitted twice
with correspondences beyond 3 median errors left out (wrong detections, swapped limbs, a
bystander taken for the subject). :func:`misfit`: the median Sampson distance (pixels) of the
quarter of correspondences whose point moves fastest in view i: still points fit every lag
equally, so they would only dilute the difference.

The two views' geometry is the same at every lag, so one matrix, fitted at the lag that fits
best, scores its neighbours (a matrix refitted at each wrong lag would partly absorb the
misalignment and blunt the difference); :mod:`mocap.sync.motion` refits it where a neighbour
turns out better.
"""

from __future__ import annotations

import numpy as np

MAX_POINTS = 8000  # correspondences used per lag (evenly spread over time) on long recordings


def _normalizer(p: np.ndarray) -> np.ndarray:
    centre = p.mean(0)
    scale = np.sqrt(2) / max(np.mean(np.linalg.norm(p - centre, axis=1)), 1e-12)
    return np.array([[scale, 0, -scale * centre[0]], [0, scale, -scale * centre[1]], [0, 0, 1]])


def sampson(F: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Sampson distance (pixels) of correspondences p (N, 2) in view i, q (N, 2) in view j."""
    ph, qh = np.c_[p, np.ones(len(p))], np.c_[q, np.ones(len(q))]
    Fp, Ftq = ph @ F.T, qh @ F
    num = np.sum(qh * Fp, 1) ** 2
    den = Fp[:, 0] ** 2 + Fp[:, 1] ** 2 + Ftq[:, 0] ** 2 + Ftq[:, 1] ** 2
    return np.sqrt(num / np.maximum(den, 1e-300))


def fit_fundamental(p: np.ndarray, q: np.ndarray, iterations: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``(F, errors)`` with ``q^T F p = 0``, fitted robustly (module doc); errors per correspondence."""
    Tp, Tq = _normalizer(p), _normalizer(q)
    ph = np.c_[p, np.ones(len(p))] @ Tp.T
    qh = np.c_[q, np.ones(len(q))] @ Tq.T
    rows = (qh[:, :, None] * ph[:, None, :]).reshape(len(p), 9)
    keep = np.ones(len(p), bool)
    for _ in range(iterations):
        # The null vector of the rows: the eigenvector of their 9x9 scatter with the smallest
        # eigenvalue (normalized coordinates keep it well conditioned).
        _, vectors = np.linalg.eigh(rows[keep].T @ rows[keep])
        u, s, v = np.linalg.svd(vectors[:, 0].reshape(3, 3))
        F = Tq.T @ (u @ np.diag([s[0], s[1], 0.0]) @ v) @ Tp
        errors = sampson(F, p, q)
        keep = errors <= 3 * np.median(errors) + 1e-9
        if keep.sum() < 8:
            break
    return F, errors


def correspondences(a: np.ndarray, b: np.ndarray, lag: int, moving: np.ndarray):
    """``(p, q, speed)``: subject tracks a (T, K, 2) and b (T', K, 2) paired at a whole ``lag``
    (a[t] with b[t + lag]), where both are seen, with each point's speed in view i (moving (T, K));
    evenly thinned to MAX_POINTS."""
    t = np.arange(len(a))
    t = t[(t + lag >= 0) & (t + lag < len(b))]
    p, q, speed = a[t].reshape(-1, 2), b[t + lag].reshape(-1, 2), moving[t].reshape(-1)
    use = np.isfinite(p).all(1) & np.isfinite(q).all(1) & np.isfinite(speed)
    p, q, speed = p[use], q[use], speed[use]
    if len(p) > MAX_POINTS:
        pick = np.linspace(0, len(p) - 1, MAX_POINTS).astype(int)
        p, q, speed = p[pick], q[pick], speed[pick]
    return p, q, speed


def misfit(F: np.ndarray, p: np.ndarray, q: np.ndarray, speed: np.ndarray) -> float:
    """Median Sampson distance (pixels) of the fastest-moving quarter of the correspondences."""
    if len(p) < 16:
        return np.inf
    fast = speed >= np.percentile(speed, 75)
    return float(np.median(sampson(F, p[fast], q[fast])))

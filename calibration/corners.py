"""Subpixel board corners, by fitting a model of a blurred corner to the pixels around it.

Why not ``cv2.cornerSubPix``: its criterion (every gradient in the window points at the corner)
is evaluated on interpolated pixel samples, which pulls corners towards pixel centres and pixel
edges. On sharp images (blur σ ≤ 1 px) it is 0.02–0.06 px off depending on where the corner falls
within its pixel, and on a ChArUco board its window must stay small or it takes in the markers'
edges (0.2–2 px off on tilted, small views). Those errors are systematic: the bundle adjustment
turns them into a principal point off by a pixel and camera rotations off by 0.1°.

Model. Near corner ``q`` a board is two straight edges crossing at ``q``, with unit normals
``n1, n2``, blurred by the lens and the pixel (a Gaussian of width ``s``)::

    I(p) = a + b · E(n1·(p − q) / s) · E(n2·(p − q) / s),   E(t) = erf(t / √2)

``a`` is the local grey level, ``b`` the contrast. The model is even under ``p − q → q − p``, so
what it leaves out (corner rounding, edges that are not at right angles) cannot move ``q``; a
term for shading (a grey-level slope) would be odd, trade off against ``q`` and double the
spread, so it is left out. Every corner is fitted at once by Levenberg–Marquardt on its own
pixels — read as they are, never interpolated — over seven unknowns.

Pixels used: those within half a square of the corner in board coordinates (mapped through the
local affine map of the board, fitted to the neighbouring corners), and on a ChArUco board only
those along the two edges, short of the markers. The fit starts from a detector's corner (within
``max_move`` px); a corner whose fit does not converge near it is reported as failed.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf

_SQRT2 = np.sqrt(2.0)


def local_axes(grid: np.ndarray, corners: np.ndarray, *, sigma: float = 1.0) -> np.ndarray:
    """(N, 2, 2) local board → image maps: pixel offset ≈ ``axes[i] @ grid offset``.

    ``grid`` (N, 2) are the corners' board coordinates in squares, ``corners`` (N, 2) their
    pixels. Each map is an affine fit to the corners around corner ``i``, weighted by a Gaussian
    of ``sigma`` squares, so it follows perspective and lens distortion across the board.
    """
    grid, corners = np.asarray(grid, float), np.asarray(corners, float)
    d2 = ((grid[:, None] - grid[None]) ** 2).sum(-1)
    w = np.exp(-d2 / (2 * sigma**2))
    G = np.column_stack([grid, np.ones(len(grid))])
    M = np.einsum("kl,li,lj->kij", w, G, G)
    B = np.einsum("kl,li,lj->kij", w, G, corners)
    A = np.linalg.solve(M + 1e-9 * np.eye(3), B)  # (N, 3, 2): rows x, y, 1 → pixel
    return np.transpose(A[:, :2, :], (0, 2, 1))


def _window(gray, q0, axes, marker_margin, halo, half):
    """Pixel coordinates, values and a use-mask (n, m) for each corner's window of ±``half`` px."""
    h, w = gray.shape
    n = len(q0)
    o = np.arange(-half, half + 1)
    oy, ox = np.meshgrid(o, o, indexing="ij")
    px = np.round(q0[:, 0]).astype(int)[:, None, None] + ox
    py = np.round(q0[:, 1]).astype(int)[:, None, None] + oy
    inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
    values = gray[np.clip(py, 0, h - 1), np.clip(px, 0, w - 1)].astype(np.float64)
    inv = np.linalg.inv(axes)
    dx, dy = px - q0[:, 0, None, None], py - q0[:, 1, None, None]
    u = np.abs(inv[:, 0, 0, None, None] * dx + inv[:, 0, 1, None, None] * dy)
    v = np.abs(inv[:, 1, 0, None, None] * dx + inv[:, 1, 1, None, None] * dy)
    use = inside & (np.maximum(u, v) < 0.5)  # the next corners start one square away
    if marker_margin is not None:
        # Keep pixels nearer an edge than the markers are, less a blur halo (at least 0.6 px).
        px_u, px_v = np.linalg.norm(axes[:, :, 0], axis=1), np.linalg.norm(axes[:, :, 1], axis=1)
        band_v = np.maximum(marker_margin - halo / px_v, 0.6 / px_v)[:, None, None]
        band_u = np.maximum(marker_margin - halo / px_u, 0.6 / px_u)[:, None, None]
        use &= (v < band_v) | (u < band_u)
    return (px.reshape(n, -1).astype(float), py.reshape(n, -1).astype(float), values.reshape(n, -1),
            use.reshape(n, -1).astype(float))


def _model(theta, px, py):
    """Model values and their (n, m, 7) Jacobian; theta (n, 7) = qx, qy, α1, α2, s, a, b."""
    qx, qy, a1, a2, s, a, b = (theta[:, i, None] for i in range(7))
    dx, dy = px - qx, py - qy
    c1, s1, c2, s2 = np.cos(a1), np.sin(a1), np.cos(a2), np.sin(a2)
    t1, t2 = (c1 * dx + s1 * dy) / s, (c2 * dx + s2 * dy) / s
    e1, e2 = erf(t1 / _SQRT2), erf(t2 / _SQRT2)
    g1, g2 = np.sqrt(2 / np.pi) * np.exp(-0.5 * t1 * t1), np.sqrt(2 / np.pi) * np.exp(-0.5 * t2 * t2)
    value = a + b * e1 * e2
    jac = np.stack([
        -b * (g1 * e2 * c1 + e1 * g2 * c2) / s,
        -b * (g1 * e2 * s1 + e1 * g2 * s2) / s,
        b * g1 * e2 * (c1 * dy - s1 * dx) / s,
        b * e1 * g2 * (c2 * dy - s2 * dx) / s,
        -b * (g1 * e2 * t1 + e1 * g2 * t2) / s,
        np.ones_like(dx), e1 * e2], axis=-1)
    return value, jac


def _fit(gray, theta, axes, marker_margin, halo, half, iterations):
    """Levenberg–Marquardt on every corner at once from ``theta`` (n, 7); returns the fitted
    ``theta`` and each corner's number of pixels used."""
    px, py, values, use = _window(gray, theta[:, :2], axes, marker_margin, halo, half)
    # Grey levels for the current geometry by linear least squares: a and b enter linearly.
    shape = _model(theta, px, py)[1][..., 6]  # E1·E2
    basis = np.stack([use, use * shape], -1)
    ata = np.einsum("nmi,nmj->nij", basis, basis) + 1e-9 * np.eye(2)
    atb = np.einsum("nmi,nm->ni", basis, values)
    theta = theta.copy()
    theta[:, 5:7] = np.linalg.solve(ata, atb[..., None])[..., 0]

    def cost(th):
        return (use * (_model(th, px, py)[0] - values) ** 2).sum(1)

    current = cost(theta)
    damping = np.full(len(theta), 1e-3)
    eye = np.eye(7)
    for _ in range(iterations):
        value, jac = _model(theta, px, py)
        r = value - values
        jtj = np.einsum("nm,nmi,nmj->nij", use, jac, jac)
        jtr = np.einsum("nm,nmi,nm->ni", use, jac, r)
        diag = np.einsum("nii->ni", jtj)[:, :, None] * eye
        with np.errstate(all="ignore"):
            step = -np.linalg.solve(jtj + damping[:, None, None] * diag + 1e-12 * eye, jtr[..., None])[..., 0]
        trial = theta + step
        trial[:, 4] = np.clip(trial[:, 4], 0.2, 10.0)
        new = cost(trial)
        better = np.isfinite(new) & (new < current)
        theta = np.where(better[:, None], trial, theta)
        current = np.where(better, new, current)
        damping = np.where(better, damping * 0.3, damping * 10.0)
    return theta, use.sum(1)


def fit_corners(gray: np.ndarray, corners: np.ndarray, axes: np.ndarray, *, marker_margin: float | None = None,
                halo: float = 1.0, half: int = 8, max_half: int = 16, max_move: float = 2.0,
                iterations: int = 15) -> tuple[np.ndarray, np.ndarray]:
    """Refined ``corners`` (N, 2) and a mask of those whose fit succeeded (see the module docstring).

    ``axes`` from :func:`local_axes`; ``marker_margin`` is the white margin between a ChArUco
    square's edge and its marker, in squares (``(square - marker) / 2 / square``), None for a
    checkerboard; ``halo`` px of blur kept clear of the markers. The window is ±``half`` px (never
    beyond half a square); on blurry images, where that is under four blur widths, the fit is
    repeated once in a window of up to ±``max_half`` px.
    """
    q0 = np.asarray(corners, float)
    if len(q0) == 0:
        return q0.copy(), np.zeros(0, bool)
    gray = np.asarray(gray)
    axes = np.asarray(axes, float)
    # A view whose corners all lie on one line gives no second board axis: such corners are
    # reported as failed (the window below is built from a stand-in map).
    scale = np.einsum("nij,nij->n", axes, axes)
    degenerate = ~np.isfinite(scale) | (np.abs(np.linalg.det(np.nan_to_num(axes))) <= 1e-6 * np.nan_to_num(scale))
    axes = np.where(degenerate[:, None, None], 10.0 * np.eye(2), axes)
    # Start: edge normals from the board axes, 1 px of blur.
    eu, ev = axes[:, :, 0], axes[:, :, 1]
    theta = np.zeros((len(q0), 7))
    theta[:, :2] = q0
    theta[:, 2] = np.arctan2(eu[:, 0], -eu[:, 1])  # normal of the edge running along the board's x
    theta[:, 3] = np.arctan2(ev[:, 0], -ev[:, 1])
    theta[:, 4] = 1.0
    reach = int(np.ceil(0.5 * np.abs(axes).sum(2).max())) + 1  # half a square, largest over the view
    first = min(half, reach)
    theta, used = _fit(gray, theta, axes, marker_margin, halo, first, iterations)
    wider = min(int(np.ceil(4 * np.median(theta[:, 4]))), max_half, reach)
    if wider > first:
        theta, used = _fit(gray, theta, axes, marker_margin, halo, wider, iterations)
    q = theta[:, :2]
    ok = (~degenerate & np.isfinite(q).all(1) & (np.linalg.norm(q - q0, axis=1) < max_move) & (used >= 12)
          & (np.abs(theta[:, 6]) > 5.0) & (theta[:, 4] < 10.0))
    return np.where(ok[:, None], q, q0), ok

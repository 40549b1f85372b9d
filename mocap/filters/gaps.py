"""Gap filling: short runs of missing samples interpolated from the samples around them; and
spike removal, which makes the gaps a wrong sample should be.

Every series (a coordinate of a keypoint of a person) is handled at once: for each frame the
index of the previous and the next valid sample is found by a running maximum (minimum) over the
frame axis, so a gap's length and its neighbours are known everywhere without a loop. A gap is
filled only when it is interior (valid samples on both sides) and at most ``max_gap`` frames long;
longer gaps stay NaN, since inventing a second of motion is worse than admitting it is missing.

``linear`` joins the two neighbours with a straight line (exact on straight-line motion).
``cubic`` passes a cubic through the two valid samples on each side (Lagrange form; exact on any
cubic polynomial), and falls back to linear where a side has only one valid sample.

:func:`despike` removes points that jump away from their neighbours in time: a keypoint
triangulated from two views that disagree in a way geometry cannot see (a wrong detection along
the epipolar line) lands centimetres to metres off for a frame or two. A point farther than
``threshold`` metres from the median of its ``window`` neighbouring frames becomes NaN, for gap
filling to replace.
"""

from __future__ import annotations

import numpy as np

from mocap.errors import SettingsError

GAP_METHODS = ("linear", "cubic")


def _neighbours(valid: np.ndarray):
    """For (T, N) validity: index of the last valid sample at or before t, and of the first at or
    after t (-1 / T where there is none)."""
    n_frames = valid.shape[0]
    idx = np.arange(n_frames)[:, None]
    prev = np.maximum.accumulate(np.where(valid, idx, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(valid, idx, n_frames)[::-1], axis=0)[::-1]
    return prev, nxt


def fill_gaps(x: np.ndarray, *, max_gap: int = 10, method: str = "linear") -> np.ndarray:
    """Interpolate interior gaps of up to ``max_gap`` frames along axis 0 of ``x`` (T, ...).

    A sample is missing when it is NaN. Returns a copy; gaps longer than ``max_gap`` and missing
    samples before the first or after the last valid one stay NaN.
    """
    if method not in GAP_METHODS:
        raise SettingsError(f"gap filling method must be one of {', '.join(GAP_METHODS)}, got {method!r}")
    if int(max_gap) != max_gap or max_gap < 0:
        raise SettingsError(f"the longest gap to fill must be a whole number of frames >= 0, got {max_gap}")
    x = np.asarray(x, dtype=float)
    shape = x.shape
    flat = x.reshape(shape[0], -1).copy()
    n_frames = shape[0]
    if n_frames == 0 or max_gap == 0:
        return flat.reshape(shape)
    valid = np.isfinite(flat)
    prev, nxt = _neighbours(valid)
    t = np.arange(n_frames)[:, None] * np.ones_like(flat)
    fill = ~valid & (prev >= 0) & (nxt < n_frames) & (nxt - prev - 1 <= max_gap)
    cols = np.broadcast_to(np.arange(flat.shape[1]), flat.shape)
    p, q = np.clip(prev, 0, n_frames - 1), np.clip(nxt, 0, n_frames - 1)
    xp, xq = flat[p, cols], flat[q, cols]
    span = np.maximum(q - p, 1)
    out = np.where(fill, xp + (xq - xp) * (t - p) / span, flat)
    if method == "cubic":
        # The valid samples before p and after q: the neighbours of p - 1 and of q + 1.
        prev2 = np.where(p > 0, prev[np.maximum(p - 1, 0), cols], -1)
        next2 = np.where(q < n_frames - 1, nxt[np.minimum(q + 1, n_frames - 1), cols], n_frames)
        cubic = fill & (prev2 >= 0) & (next2 < n_frames)
        nodes = np.stack([prev2, p, q, next2]).astype(float)  # (4, T, N)
        values = np.stack([flat[np.clip(prev2, 0, n_frames - 1), cols], xp, xq,
                           flat[np.clip(next2, 0, n_frames - 1), cols]])
        lagrange = np.zeros_like(flat)
        for i in range(4):  # four Lagrange basis polynomials, each over all samples at once
            basis = np.ones_like(flat)
            for j in range(4):
                if j != i:
                    basis *= (t - nodes[j]) / np.where(cubic, nodes[i] - nodes[j], 1.0)
            lagrange += basis * np.where(cubic, values[i], 0.0)
        out = np.where(cubic, lagrange, out)
    return out.reshape(shape)


def bridge(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every interior gap filled linearly and the ends held at the first / last valid value, for
    filters that need a complete signal; returns the filled array and the mask of what was real.
    Series with no valid sample are left NaN."""
    x = np.asarray(x, dtype=float)
    real = np.isfinite(x)
    filled = fill_gaps(x, max_gap=x.shape[0], method="linear") if x.shape[0] else x.copy()
    flat = filled.reshape(x.shape[0], -1)
    valid = np.isfinite(flat)
    prev, nxt = _neighbours(valid)
    cols = np.broadcast_to(np.arange(flat.shape[1]), flat.shape)
    n_frames = flat.shape[0]
    first = flat[np.clip(nxt, 0, n_frames - 1), cols]  # leading NaN: the first valid value
    last = flat[np.clip(prev, 0, n_frames - 1), cols]  # trailing NaN: the last valid value
    flat = np.where(valid, flat, np.where(prev < 0, first, last))
    return flat.reshape(x.shape), real


def despike(xyz: np.ndarray, *, threshold: float = 0.1, window: int = 7) -> np.ndarray:
    """Points (T, ..., 3) farther than ``threshold`` from their temporal median (over ``window``
    frames centred on them, NaN ignored, coordinate by coordinate) set to NaN."""
    if not threshold > 0:
        raise SettingsError(f"the spike threshold must be a positive distance, got {threshold}")
    if int(window) != window or window < 3 or window % 2 == 0:
        raise SettingsError(f"the spike window must be an odd number of frames >= 3, got {window}")
    xyz = np.asarray(xyz, dtype=float)
    n_frames = xyz.shape[0]
    if window > n_frames:
        raise SettingsError(f"the spike window of {window} frames is longer than the clip ({n_frames} frames)")
    half = window // 2
    pad = np.concatenate([np.full((half,) + xyz.shape[1:], np.nan), xyz, np.full((half,) + xyz.shape[1:], np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(pad, window, axis=0)  # (T, ..., 3, window)
    # Median by sorting (NaN last): numpy's nanmedian is slow on many short rows.
    ordered = np.sort(windows, axis=-1)
    n = np.isfinite(ordered).sum(-1)
    lo = np.take_along_axis(ordered, np.maximum((n - 1) // 2, 0)[..., None], -1)[..., 0]
    hi = np.take_along_axis(ordered, np.maximum(n // 2, 0)[..., None], -1)[..., 0]
    median = np.where(n > 0, 0.5 * (lo + hi), np.nan)
    spike = np.linalg.norm(xyz - median, axis=-1) > threshold
    return np.where(spike[..., None], np.nan, xyz)

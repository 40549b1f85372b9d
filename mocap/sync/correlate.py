"""Time-delay estimation: cross-correlation curves, their peak, and offsets from pairs of cameras.

Convention everywhere in :mod:`mocap.sync`: if an event is at index ``a`` of signal ``x`` (camera
i) and at index ``a + d`` of signal ``y`` (camera j), the lag of j relative to i is ``d``, and
``c(l) = sum_t x(t) y(t + l)`` peaks at ``l = d``. A camera's offset ``o`` is its frame at the
reference camera's frame 0, so the lag of a pair is ``o_j - o_i``.

* :func:`masked_ncc`: Pearson correlation of two signals with missing samples, for every lag,
  computed only over the samples both have at that lag (the masked normalized cross-correlation:
  every windowed sum is one FFT correlation of the signals or masks). Missing samples are left
  out, never filled with 0, so gaps cannot correlate with each other.
* :func:`gcc_phat`: generalized cross-correlation with phase transform: the cross-spectrum is
  divided by (a power of) its magnitude, so every frequency votes about equally and the peak is
  sharp whatever the microphones' colour (the standard estimator for audio time delays).
* :func:`pick_peak`: the best lag within bounds, refined to a fraction of a sample by a parabola
  through the peak and its neighbours, with a confidence: ``1 - second / first``, where ``second``
  is the highest value outside the peak's main lobe (the lobe ends at the first local minimum on
  each side, and never closer than ``exclude`` samples). 1 is an unambiguous peak, 0 a tie (a
  periodic motion, a repeated sound, or no signal).
* :func:`combine_pairs`: the offsets of all cameras from the lags of all pairs, by weighted least
  squares (weights = confidences); while a pair disagrees with the solution by more than
  ``tolerance``, the worst one whose removal leaves every camera linked is dropped and the rest
  solved again. A camera's confidence is that of its best chain
  of agreeing pairs from the reference camera: the largest, over chains, of the weakest pair in
  the chain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft


def _xcorr(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """``sum_t a(t) b(t + l)`` for every lag along the last axis, circular over ``n`` (index ``l mod n``)."""
    return sfft.irfft(np.conj(sfft.rfft(a, n, axis=-1)) * sfft.rfft(b, n, axis=-1), n, axis=-1)


def lags_of(len_x: int, len_y: int) -> np.ndarray:
    """The lags a correlation of signals of these lengths covers: -(len_x - 1) ... len_y - 1."""
    return np.arange(-(len_x - 1), len_y)


def overlap_of(len_x: int, len_y: int) -> np.ndarray:
    """Samples two complete signals share at each lag of :func:`lags_of` (x[t] with y[t + lag])."""
    lags = lags_of(len_x, len_y)
    return np.minimum(len_x, len_y - lags) - np.maximum(0, -lags)


def _unwrap(circular: np.ndarray, len_x: int, len_y: int) -> np.ndarray:
    """Circular correlation values (last axis) reordered to :func:`lags_of` order."""
    return circular[..., lags_of(len_x, len_y) % circular.shape[-1]]


def masked_ncc(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-lag Pearson correlation of ``x`` and ``y`` (NaN = missing), over the samples both have.

    x (..., Nx), y (..., Ny): channels along the leading axes are correlated channel by channel.
    Returns ``(lags, rho, overlap)``: rho (..., Nx + Ny - 1) is NaN where fewer than 3 samples
    overlap or a side is constant there; ``overlap`` is the number of samples used at each lag.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    mx, my = np.isfinite(x).astype(float), np.isfinite(y).astype(float)
    # Centre first: the sums of squares below are then small and their differences accurate.
    x0 = np.where(mx > 0, x, 0.0)
    y0 = np.where(my > 0, y, 0.0)
    x0 = np.where(mx > 0, x0 - x0.sum(-1, keepdims=True) / np.maximum(mx.sum(-1, keepdims=True), 1), 0.0)
    y0 = np.where(my > 0, y0 - y0.sum(-1, keepdims=True) / np.maximum(my.sum(-1, keepdims=True), 1), 0.0)
    nx, ny = x.shape[-1], y.shape[-1]
    n = sfft.next_fast_len(nx + ny - 1, real=True)

    def corr(a, b):
        return _unwrap(_xcorr(a, b, n), nx, ny)

    overlap = np.rint(corr(mx, my))
    sx, sy = corr(x0, my), corr(mx, y0)
    sxx, syy = corr(x0 * x0, my), corr(mx, y0 * y0)
    sxy = corr(x0, y0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sy / overlap
        var_x = sxx - sx * sx / overlap
        var_y = syy - sy * sy / overlap
        # A side constant over the overlap has a variance of rounding size only.
        varied = (var_x > 1e-9 * np.sum(x0 * x0, -1, keepdims=True) + 1e-300) \
            & (var_y > 1e-9 * np.sum(y0 * y0, -1, keepdims=True) + 1e-300)
        rho = np.where((overlap >= 3) & varied, cov / np.sqrt(var_x * var_y), np.nan)
    return lags_of(nx, ny), np.clip(rho, -1.0, 1.0), overlap.astype(np.int64)


def gcc_phat(x: np.ndarray, y: np.ndarray, beta: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """``(lags, value)`` of the phase-transform cross-correlation of two complete signals.

    The cross-spectrum is divided by its magnitude to the power ``beta``: 1 is the pure phase
    transform (every frequency votes equally; a pure delay gives a peak of height 1), 0 the plain
    correlation. 0.7 keeps a little more weight where the sound is: with clicks under loud
    microphone noise (synthetic sessions, noise std 0.1 against clicks of 0.4-0.9) it found 20 of
    20 offsets, pure PHAT 17 and the plain correlation 19.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = sfft.next_fast_len(len(x) + len(y) - 1, real=True)
    spectrum = np.conj(sfft.rfft(x, n)) * sfft.rfft(y, n)
    magnitude = np.abs(spectrum)
    floor = 1e-12 * max(magnitude.max(), 1e-300)
    spectrum = np.where(magnitude > floor, spectrum / np.maximum(magnitude, floor) ** beta, 0)
    return lags_of(len(x), len(y)), _unwrap(sfft.irfft(spectrum, n), len(x), len(y))


@dataclass(frozen=True)
class Peak:
    lag: float  # sub-sample lag of the peak
    value: float  # correlation at the integer peak
    second: float  # best value outside the main lobe (-inf when there is none)
    confidence: float  # 1 - max(second, 0) / value, in [0, 1]


def pick_peak(lags: np.ndarray, values: np.ndarray, allowed: np.ndarray | None = None, exclude: int = 1) -> Peak:
    """The highest ``values`` among ``allowed`` lags, refined to a sub-sample lag (see module doc).

    Raises ValueError when no allowed lag has a finite value.
    """
    v = np.where(np.isfinite(values) & (True if allowed is None else allowed), values, -np.inf)
    i = int(np.argmax(v))
    if not np.isfinite(v[i]):
        raise ValueError("no lag has a correlation")
    lag = float(lags[i])
    if 0 < i < len(v) - 1 and np.isfinite(v[i - 1]) and np.isfinite(v[i + 1]):
        curvature = v[i - 1] - 2 * v[i] + v[i + 1]
        if curvature < 0:
            lag += float(np.clip(0.5 * (v[i - 1] - v[i + 1]) / curvature, -0.5, 0.5))
    lo = i
    while lo > 0 and v[lo - 1] <= v[lo]:
        lo -= 1
    hi = i
    while hi < len(v) - 1 and v[hi + 1] <= v[hi]:
        hi += 1
    lo, hi = min(lo, i - exclude), max(hi, i + exclude)
    outside = np.concatenate([v[:max(lo, 0)], v[hi + 1:]])
    second = float(outside.max()) if outside.size else -np.inf
    top = float(v[i])
    confidence = 0.0 if top <= 0 else float(np.clip(1 - max(second, 0.0) / top, 0.0, 1.0))
    return Peak(lag, top, second, confidence)


@dataclass(frozen=True)
class PairLag:
    i: int
    j: int
    lag: float  # o_j - o_i, in reference frames
    confidence: float


def combine_pairs(n_cameras: int, pairs: list[PairLag], reference: int = 0,
                  tolerance: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Offsets ``o`` (o[reference] = 0) and per-camera confidences from pairwise lags (module doc).

    A camera no agreeing pair links to the reference gets confidence 0.
    """
    used = [p for p in pairs if p.confidence > 0] or list(pairs)
    offsets = _least_squares(n_cameras, used, reference)
    while (rest := _without_worst(n_cameras, used, offsets, reference, tolerance)) is not None:
        used = rest
        offsets = _least_squares(n_cameras, used, reference)
    agree = [p for p in used if abs(offsets[p.j] - offsets[p.i] - p.lag) <= tolerance]
    confidence = _widest_paths(n_cameras, agree, reference)
    return offsets, np.where(np.isfinite(confidence), confidence, 0.0)


def _without_worst(n: int, pairs: list[PairLag], offsets, reference: int, tolerance: float):
    """``pairs`` less the worst-fitting one whose removal keeps every camera linked to the
    reference; None when all fit within ``tolerance`` or none of the misfits can go."""
    residual = np.array([abs(offsets[p.j] - offsets[p.i] - p.lag) for p in pairs])
    for k in np.argsort(residual)[::-1]:
        if residual[k] <= tolerance:
            return None
        rest = pairs[:k] + pairs[k + 1:]
        if _connected(n, rest, reference):
            return rest
    return None


def _least_squares(n: int, pairs: list[PairLag], reference: int) -> np.ndarray:
    rows = np.zeros((len(pairs) + 1, n))
    rhs = np.zeros(len(pairs) + 1)
    weight = np.ones(len(pairs) + 1)
    for k, p in enumerate(pairs):
        rows[k, p.j], rows[k, p.i], rhs[k] = 1.0, -1.0, p.lag
        weight[k] = max(p.confidence, 1e-3)
    rows[-1, reference], weight[-1] = 1.0, 1e3  # pins the reference at 0
    sw = np.sqrt(weight)[:, None]
    solution, *_ = np.linalg.lstsq(rows * sw, rhs * sw[:, 0], rcond=None)
    return solution - solution[reference]


def _connected(n: int, pairs: list[PairLag], reference: int) -> bool:
    return bool(np.all(np.isfinite(_widest_paths(n, pairs, reference))))


def _widest_paths(n: int, pairs: list[PairLag], reference: int) -> np.ndarray:
    """Per camera, the best (over chains of pairs from the reference) weakest-pair confidence;
    -inf for a camera no chain reaches."""
    width = np.full(n, -np.inf)
    width[reference] = 1.0
    done = np.zeros(n, bool)
    for _ in range(n):
        k = int(np.argmax(np.where(done, -np.inf, width)))
        if done[k] or not np.isfinite(width[k]):
            break
        done[k] = True
        for p in pairs:
            if k in (p.i, p.j):
                other = p.j if k == p.i else p.i
                width[other] = max(width[other], min(width[k], p.confidence))
    return width

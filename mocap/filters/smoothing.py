"""Smoothing filters over time: zero-phase Butterworth, one-euro (causal, for live), Kalman + RTS.

All take an array (T, ...) with the frame axis first and filter every series (each coordinate of
each keypoint of each person) at once. Missing samples (NaN) stay missing in the output.

* :func:`butterworth`: a low-pass Butterworth run forwards and backwards (``sosfiltfilt``), so it
  has no lag (zero phase) and its gain at the cut-off is 1/2 (-3 dB twice). Gaps are bridged
  linearly for the filter's sake and put back to NaN afterwards.
* :func:`one_euro`: the 1€ filter (Casiez, Roussel & Vogel, CHI 2012): an exponential smoother
  whose cut-off rises with the speed, ``fc = min_cutoff + beta · |velocity|``: steady points are
  smoothed hard (little jitter), fast ones lightly (little lag). It only looks at the past, so it
  can run live. For points, the speed is that of the 3D point (the norm over the last axis), so
  x, y and z share one cut-off. :class:`OneEuroFilter` is its one implementation, a frame at a
  time with its state kept: the batch function runs it over the clip, live code feeds it frames.
* :func:`kalman_rts`: a constant-velocity Kalman filter forward, then the Rauch-Tung-Striebel
  smoother backward: the optimal estimate (for that motion model) given the whole clip. Process
  noise is white acceleration of spectral density ``acceleration ** 2``; measurements have
  standard deviation ``noise``. Missing samples are predicted through.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

from mocap.errors import SettingsError
from mocap.filters.gaps import bridge


def _check_fps(fps: float) -> float:
    if not np.isfinite(fps) or fps <= 0:
        raise SettingsError(f"the frame rate must be positive, got {fps}")
    return float(fps)


def butterworth_padlen(order: int) -> int:
    """Frames that :func:`butterworth` pads each end with: a clip must be longer than this."""
    n_sections = (order + 1) // 2
    return 3 * (2 * n_sections + 1)


def butterworth(x: np.ndarray, *, fps: float, cutoff: float, order: int = 4) -> np.ndarray:
    """Zero-phase low-pass Butterworth of ``order`` (applied twice: forward and backward) along axis 0.

    cutoff: Hz, above 0 and below the Nyquist frequency ``fps / 2``.
    """
    fps = _check_fps(fps)
    if not 0 < cutoff < fps / 2:
        raise SettingsError(f"the Butterworth cut-off must be between 0 and half the frame rate "
                            f"({fps / 2:g} Hz at {fps:g} fps), got {cutoff:g} Hz")
    if int(order) != order or not 1 <= order <= 12:
        raise SettingsError(f"the Butterworth order must be a whole number from 1 to 12, got {order}")
    x = np.asarray(x, dtype=float)
    pad = butterworth_padlen(int(order))
    if x.shape[0] <= pad:
        raise SettingsError(f"the clip has {x.shape[0]} frames; an order-{order} Butterworth needs more "
                            f"than {pad} (its edge padding is longer than the clip)")
    filled, real = bridge(x)
    flat = filled.reshape(x.shape[0], -1)
    some = np.isfinite(flat).all(0)  # series with at least one valid sample are complete after bridging
    out = np.full_like(flat, np.nan)
    if some.any():
        sos = butter(int(order), cutoff, btype="low", fs=fps, output="sos")
        out[:, some] = sosfiltfilt(sos, flat[:, some], axis=0, padlen=pad)
    return np.where(real, out.reshape(x.shape), np.nan)


def _alpha(cutoff, dt):
    """Smoothing factor of a first-order low-pass with ``cutoff`` Hz over ``dt`` seconds."""
    tau = 1.0 / (2 * np.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


@dataclass(frozen=True)
class OneEuroState:
    """Where a :class:`OneEuroFilter` stands: per series the last filtered value (N, D), the last
    filtered velocity (N, D) and the frame it was last updated at (N,; -1 before its first sample)."""

    value: np.ndarray
    velocity: np.ndarray
    last: np.ndarray


class OneEuroFilter:
    """The causal 1€ filter (module docstring) one frame at a time, with its state kept.

    ``shape``: the shape of one frame's samples; with ``point_axis`` the last axis holds a point's
    coordinates (its speed sets one cut-off), else every value is a series of its own. Call it with
    each frame's samples and the frame's number (an integer, increasing: a skipped number is a
    frame with no sample, and after a gap a series resumes from its last state with the elapsed
    time); it returns the filtered samples, NaN where a sample is missing. ``state`` / ``restore``
    take and put back where it stands, e.g. to redo a frame. :func:`one_euro` runs it over a clip,
    so a clip filtered whole and frame by frame are equal to the last bit.
    """

    def __init__(self, shape, *, fps: float, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0,
                 point_axis: bool = True):
        fps = _check_fps(fps)
        for name, value in (("min_cutoff", min_cutoff), ("d_cutoff", d_cutoff)):
            if not 0 < value < fps / 2:
                raise SettingsError(f"one-euro {name} must be between 0 and half the frame rate ({fps / 2:g} Hz), "
                                    f"got {value:g}")
        if beta < 0:
            raise SettingsError(f"one-euro beta must be >= 0, got {beta}")
        self.fps, self.min_cutoff, self.beta, self.d_cutoff = fps, min_cutoff, beta, d_cutoff
        self.shape = tuple(shape)
        n = int(np.prod(self.shape[:-1])) if point_axis else int(np.prod(self.shape))
        d = self.shape[-1] if point_axis else 1
        self.restore(OneEuroState(np.full((n, d), np.nan), np.zeros((n, d)), np.full(n, -1)))

    @property
    def state(self) -> OneEuroState:
        return OneEuroState(self._value.copy(), self._velocity.copy(), self._last.copy())

    def restore(self, state: OneEuroState) -> None:
        self._value, self._velocity, self._last = state.value.copy(), state.velocity.copy(), state.last.copy()

    def __call__(self, sample: np.ndarray, frame: int) -> np.ndarray:
        sample = np.asarray(sample, dtype=float).reshape(self._value.shape)
        state, velocity, last_t = self._value, self._velocity, self._last
        ok = np.isfinite(sample).all(-1)
        fresh = ok & (last_t < 0)
        go = ok & (last_t >= 0)
        state[fresh], last_t[fresh] = sample[fresh], frame
        if go.any():
            dt = ((frame - last_t[go]) / self.fps)[:, None]
            raw_velocity = (sample[go] - state[go]) / dt
            a_d = _alpha(self.d_cutoff, dt)
            velocity[go] = a_d * raw_velocity + (1 - a_d) * velocity[go]
            speed = np.linalg.norm(velocity[go], axis=-1, keepdims=True)
            a = _alpha(self.min_cutoff + self.beta * speed, dt)
            state[go] = a * sample[go] + (1 - a) * state[go]
            last_t[go] = frame
        out = np.full_like(sample, np.nan)
        out[ok] = state[ok]
        return out.reshape(self.shape)


def one_euro(x: np.ndarray, *, fps: float, min_cutoff: float = 1.0, beta: float = 0.0,
             d_cutoff: float = 1.0, point_axis: bool = True) -> np.ndarray:
    """The causal 1€ filter along axis 0 (see module docstring): :class:`OneEuroFilter` over the clip.

    min_cutoff: Hz, the cut-off at rest (lower: smoother, more lag when slow).
    beta: s/m, how fast the cut-off rises with speed (higher: less lag when fast).
    d_cutoff: Hz, cut-off of the low-pass on the velocity estimate.
    point_axis: the last axis holds a point's coordinates (its speed sets one cut-off); else
        every series is filtered on its own.

    After a gap the filter resumes from its last state with the elapsed time.
    """
    x = np.asarray(x, dtype=float)
    step = OneEuroFilter(x.shape[1:], fps=fps, min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff,
                         point_axis=point_axis)
    out = np.empty_like(x)
    for t in range(x.shape[0]):
        out[t] = step(x[t], t)
    return out


def kalman_rts(x: np.ndarray, *, fps: float, noise: float = 0.01, acceleration: float = 10.0) -> np.ndarray:
    """Constant-velocity Kalman filter + Rauch-Tung-Striebel smoother along axis 0 (see module docstring).

    noise: standard deviation of the measurements (metres for positions).
    acceleration: root spectral density of the random acceleration (m/s^1.5): higher follows
        quick motions more closely, lower smooths more.
    """
    fps = _check_fps(fps)
    if not noise > 0 or not acceleration > 0:
        raise SettingsError(f"Kalman noise and acceleration must be positive, got {noise} and {acceleration}")
    x = np.asarray(x, dtype=float)
    shape = x.shape
    z = x.reshape(shape[0], -1)
    n_frames, n = z.shape
    dt = 1.0 / fps
    q = acceleration ** 2
    q00, q01, q11 = q * dt ** 3 / 3, q * dt ** 2 / 2, q * dt
    r = noise ** 2
    # Filtered (f) and predicted (p) means and covariances, per frame; covariance entries 00, 01, 11.
    mf = np.zeros((n_frames, 2, n))
    pf = np.zeros((n_frames, 3, n))
    mp = np.zeros((n_frames, 2, n))
    pp = np.zeros((n_frames, 3, n))
    valid = np.isfinite(z)
    started = np.zeros(n, dtype=bool)
    m = np.zeros((2, n))
    P = np.zeros((3, n))
    for t in range(n_frames):
        # Predict: m = F m, P = F P F' + Q with F = [[1, dt], [0, 1]].
        m = np.stack([m[0] + dt * m[1], m[1]])
        P = np.stack([P[0] + 2 * dt * P[1] + dt * dt * P[2] + q00, P[1] + dt * P[2] + q01, P[2] + q11])
        # A series starts at its first measurement, with an unknown velocity.
        start = valid[t] & ~started
        m[:, start] = np.stack([z[t, start], np.zeros(start.sum())])
        P[:, start] = np.stack([np.full(start.sum(), r), np.zeros(start.sum()), np.full(start.sum(), 1e4)])
        started |= start
        mp[t], pp[t] = m, P
        upd = valid[t] & ~start
        if upd.any():
            s = P[0, upd] + r
            k0, k1 = P[0, upd] / s, P[1, upd] / s
            innovation = z[t, upd] - m[0, upd]
            m[0, upd] += k0 * innovation
            m[1, upd] += k1 * innovation
            p00, p01, p11 = P[0, upd], P[1, upd], P[2, upd]
            P[:, upd] = np.stack([(1 - k0) * p00, (1 - k0) * p01, p11 - k1 * p01])
        mf[t], pf[t] = m, P
    # Backward pass: m_s = m_f + C (m_s[t+1] - m_p[t+1]), C = P_f F' P_p[t+1]^-1.
    first_valid = np.where(valid.any(0), np.argmax(valid, axis=0), n_frames)
    ms = mf[-1].copy()
    out = np.full((n_frames, n), np.nan)
    out[-1] = ms[0]
    for t in range(n_frames - 2, -1, -1):
        f00, f01, f11 = pf[t]
        # P_f F' with F' = [[1, 0], [dt, 1]].
        a00, a01, a10, a11 = f00 + dt * f01, f01, f01 + dt * f11, f11
        p00, p01, p11 = pp[t + 1]
        det = p00 * p11 - p01 * p01
        det = np.where(np.abs(det) > 1e-30, det, 1e-30)
        i00, i01, i11 = p11 / det, -p01 / det, p00 / det
        c00, c01 = a00 * i00 + a01 * i01, a00 * i01 + a01 * i11
        c10, c11 = a10 * i00 + a11 * i01, a10 * i01 + a11 * i11
        d0, d1 = ms[0] - mp[t + 1, 0], ms[1] - mp[t + 1, 1]
        ms = np.stack([mf[t, 0] + c00 * d0 + c01 * d1, mf[t, 1] + c10 * d0 + c11 * d1])
        # Before a series' first measurement there is nothing to smooth.
        ms = np.where(t >= first_valid, ms, mf[t])
        out[t] = ms[0]
    return np.where(valid, out, np.nan).reshape(shape)

"""The one-euro filter, frame by frame: a causal, stateful wrapper of :func:`mocap.filters.one_euro`.

``mocap.filters.one_euro`` filters a whole clip. Live, frames come one at a time and irregularly
(stages drop frames they cannot keep up with), so :class:`OneEuroStream` keeps the raw samples of
the last ``window`` frame slots, each at its slot ``round((timestamp - first) * fps)`` with NaN
for the slots no frame reached (the batch filter treats those as gaps and resumes with the
elapsed time), and returns the batch filter's output at the newest slot. Only the past is used, so
it is causal; the state is the window.

Why a window is enough: the filter is a first-order low-pass whose smoothing factor per slot is
``a = 1 / (1 + tau / dt)``, ``tau = 1 / (2 pi fc)``, with ``fc >= min(min_cutoff, d_cutoff)``;
the first sample of the window weighs at most ``(1 - a)^n`` after ``n`` slots. The window is the
``n`` that brings this below ``tolerance`` (default 1e-3: 69 slots at 60 fps and 1 Hz), so the
output equals the filter run over the whole past to that fraction of the distance the signal
travelled across the window.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from mocap.filters import one_euro


def window_slots(fps: float, min_cutoff: float, d_cutoff: float, tolerance: float) -> int:
    """Frame slots after which the oldest sample's weight is below ``tolerance`` (module doc)."""
    tau = 1.0 / (2 * math.pi * min(min_cutoff, d_cutoff))
    a = 1.0 / (1.0 + tau * fps)
    return max(2, int(math.ceil(math.log(tolerance) / math.log(1.0 - a))) + 1)


class OneEuroStream:
    """Filter one frame of points (..., 3) at a time; see the module doc."""

    def __init__(self, fps: float, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0,
                 tolerance: float = 1e-3):
        self.fps, self.min_cutoff, self.beta, self.d_cutoff = float(fps), min_cutoff, beta, d_cutoff
        one_euro(np.zeros((1, 1, 3)), fps=fps, min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)  # checks settings
        self.window = window_slots(fps, min_cutoff, d_cutoff, tolerance)
        self._slots: deque = deque()  # (slot, sample)
        self._first: float | None = None

    def __call__(self, sample: np.ndarray, timestamp: float) -> np.ndarray:
        sample = np.asarray(sample, dtype=float)
        if self._first is None:
            self._first = timestamp
        slot = int(round((timestamp - self._first) * self.fps))
        if self._slots and slot <= self._slots[-1][0]:  # same slot (or clock went back): replace it
            slot = self._slots[-1][0]
            self._slots.pop()
        self._slots.append((slot, sample))
        while self._slots and self._slots[0][0] <= slot - self.window:
            self._slots.popleft()
        start = self._slots[0][0]
        series = np.full((slot - start + 1,) + sample.shape, np.nan)
        for s, x in self._slots:
            series[s - start] = x
        return one_euro(series, fps=self.fps, min_cutoff=self.min_cutoff, beta=self.beta, d_cutoff=self.d_cutoff)[-1]

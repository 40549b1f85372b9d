"""The one-euro filter, frame by frame: :class:`mocap.filters.OneEuroFilter` fed with live frames.

Live, frames come one at a time and irregularly (stages drop frames they cannot keep up with).
:class:`OneEuroStream` puts each frame at its slot ``round((timestamp - first) * fps)`` and
steps the batch filter's own frame-at-a-time implementation with it: the slots no frame reached
are gaps, over which the filter resumes with the elapsed time, exactly as
:func:`mocap.filters.one_euro` over the whole past with NaN in those slots. Constant cost per
frame: the state is the filter's (last value, velocity and slot per point), not a window of
frames. A frame landing in the slot of the one before (or a clock going back) replaces it: the
filter goes back to its state before that slot and takes the new frame instead.
"""

from __future__ import annotations

import numpy as np

from mocap.filters import OneEuroFilter


class OneEuroStream:
    """Filter one frame of points (..., 3) at a time; see the module doc."""

    def __init__(self, fps: float, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0):
        self.fps, self.min_cutoff, self.beta, self.d_cutoff = float(fps), min_cutoff, beta, d_cutoff
        OneEuroFilter((1, 3), fps=fps, min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff)  # checks settings
        self._filter: OneEuroFilter | None = None
        self._first: float | None = None
        self._slot: int | None = None  # the newest slot filtered
        self._before = None  # the filter's state before it

    def __call__(self, sample: np.ndarray, timestamp: float) -> np.ndarray:
        sample = np.asarray(sample, dtype=float)
        if self._filter is None:
            self._first = timestamp
            self._filter = OneEuroFilter(sample.shape, fps=self.fps, min_cutoff=self.min_cutoff, beta=self.beta,
                                         d_cutoff=self.d_cutoff)
        slot = int(round((timestamp - self._first) * self.fps))
        if self._slot is not None and slot <= self._slot:  # same slot (or clock went back): replace it
            slot = self._slot
            self._filter.restore(self._before)
        self._slot, self._before = slot, self._filter.state
        return self._filter(sample, slot)

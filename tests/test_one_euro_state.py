"""The one-euro filter is one mechanism: the batch function, the frame-at-a-time filter with its
state and the live stream give the same numbers, to the last bit, over gaps and dropped frames."""

import numpy as np
import pytest

from mocap.errors import SettingsError
from mocap.filters import OneEuroFilter, one_euro
from mocap.live.smoothing import OneEuroStream


def _walk(T=240, points=12, seed=0):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(0, 0.01, (T, points, 3)), 0) + rng.normal(0, 0.003, (T, points, 3))
    x[rng.random((T, points)) < 0.1] = np.nan  # points missing now and then
    x[60:75, :3] = np.nan  # a gap of 15 frames
    x[:20, 5] = np.nan  # a point first seen late
    x[100] = np.nan  # a frame with nothing
    return x


@pytest.mark.parametrize("point_axis", [True, False])
def test_batch_equals_frame_by_frame_with_state_and_a_restart_from_a_saved_state(point_axis):
    x = _walk()
    batch = one_euro(x, fps=60.0, min_cutoff=1.0, beta=0.5, point_axis=point_axis)
    step = OneEuroFilter(x.shape[1:], fps=60.0, min_cutoff=1.0, beta=0.5, point_axis=point_axis)
    frames = []
    for t in range(len(x)):
        frames.append(step(x[t], t))
        if t == 130:
            saved = step.state
    np.testing.assert_array_equal(np.array(frames), batch)  # NaN where missing, equal elsewhere
    assert np.nanmax(np.abs(batch - x)) > 1e-3  # it did filter
    # A filter restarted from the saved state goes on exactly as the clip did.
    again = OneEuroFilter(x.shape[1:], fps=60.0, min_cutoff=1.0, beta=0.5, point_axis=point_axis)
    again.restore(saved)
    np.testing.assert_array_equal(np.array([again(x[t], t) for t in range(131, len(x))]), batch[131:])
    with pytest.raises(SettingsError, match="beta"):
        OneEuroFilter((3,), fps=60.0, beta=-1.0)


def test_the_live_stream_equals_the_batch_filter_over_its_slots_exactly():
    x = _walk(seed=1)
    fps = 60.0
    rng = np.random.default_rng(2)
    keep = np.sort(rng.choice(len(x), 170, replace=False))  # frames a busy pipeline dropped
    jitter = rng.uniform(-0.3, 0.3, len(keep)) / fps  # timestamps off their slot by under half a frame
    slotted = np.full_like(x, np.nan)
    slotted[keep] = x[keep]
    truth = one_euro(slotted, fps=fps, min_cutoff=1.0, beta=0.5)
    stream = OneEuroStream(fps, 1.0, 0.5)
    live = np.array([stream(x[i], 3.0 + i / fps + j) for i, j in zip(keep, jitter)])
    np.testing.assert_array_equal(live, truth[keep])
    # A second frame in the newest slot replaces the first: as if only it had come.
    stream = OneEuroStream(fps, 1.0, 0.5)
    for i in range(50):
        stream(x[i], i / fps)
    stream(x[50] + 0.05, 50 / fps)
    replaced = stream(x[50], 50.2 / fps)
    np.testing.assert_array_equal(replaced, one_euro(x[:51], fps=fps, min_cutoff=1.0, beta=0.5)[-1])

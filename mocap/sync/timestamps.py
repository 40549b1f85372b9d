"""Synchronization from recorded timestamps (``mocap record``'s ``<cam>_timestamps.csv``).

Every camera of a recording was stamped by one monotonic clock. Each camera's frames are put on
their frame periods by :func:`mocap.record.timestamps.frame_slots`, which fits the camera's
clock line ``t = start_c + period_c * slot``. The reference camera's step k is at
``start_r + period_r * k``, which is camera c's period

    slot = (start_r - start_c) / period_c + (period_r / period_c) * k

so ``offset = (start_r - start_c) / period_c`` (sub-frame), ``drift = period_r / period_c - 1``
(how much faster camera c's frames come, in ppm of the reference's) and the periods the line has
no frame for are the dropped frames (and a camera's outage).

Confidence: ``1 - 2 * rms``, where ``rms`` is the residual of the clock line in periods (grab
jitter): 1 for stamps on their line, 0 when they scatter by half a period.
"""

from __future__ import annotations

import numpy as np

from mocap.record.timestamps import count_dropped, frame_slots


def timestamp_offsets(timestamps: list[np.ndarray], reference: int = 0, periods_ns=None) -> list[dict]:
    """Per camera ``{offset, drift_ppm, dropped, confidence, fps}`` from its frames' timestamps.

    periods_ns: each camera's nominal frame period when known (else the median step).
    """
    lines = []
    for c, t in enumerate(timestamps):
        nominal = None if periods_ns is None else periods_ns[c]
        slots, period, start = frame_slots(t, nominal)
        residual = (np.asarray(t, float) - start - period * slots) / period
        rms = float(np.sqrt(np.mean(residual ** 2)))
        lines.append((slots, period, start, rms))
    _, period_r, start_r, _ = lines[reference]
    out = []
    for slots, period, start, rms in lines:
        out.append({"offset": (start_r - start) / period, "drift_ppm": (period_r / period - 1) * 1e6,
                    "dropped": tuple(count_dropped(slots)), "confidence": float(np.clip(1 - 2 * rms, 0, 1)),
                    "fps": 1e9 / period})
    return out

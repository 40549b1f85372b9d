"""Person slots of one camera: tracks -> a small, reused set of columns of the P axis.

The tracker gives every person it starts following a new id, and a clip with a few false
detections and occlusions makes many short tracks. Slots bound P:

1. **Drop** tracks that are false detections: seen in fewer than ``min_frames`` frames (3: a
   person stays in view longer than a tenth of a second, while two false positives a few frames
   apart can be linked into one short track), or tiny (median box height below ``min_height`` of
   the camera's tallest track, or below ``min_pixels``).
2. **Assign** the rest in order of their first frame (ties: larger box first): a track takes the
   lowest slot that is free over its whole lifetime (first to last frame it was seen).

Greedy colouring of intervals in order of their start is optimal: the number of slots used equals
the largest number of kept tracks alive at one time, i.e. P is the most people seen at once (plus
one for each moment a person's old track and new track overlap). A person who is lost and found
again later gets a new track, which takes the lowest free slot: usually the one they left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Track:
    """One tracker id of one camera: the steps it was seen at and its box heights there."""

    id: int
    steps: np.ndarray
    heights: np.ndarray

    @property
    def first(self) -> int:
        return int(self.steps[0])

    @property
    def last(self) -> int:
        return int(self.steps[-1])


def collect_tracks(steps: list[int], ids: list[np.ndarray], boxes: list[np.ndarray]) -> list[Track]:
    """Per frame, the step index, tracker ids (n,) and boxes (n, >=4) -> one :class:`Track` per id."""
    seen: dict[int, tuple[list, list]] = {}
    for t, frame_ids, frame_boxes in zip(steps, ids, boxes):
        if not len(frame_ids):
            continue
        b = np.asarray(frame_boxes, dtype=np.float64).reshape(len(frame_ids), -1)
        for i, h in zip(np.asarray(frame_ids).tolist(), (b[:, 3] - b[:, 1]).tolist()):
            entry = seen.setdefault(int(i), ([], []))
            entry[0].append(t)
            entry[1].append(h)
    return [Track(i, np.array(s), np.array(h)) for i, (s, h) in sorted(seen.items())]


def assign_slots(tracks: list[Track], min_frames: int = 3, min_height: float = 0.25,
                 min_pixels: float = 16.0, n_steps: int | None = None) -> dict[int, int]:
    """Track id -> slot (see the module docstring); dropped tracks are absent. ``n_steps``: the
    clip's length, when known; a clip shorter than ``min_frames`` keeps tracks as long as itself."""
    if not tracks:
        return {}
    if n_steps is not None:
        min_frames = max(1, min(min_frames, n_steps))
    med = {tr.id: float(np.median(tr.heights)) if len(tr.heights) else 0.0 for tr in tracks}
    tallest = max(med.values())
    kept = [tr for tr in tracks if len(tr.steps) >= min_frames and med[tr.id] >= max(min_height * tallest, min_pixels)]
    kept.sort(key=lambda tr: (tr.first, -med[tr.id], tr.id))
    busy_until: list[int] = []  # per slot, the last step of the track holding it
    slots = {}
    for tr in kept:
        free = [s for s, end in enumerate(busy_until) if end < tr.first]
        s = free[0] if free else len(busy_until)
        if s == len(busy_until):
            busy_until.append(tr.last)
        else:
            busy_until[s] = tr.last
        slots[tr.id] = s
    return slots

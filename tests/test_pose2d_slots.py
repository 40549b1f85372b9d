"""Person slots stay bounded: tracks reuse slots, false detections are dropped, P is the most
people seen at once (mocap.pose2d.slots, fed by the real per-camera Tracker)."""

import numpy as np

from mocap.pose2d.slots import Track, assign_slots, collect_tracks
from mocap.pose2d.tracking import Tracker


def _person(cx, cy, h=400.0, k=17):
    """A box and k keypoints of a standing person centred at (cx, cy), ``h`` pixels tall."""
    xy = np.stack([cx + np.linspace(-0.1, 0.1, k) * h, cy + np.linspace(-0.45, 0.45, k) * h], -1)
    box = np.array([cx - 0.2 * h, cy - 0.5 * h, cx + 0.2 * h, cy + 0.5 * h, 0.9])
    return box, xy


def _stream(rng, n=600, false_frames=(), occluded=range(0), second=None, tiny_run=None):
    """Per frame the detections (boxes (n, 5), keypoints (n, 17, 2)) of a person walking to and
    fro, one-frame false positives at ``false_frames``, nothing during ``occluded``; ``second``:
    frames where a second person stands elsewhere; ``tiny_run``: frames with a small false box."""
    frames = []
    for t in range(n):
        people = []
        if t not in occluded:
            people.append(_person(600 + 300 * np.sin(t / 60), 900))
        if second is not None and t in second:
            people.append(_person(1500, 850, h=380))
        if t in false_frames:
            people.append(_person(*rng.uniform([100, 100], [1800, 1000]), h=rng.uniform(150, 500)))
        if tiny_run is not None and t in tiny_run:
            people.append(_person(1700 + t % 5, 200, h=40))
        boxes = np.array([p[0] for p in people]).reshape(-1, 5)
        xy = np.array([p[1] for p in people]).reshape(-1, 17, 2)
        frames.append((boxes, xy))
    return frames


def _slots(frames):
    tracker = Tracker()
    ids = [tracker.update(b, xy, np.ones(xy.shape[:2])) for b, xy in frames]
    tracks = collect_tracks(list(range(len(frames))), ids, [b for b, _ in frames])
    return tracks, assign_slots(tracks), ids


def test_600_frames_with_false_positives_and_an_occlusion_keep_p_at_most_2():
    rng = np.random.default_rng(4)
    false_frames = set(rng.choice(np.arange(20, 580), 12, replace=False).tolist())
    frames = _stream(rng, false_frames=false_frames, occluded=range(300, 315))
    tracks, slots, ids = _slots(frames)
    # the tracker alone makes a new id per false positive and one more after the occlusion
    assert len(tracks) >= 12
    n_slots = max(slots.values()) + 1
    assert n_slots <= 2
    assert n_slots == 1  # one person, seen in two tracks that take the same slot
    # the person's detections all land in slot 0, before and after the occlusion
    person_ids = {int(i[0]) for (b, _), i in zip(frames, ids) if len(b) and abs(b[0, 1] - 700) < 1}
    assert {slots.get(i) for i in person_ids} == {0}
    assert len(person_ids) == 2  # the occlusion split the person into two tracks
    # every false positive was dropped
    fp_ids = {int(i[-1]) for t, ((b, _), i) in enumerate(zip(frames, ids)) if t in false_frames}
    assert not (fp_ids & set(slots))


def test_two_people_at_once_give_two_slots_and_tiny_runs_are_dropped():
    rng = np.random.default_rng(5)
    frames = _stream(rng, false_frames={50, 250, 450}, occluded=range(200, 215), second=range(100, 400),
                     tiny_run=range(500, 530))
    tracks, slots, _ = _slots(frames)
    assert max(slots.values()) + 1 == 2
    tiny = [tr for tr in tracks if np.median(tr.heights) < 50]
    assert tiny and all(tr.id not in slots for tr in tiny)


def test_a_track_takes_the_lowest_slot_free_over_its_lifetime():
    def track(i, first, last, h=300.0):
        steps = np.arange(first, last + 1)
        return Track(i, steps, np.full(len(steps), h))

    # 0: 0-99, 1: 10-50 (overlaps 0 -> slot 1), 2: 60-120 (slot 1 free after 50), 3: 105-130
    # (0 ended at 99 -> slot 0), 4: 40-45 (0 and 1 busy -> slot 2)
    slots = assign_slots([track(0, 0, 99), track(1, 10, 50), track(2, 60, 120), track(3, 105, 130),
                          track(4, 40, 45)])
    assert slots == {0: 0, 1: 1, 4: 2, 2: 1, 3: 0}
    assert assign_slots([track(0, 0, 0)]) == {} and assign_slots([track(0, 5, 6)]) == {}  # a false detection
    assert assign_slots([]) == {}
    assert assign_slots([track(0, 0, 1)], n_steps=2) == {0: 0}  # a two-frame clip keeps its two-frame tracks

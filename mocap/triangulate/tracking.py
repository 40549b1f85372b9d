"""Stable person ids across frames: tracking whole 3D skeletons.

Association groups detections per frame but knows nothing of time: group 0 in one frame may be
group 1 in the next. Tracking links them:

* Each track predicts where its skeleton is now: its last keypoints moved by the track's velocity
  (the median step of its keypoints, smoothed and capped at ``max_speed``; per-keypoint
  velocities are too noisy) times the frames since it was last seen.
* The cost of giving a frame's person to a track is the median distance between the predicted and
  the new body keypoints seen in both. The assignment minimizing the total cost (Hungarian,
  ``scipy.optimize.linear_sum_assignment``) is taken, among pairs within the gate
  ``max_distance + max_speed · gap / fps``: the gate widens while a track goes unseen, so a person
  hidden for a moment is **re-identified** where they could have walked to.
* Two people crossing stay apart: in 3D their skeletons never overlap (unlike in one image), and
  the prediction carries each along its own direction.
* A person not given to any track starts one (**birth**); a track unseen for more than ``max_gap``
  frames ends (**death**); a track not yet seen in ``min_frames`` frames ends after two unseen
  frames, so that a ghost cannot linger and capture someone who turns up later nearby. At the end,
  runs of a track shorter than ``min_frames`` frames (gaps of up to three frames inside a run) are
  dropped: a ghost made of a few inconsistent detections, or a stray match after a person left,
  does not become a person.

Runs frame by frame (a Hungarian problem of a few rows each); everything inside a frame is arrays.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment

from mocap.triangulate.matching import ASSOCIATION_KEYPOINTS


def track_people(xyz: np.ndarray, *, fps: float = 30.0, max_distance: float = 0.4, max_speed: float = 2.0,
                 max_gap: float = 1.0, min_frames: int = 5, min_keypoints: int = 4,
                 velocity_smoothing: float = 0.5) -> np.ndarray:
    """Track ids of the people of every frame.

    xyz: (T, M, K, 3) people found in each frame, in no particular order (NaN: slot empty).
    fps: frame rate, for the speeds and the gap below.
    max_distance: metres a skeleton may be off its prediction from one frame to the next.
    max_speed: metres per second added to the gate for every second a track is unseen.
    max_gap: seconds a track may go unseen and still be re-identified.
    min_frames: runs of a track shorter than this (gaps of up to 3 frames inside) are dropped
        (id -1); unconfirmed tracks (seen fewer times) end after two unseen frames.
    min_keypoints: body keypoints a person needs to be tracked.
    velocity_smoothing: weight of the newest velocity in the running average (0-1).

    Returns (T, M) track ids (0, 1, ... in order of first appearance), -1 for slots not tracked.
    """
    n_frames, n_slots = xyz.shape[:2]
    kb = ASSOCIATION_KEYPOINTS[ASSOCIATION_KEYPOINTS < xyz.shape[2]]
    body = xyz[:, :, kb]
    present = np.isfinite(body).all(-1).sum(-1) >= min_keypoints  # (T, M)
    ids = np.full((n_frames, n_slots), -1, dtype=int)
    max_gap_frames = max(1, int(round(max_gap * fps)))
    # Track state, one row per track ever started.
    last = np.empty((0, kb.size, 3))
    velocity = np.empty((0, 3))
    last_seen = np.empty(0, dtype=int)
    hits = np.empty(0, dtype=int)
    for t in range(n_frames):
        slots = np.flatnonzero(present[t])
        if slots.size == 0:
            continue
        # A track not yet confirmed (seen in fewer than min_frames frames) may only miss a frame or
        # two: a ghost must not linger and capture a person who turns up later nearby.
        memory = np.where(hits >= min_frames, max_gap_frames, min(2, max_gap_frames))
        alive = np.flatnonzero(t - last_seen <= memory)
        matched_tracks = np.empty(0, dtype=int)
        matched_slots = np.empty(0, dtype=int)
        if alive.size:
            gap = t - last_seen[alive]
            predicted = last[alive] + (velocity[alive] * gap[:, None])[:, None]  # (A, Kb, 3)
            d = np.linalg.norm(predicted[:, None] - body[t, slots][None], axis=-1)  # (A, S, Kb)
            # Median over keypoints: a keypoint triangulated from two disagreeing views can be
            # metres off, and must not push a person out of their own track.
            n_common = np.isfinite(d).sum(-1)
            with np.errstate(invalid="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                cost = np.where(n_common >= min_keypoints, np.nanmedian(d, -1), np.inf)
            gate = max_distance + max_speed * (gap - 1) / fps
            cost = np.where(cost < gate[:, None], cost, np.inf)
            if np.isfinite(cost).any():
                rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e9))
                ok = np.isfinite(cost[rows, cols])
                matched_tracks, matched_slots = alive[rows[ok]], slots[cols[ok]]
        for tr, s in zip(matched_tracks.tolist(), matched_slots.tolist()):
            new = body[t, s]
            dt = t - last_seen[tr]
            # The body's step: the median displacement of the keypoints seen both times (a mean
            # centre would jump whenever the detector finds a different set of keypoints).
            moved = new - last[tr]
            if np.isfinite(moved).all(-1).sum() >= min_keypoints:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    step = np.nanmedian(moved, axis=0) / dt
                speed = np.linalg.norm(step) * fps
                if speed > max_speed:  # a jump is noise, not motion: cap it
                    step *= max_speed / speed
                velocity[tr] = velocity_smoothing * step + (1 - velocity_smoothing) * velocity[tr]
            # Keypoints missing now keep their last position (moved along), so the cost stays defined.
            last[tr] = np.where(np.isfinite(new), new, last[tr] + velocity[tr] * dt)
            last_seen[tr] = t
            hits[tr] += 1
            ids[t, s] = tr
        born = np.setdiff1d(slots, matched_slots)
        if born.size:
            start = len(last)
            last = np.concatenate([last, body[t, born]])
            velocity = np.concatenate([velocity, np.zeros((born.size, 3))])
            last_seen = np.concatenate([last_seen, np.full(born.size, t)])
            hits = np.concatenate([hits, np.ones(born.size, dtype=int)])
            ids[t, born] = np.arange(start, start + born.size)
    # Drop the short runs of every track: a ghost, or a stray match after its person left, is a
    # few frames on its own; a person, even after an occlusion, comes back for longer.
    t_i, m_i = np.nonzero(ids >= 0)
    if t_i.size == 0:
        return ids
    order = np.lexsort((t_i, ids[t_i, m_i]))
    t_i, m_i = t_i[order], m_i[order]
    k_i = ids[t_i, m_i]
    new_run = np.r_[True, (np.diff(k_i) != 0) | (np.diff(t_i) > 3)]
    run = np.cumsum(new_run) - 1
    short = np.bincount(run)[run] < min_frames
    ids[t_i[short], m_i[short]] = -1
    # Renumber the tracks left by first appearance.
    counts = np.bincount(ids[ids >= 0], minlength=len(last))
    keep = np.flatnonzero(counts > 0)
    first = np.array([np.argmax((ids == k).any(1)) for k in keep], dtype=int)
    renumber = np.full(len(last) + 1, -1, dtype=int)
    renumber[keep[np.argsort(first, kind="stable")]] = np.arange(keep.size)
    return renumber[ids]  # ids of -1 index the last entry, which is -1

"""Left/right swaps of whole limbs within one view, put back by temporal consistency.

A 2D detector sometimes labels a limb the other way round for a few frames (MediaPipe on the
Pose2Sim demo's cam02, frames 45-60: both arms, while the subject barely moves). Seen over time the
mistake is plain: at its first frame the "left" shoulder, elbow and wrist jump to where the right
ones were, and back at its end, while the exchanged labels would have moved a few pixels.

For each limb group g (``SWAP_GROUP_NAMES``: arm, leg, head) and each person track, a hidden state
s_t in {0 kept, 1 exchanged} per frame is chosen to minimise

    sum_t  lambda * s_t  +  sum_t  D_t(s_t', s_t) / scale

over the frames t where the group is seen (t' the previous such frame of the same track), with
D the motion of the group's tested joints (``SWAP_TESTED``) between t' and t once both frames are
labelled as their states say: for equal states sum_j |L_j(t) - L_j(t')| + |R_j(t) - R_j(t')|, for
different states sum_j |L_j(t) - R_j(t')| + |R_j(t) - L_j(t')| (means over the joints seen in both
frames, each capped at ``cap`` scales so one wild joint cannot decide). ``scale`` is the track's
torso size (median shoulder-to-hip distance), so the rule does not depend on image size. The
prior ``lambda`` makes the detector's own labels the default: a run of exchanged frames needs
jumps at both of its ends that the exchange removes, and a long run needs them to be large; where
the body moves a lot, or left and right lie close together (a side view), both states cost the
same and the labels stay as detected. The minimum is found exactly by dynamic programming
(two states, one pass forward, one back), vectorised over all tracks.

Exchanging group g moves every keypoint of ``SWAP_EXCHANGED[g]`` (an arm takes its hand).
"""

from __future__ import annotations

import warnings

import numpy as np

from mocap.skeleton import BODY, INDEX, SWAP_EXCHANGED, SWAP_GROUP_NAMES, SWAP_TESTED

SWAP_PRIOR = 0.05   # lambda: cost of one exchanged frame, in torso sizes of motion
SWAP_CAP = 1.5      # a joint's motion counts at most this many torso sizes


def _pairs(group: str, which: str = "exchanged") -> tuple[np.ndarray, np.ndarray]:
    table = SWAP_EXCHANGED if which == "exchanged" else SWAP_TESTED
    left, right = table[group]
    return np.asarray(left), np.asarray(right)


def exchange_limbs(xy: np.ndarray, score: np.ndarray, swapped: np.ndarray):
    """Exchange left and right of the limbs marked in ``swapped`` (..., G) for points ``xy``
    (..., K, D) and ``score`` (..., K) (the 133 layout); returns new arrays. Applying it twice
    with the same marks gives the input back."""
    xy, score = np.array(xy, copy=True), np.array(score, copy=True)
    for g, name in enumerate(SWAP_GROUP_NAMES):
        mask = np.asarray(swapped[..., g], dtype=bool)
        if not mask.any():
            continue
        left, right = _pairs(name)
        a, b = xy[mask][..., left, :], xy[mask][..., right, :]
        sel = xy[mask]
        sel[..., left, :], sel[..., right, :] = b, a
        xy[mask] = sel
        sa, sb = score[mask][..., left], score[mask][..., right]
        sel = score[mask]
        sel[..., left], sel[..., right] = sb, sa
        score[mask] = sel
    return xy, score


def torso_scale(xy: np.ndarray, score: np.ndarray, min_score: float = 0.3) -> np.ndarray:
    """Median shoulder-to-hip distance per track: ``xy`` (S, T, K, 2) -> (S,) pixels (NaN if never seen)."""
    ok = (score > min_score) & np.isfinite(xy).all(-1)
    pts = np.where(ok[..., None], xy, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sh = np.nanmean(pts[:, :, [INDEX["left_shoulder"], INDEX["right_shoulder"]]], axis=2)
        hip = np.nanmean(pts[:, :, [INDEX["left_hip"], INDEX["right_hip"]]], axis=2)
    with warnings.catch_warnings():  # tracks never seen: NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(np.linalg.norm(sh - hip, axis=-1), axis=1)


def find_swaps(xy: np.ndarray, score: np.ndarray, segment: np.ndarray | None = None,
               prior: float = SWAP_PRIOR, cap: float = SWAP_CAP, min_score: float = 0.3) -> np.ndarray:
    """Frames whose limbs are labelled the other way round (see the module docstring).

    ``xy`` (S, T, K, 2), ``score`` (S, T, K): S sequences (a camera's person slot) of T frames in
    the 133 layout. ``segment`` (S, T) int: which track each frame belongs to (-1 none); a change
    of segment breaks the chain (a slot can pass from one person to another). Returns
    ``swapped`` (S, T, G) bool.
    """
    S, T = xy.shape[:2]
    if segment is None:
        segment = np.where((score[..., BODY] > 0).any(-1), 0, -1)
    scale = torso_scale(xy, score, min_score)
    scale = np.where(np.isfinite(scale) & (scale > 1.0), scale, np.nan)
    ok = (score > min_score) & np.isfinite(xy).all(-1)

    def sides(names):
        left = np.concatenate([_pairs(n, "tested")[0] for n in names])
        right = np.concatenate([_pairs(n, "tested")[1] for n in names])
        L = np.where(ok[..., left, None], xy[..., left, :], np.nan)    # (S, T, J, 2)
        R = np.where(ok[..., right, None], xy[..., right, :], np.nan)
        seen = (np.isfinite(L[..., 0]) | np.isfinite(R[..., 0])).any(-1) & (segment >= 0)
        return L, R, seen & np.isfinite(scale)[:, None]

    # the whole body first (a detector that takes the back for the front mirrors everything) ...
    L, R, seen = sides(SWAP_GROUP_NAMES)
    glitch = _glitches(L, R, seen, segment, scale, cap)
    keep = seen & ~glitch
    body = _solve(L, R, keep, segment, scale, np.zeros((S, T)), np.full((S, T), prior), cap)
    body = _settle(body, keep, L, R, seen, segment, scale, cap)
    # ... then each limb, whose own evidence overrides the body's state where it is clear
    out = np.zeros((S, T, len(SWAP_GROUP_NAMES)), bool)
    for g, name in enumerate(SWAP_GROUP_NAMES):
        L, R, seen = sides([name])
        keep = seen & ~glitch
        state = _solve(L, R, keep, segment, scale, prior * body, prior * ~body, cap)
        out[..., g] = _settle(state, keep, L, R, seen, segment, scale, cap)
    return out


def _motion(a, b, cap_px):
    """Mean over joints seen in both of the capped distance between (S, J, 2) point sets; 0 if none."""
    d = np.minimum(np.linalg.norm(a - b, axis=-1), cap_px[:, None])
    n = np.isfinite(d).sum(-1)
    return np.where(n > 0, np.nansum(d, -1) / np.maximum(n, 1), 0.0)


def _glitches(L, R, seen, segment, scale, cap, ratio: float = 2.0, floor: float = 0.1) -> np.ndarray:
    """(S, T) frames whose labelled points jump away and straight back: the motion into and out of
    frame t both exceed ``ratio`` times the motion from t - 1 to t + 1 plus ``floor`` torso sizes.
    Such a frame (a detector's half-turned guess) says nothing about which labelling is right, and
    would otherwise let a run of exchanged frames start or end on it for free."""
    S, T = seen.shape
    out = np.zeros((S, T), bool)
    if T < 3:
        return out
    cap_px = cap * scale
    for t in range(1, T - 1):
        s = np.flatnonzero(seen[:, t - 1] & seen[:, t] & seen[:, t + 1] & (segment[:, t - 1] == segment[:, t])
                           & (segment[:, t] == segment[:, t + 1]))
        if not len(s):
            continue
        c = cap_px[s]
        into = _motion(L[s, t], L[s, t - 1], c) + _motion(R[s, t], R[s, t - 1], c)
        away = _motion(L[s, t + 1], L[s, t], c) + _motion(R[s, t + 1], R[s, t], c)
        across = _motion(L[s, t + 1], L[s, t - 1], c) + _motion(R[s, t + 1], R[s, t - 1], c)
        limit = ratio * across + floor * scale[s]
        out[s, t] = (into > limit) & (away > limit)
    return out


def _settle(state: np.ndarray, used: np.ndarray, L, R, seen, segment, scale, cap) -> np.ndarray:
    """Frames left out of the chain (glitches, ``used`` False but seen) take the labelling that lies
    closer to the last chained frame of their track as it was put back; unseen frames keep 0."""
    out = state.copy()
    S, T = state.shape
    last = np.full(S, -1)                 # last chained frame per sequence
    cap_px = cap * scale
    for t in range(T):
        chained = used[:, t]
        last[chained] = t
        s = np.flatnonzero(seen[:, t] & ~chained & (last >= 0))
        s = s[segment[s, last[s]] == segment[s, t]]
        if not len(s):
            continue
        p, flip = last[s], out[s, last[s]]
        refL = np.where(flip[:, None, None], R[s, p], L[s, p])   # the reference frame, put back
        refR = np.where(flip[:, None, None], L[s, p], R[s, p])
        c = cap_px[s]
        keep = _motion(L[s, t], refL, c) + _motion(R[s, t], refR, c)
        cross = _motion(L[s, t], refR, c) + _motion(R[s, t], refL, c)
        out[s, t] = cross < keep
    return out


def _solve(L, R, seen, segment, scale, prior0, prior1, cap) -> np.ndarray:
    """Two-state Viterbi per sequence over its seen frames (see the module docstring); ``prior0``,
    ``prior1`` (S, T) are the costs of being in state 0 / 1 at each frame."""
    S, T = seen.shape
    cost = np.zeros((S, 2))                  # best total ending in state 0 / 1 at the last seen frame
    back = np.zeros((S, T, 2), np.int8)      # best previous state for each state
    prev_t = np.full(S, -1)                  # last seen frame per sequence
    cap_px = cap * scale
    for t in range(T):
        s = np.flatnonzero(seen[:, t])
        if not len(s):
            continue
        p = np.maximum(prev_t[s], 0)
        linked = (prev_t[s] >= 0) & (segment[s, p] == segment[s, t])

        c = cap_px[s]
        same = (_motion(L[s, t], L[s, p], c) + _motion(R[s, t], R[s, p], c)) / scale[s]
        cross = (_motion(L[s, t], R[s, p], c) + _motion(R[s, t], L[s, p], c)) / scale[s]
        same, cross = np.where(linked, same, 0.0), np.where(linked, cross, 0.0)
        c0, c1 = cost[s, 0], cost[s, 1]
        # into state 0: from 0 (same) or 1 (cross); into state 1: from 1 (same) or 0 (cross)
        to0 = np.stack([c0 + same, c1 + cross], 1)
        to1 = np.stack([c0 + cross, c1 + same], 1)
        from0, from1 = to0.argmin(1), to1.argmin(1)
        back[s, t, 0], back[s, t, 1] = from0, from1
        k = np.arange(len(s))
        cost[s, 0] = to0[k, from0] + prior0[s, t]
        cost[s, 1] = to1[k, from1] + prior1[s, t]
        prev_t[s] = t
    # trace back along each sequence's seen frames
    state = cost.argmin(1)
    out = np.zeros((S, T), bool)
    for t in range(T - 1, -1, -1):
        s = np.flatnonzero(seen[:, t])
        if not len(s):
            continue
        out[s, t] = state[s] == 1
        state[s] = back[s, t, state[s]]
    return out


def repair_swaps(xy: np.ndarray, score: np.ndarray, segment: np.ndarray | None = None, **options):
    """:func:`find_swaps` on (C, T, P, K, 2) keypoints (every camera's slots, ``segment`` (C, T, P)
    track ids) and the exchange put back. Returns ``(xy, score, swapped (C, T, P, G))``."""
    C, T, P = xy.shape[:3]
    seq = lambda a: np.moveaxis(a, 2, 1).reshape((C * P, T) + a.shape[3:])  # noqa: E731
    seg = None if segment is None else seq(segment)
    swapped = find_swaps(seq(xy), seq(score), seg, **options)
    swapped = np.moveaxis(swapped.reshape(C, P, T, -1), 1, 2)
    fixed_xy, fixed_score = exchange_limbs(xy, score, swapped)
    return fixed_xy, fixed_score, swapped


def apply_view_swaps(keypoints, pose3d):
    """2D keypoints with a triangulation's per-view swap decisions applied as well.

    ``pose3d`` (:class:`Keypoints3D`) records, per camera, which 2D slot became each 3D person
    (``detections``) and which limbs of that detection triangulation exchanged (``view_swaps``).
    Those limbs are exchanged in ``keypoints`` (:class:`Keypoints2D`, matched by camera name and
    frame number) and flipped in its ``swapped`` record, so overlays, pose maps and reports show
    the labels the 3D result used. Cameras or frames the 3D result does not know are unchanged.
    """
    import dataclasses

    if not len(pose3d.camera_names):
        return keypoints
    frame_of = {int(f): i for i, f in enumerate(keypoints.frame_index)}
    rows = np.array([frame_of.get(int(f), -1) for f in pose3d.frame_index])
    swap = np.zeros(keypoints.swapped.shape, bool)
    for c3, name in enumerate(pose3d.camera_names):
        if name not in keypoints.camera_names:
            continue
        c = keypoints.camera_names.index(name)
        det, vs = pose3d.detections[c3], pose3d.view_swaps[c3]          # (T3, P3), (T3, P3, G)
        t3, p3 = np.nonzero((det >= 0) & vs.any(-1) & (rows[:, None] >= 0))
        slots = det[t3, p3]
        inside = slots < keypoints.n_persons
        swap[c, rows[t3[inside]], slots[inside]] ^= vs[t3[inside], p3[inside]]
    if not swap.any():
        return keypoints
    xy, score = exchange_limbs(keypoints.xy, keypoints.score, swap)
    return dataclasses.replace(keypoints, xy=xy, score=score, swapped=keypoints.swapped ^ swap)

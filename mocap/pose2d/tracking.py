"""Per-camera person tracking: stable ids across frames.

Each frame's people are matched to the live tracks by a cost that mixes box overlap and
keypoint distance:

    cost = (1 - IoU(box, track box)) + mean distance of shared confident keypoints / track box diagonal

computed for all pairs at once, then assigned greedily (cheapest pair first, each track and
person used once; with a handful of people greedy equals the optimal assignment in practice).
A pair may only match when the boxes overlap (IoU >= ``min_iou``) or the keypoints are close
(mean distance below ``max_keypoint_distance`` box diagonals); an unmatched person starts a new
track; a track unseen for ``max_age`` frames is dropped.
"""

from __future__ import annotations

import warnings

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 4) x (M, 4) boxes x1, y1, x2, y2 -> (N, M) intersection over union."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:4], b[None, :, 2:4])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=-1)
    area = lambda x: np.prod(np.clip(x[:, 2:4] - x[:, :2], 0, None), axis=-1)  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def keypoint_box(xy: np.ndarray, score: np.ndarray, min_score: float = 0.3) -> np.ndarray:
    """(P, K, 2), (P, K) -> (P, 4) box around each person's confident keypoints (NaN if none)."""
    ok = (score > min_score) & np.isfinite(xy).all(-1)
    x = np.where(ok, xy[..., 0], np.nan)
    y = np.where(ok, xy[..., 1], np.nan)
    with warnings.catch_warnings():  # all-NaN rows (nobody confident) are expected: NaN box
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.stack([np.nanmin(x, 1), np.nanmin(y, 1), np.nanmax(x, 1), np.nanmax(y, 1)], axis=1)


class Tracker:
    """Assigns a stable integer id to every person of every frame of one camera."""

    def __init__(self, min_iou: float = 0.1, max_keypoint_distance: float = 0.3, max_age: int = 10,
                 min_score: float = 0.3):
        self.min_iou, self.max_kp, self.max_age, self.min_score = min_iou, max_keypoint_distance, max_age, min_score
        self.boxes = np.zeros((0, 4))
        self.xy = np.zeros((0, 0, 2))
        self.score = np.zeros((0, 0))
        self.ids = np.zeros(0, dtype=int)
        self.age = np.zeros(0, dtype=int)
        self.next_id = 0

    def cost(self, boxes, xy, score) -> np.ndarray:
        """(tracks, people) matching cost (see the module docstring); inf where a pair may not match."""
        iou = box_iou(self.boxes, boxes)
        cost = 1.0 - iou
        allowed = iou >= self.min_iou
        if xy is not None and self.xy.size and xy.shape[1] == self.xy.shape[1]:
            shared = (self.score[:, None] > self.min_score) & (score[None] > self.min_score)
            dist = np.linalg.norm(self.xy[:, None] - xy[None], axis=-1)
            n = shared.sum(-1)
            mean = np.where(n > 0, np.where(shared, dist, 0).sum(-1) / np.maximum(n, 1), 0.0)
            diag = np.linalg.norm(self.boxes[:, 2:4] - self.boxes[:, :2], axis=-1)
            kp = mean / np.maximum(diag, 1.0)[:, None]
            cost = cost + kp
            allowed |= (n > 0) & (kp < self.max_kp)
        return np.where(allowed, cost, np.inf)

    def update(self, boxes: np.ndarray, xy: np.ndarray | None = None, score: np.ndarray | None = None) -> np.ndarray:
        """Ids (P,) for this frame's people (``boxes`` (P, >=4), optional keypoints)."""
        boxes = np.asarray(boxes, dtype=np.float64)[:, :4]
        ids = np.full(len(boxes), -1)
        matched_tracks = np.zeros(len(self.ids), bool)
        if len(self.ids) and len(boxes):
            cost = self.cost(boxes, xy, score)
            order = np.argsort(cost, axis=None, kind="stable")
            for flat in order:  # greedy over pairs, cheapest first; stops at the threshold
                t, p = divmod(int(flat), len(boxes))
                if not np.isfinite(cost[t, p]):
                    break
                if matched_tracks[t] or ids[p] >= 0:
                    continue
                matched_tracks[t], ids[p] = True, self.ids[t]
        new = ids < 0
        ids[new] = np.arange(self.next_id, self.next_id + new.sum())
        self.next_id += int(new.sum())
        # rebuild the track list: updated + new tracks, old unmatched ones age
        keep_old = ~matched_tracks & (self.age + 1 < self.max_age)
        k = xy.shape[1] if xy is not None else (self.xy.shape[1] if self.xy.size else 0)
        old_xy = self.xy[keep_old] if self.xy.size else np.zeros((keep_old.sum(), k, 2))
        old_score = self.score[keep_old] if self.score.size else np.zeros((keep_old.sum(), k))
        cur_xy = xy if xy is not None else np.full((len(boxes), k, 2), np.nan)
        cur_score = score if score is not None else np.zeros((len(boxes), k))
        self.boxes = np.concatenate([self.boxes[keep_old], boxes])
        self.xy = np.concatenate([old_xy, cur_xy]) if k else np.zeros((len(self.boxes), 0, 2))
        self.score = np.concatenate([old_score, cur_score]) if k else np.zeros((len(self.boxes), 0))
        self.ids = np.concatenate([self.ids[keep_old], ids])
        self.age = np.concatenate([self.age[keep_old] + 1, np.zeros(len(boxes), int)])
        return ids

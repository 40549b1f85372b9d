"""Several synthetic people filmed by a ring of cameras, with what makes real multi-person data hard.

The scene (all with exact 3D truth and the identity of every detection):

* two people walk straight across the room in opposite directions on lines ``crossing_gap``
  metres apart, so they pass each other mid-clip (their images overlap in some views);
* a third person moves about in place and **leaves** at 40 % of the clip; a fourth **enters** at
  60 % (so at most three people are there at once);
* each view misses a person now and then (``missing_view_rate``), shows ``false_detections``
  ghosts (a person's skeleton shifted to a random place of that image, anew in every frame: what
  a detector hallucinates; one view only, so no two views agree on it), has
  ``outlier_rate`` of its keypoints thrown ``outlier_px`` pixels off, and mixes up left and right
  legs at ``swap_rate``;
* detections are listed in a shuffled order per view and frame, as a detector would.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from calibration import CameraGroup
from mocap.data import Keypoints2D
from mocap.skeleton.wholebody import INDEX, N_KEYPOINTS
from mocap.synthetic.motion import human_motion
from mocap.synthetic.scene import camera_ring, observe


@dataclass(frozen=True)
class CrowdScene:
    """``truth`` (T, N, 133, 3) metres for the N people (NaN while absent); ``identity`` (C, T, P)
    the true person behind each detection slot of ``kp2d`` (-1: empty slot or ghost)."""

    group: CameraGroup
    kp2d: Keypoints2D
    truth: np.ndarray
    identity: np.ndarray


def _walker(n_frames: int, fps: float, seed: int, start, end) -> np.ndarray:
    """A person whose hip centre moves in a straight line from ``start`` to ``end`` (x, y)."""
    kp = human_motion(n_frames, fps, seed=seed)
    hips = 0.5 * (kp[:, INDEX["left_hip"], :2] + kp[:, INDEX["right_hip"], :2])
    path = np.linspace(start, end, n_frames)
    kp[..., :2] += (path - hips)[:, None]
    return kp


def crowd_scene(n_frames: int = 150, *, n_cameras: int = 5, fps: float = 30.0, noise_px: float = 0.5,
                outlier_rate: float = 0.2, outlier_px=(60.0, 300.0), missing_view_rate: float = 0.1,
                false_detections: int = 1, swap_rate: float = 0.0, crossing_gap: float = 0.7,
                dropout: float = 0.05, radius: float = 6.0, seed: int = 0) -> CrowdScene:
    """A four-person scene (three at once) as described in the module docstring."""
    rng = np.random.default_rng(seed)
    group = camera_ring(n_cameras, radius=radius, seed=seed)
    half = crossing_gap / 2
    people = [
        _walker(n_frames, fps, seed + 1, (-2.0, half), (2.0, half)),
        _walker(n_frames, fps, seed + 2, (2.0, -half), (-2.0, -half)),
        human_motion(n_frames, fps, seed=seed + 3, centre=(-0.5, 2.0)),
        human_motion(n_frames, fps, seed=seed + 4, centre=(0.5, -2.2)),
    ]
    truth = np.stack(people, axis=1)
    truth[int(0.4 * n_frames):, 2] = np.nan  # leaves
    truth[:int(0.6 * n_frames), 3] = np.nan  # enters
    n_people = truth.shape[1]
    kp = observe(group, truth, noise_px=noise_px, dropout=dropout, fps=fps, seed=seed)
    xy, score = kp.xy.copy(), kp.score.copy()
    identity = np.broadcast_to(np.arange(n_people), xy.shape[:3]).copy()

    # Views that miss a person entirely.
    missing = rng.random(xy.shape[:3]) < missing_view_rate
    xy[missing], score[missing] = np.nan, 0.0
    # Left and right legs exchanged by the detector.
    swapped = rng.random(xy.shape[:3]) < swap_rate
    legs = [(INDEX[f"left_{j}"], INDEX[f"right_{j}"]) for j in ("hip", "knee", "ankle", "big_toe", "small_toe", "heel")]
    for left, right in legs:
        a, b = xy[:, :, :, left].copy(), xy[:, :, :, right].copy()
        xy[:, :, :, left] = np.where(swapped[..., None], b, a)
        xy[:, :, :, right] = np.where(swapped[..., None], a, b)
        sa, sb = score[:, :, :, left].copy(), score[:, :, :, right].copy()
        score[:, :, :, left], score[:, :, :, right] = np.where(swapped, sb, sa), np.where(swapped, sa, sb)
    # Keypoints thrown far off (confidently: detectors are often sure of wrong answers).
    seen = score > 0
    outlier = seen & (rng.random(score.shape) < outlier_rate)
    angle = rng.uniform(0, 2 * np.pi, score.shape)
    radius_px = rng.uniform(*outlier_px, score.shape)
    xy = xy + np.where(outlier[..., None], np.stack([np.cos(angle), np.sin(angle)], -1) * radius_px[..., None], 0.0)
    sizes = kp.image_sizes.astype(float)
    # Ghosts: a real person's detection moved elsewhere in one view, seen by that view only.
    ghosts_xy = np.full(xy.shape[:2] + (false_detections,) + xy.shape[3:], np.nan)
    ghosts_score = np.zeros(xy.shape[:2] + (false_detections, N_KEYPOINTS))
    for g in range(false_detections):
        source = rng.integers(0, n_people, size=xy.shape[:2])
        # A new place in every frame: a hallucination, not a reflection (which two views could agree on).
        shift = rng.uniform(-0.35, 0.35, xy.shape[:2] + (2,)) * sizes[:, None]
        picked = np.take_along_axis(xy, source[:, :, None, None, None], 2)[:, :, 0]
        ghosts_xy[:, :, g] = picked + shift[:, :, None]
        ghosts_score[:, :, g] = np.take_along_axis(score, source[:, :, None, None], 2)[:, :, 0]
    inside = ((ghosts_xy >= 0) & (ghosts_xy <= sizes[:, None, None, None] - 1)).all(-1)
    ghosts_score = np.where(inside, ghosts_score, 0.0)
    ghosts_xy = np.where(inside[..., None], ghosts_xy, np.nan)
    xy = np.concatenate([xy, ghosts_xy], axis=2)
    score = np.concatenate([score, ghosts_score], axis=2)
    identity = np.concatenate([identity, np.full(xy.shape[:2] + (false_detections,), -1)], axis=2)
    identity = np.where((score > 0).any(-1), identity, -1)

    order = np.argsort(rng.random(xy.shape[:3]), axis=-1)  # shuffled detection order per view and frame
    xy = np.take_along_axis(xy, order[..., None, None], 2)
    score = np.take_along_axis(score, order[..., None], 2)
    identity = np.take_along_axis(identity, order, 2)
    kp2d = Keypoints2D(xy=xy, score=score, camera_names=kp.camera_names, image_sizes=kp.image_sizes, fps=fps)
    return CrowdScene(group, kp2d, truth, identity)


def match_tracks(xyz: np.ndarray, truth: np.ndarray, *, max_distance: float = 0.15) -> dict:
    """Score tracked people (T, P, K, 3) against the truth (T, N, K, 3).

    Per frame each true person present is matched to the track whose skeleton is closest (median
    over keypoints, within ``max_distance`` metres). Returns ``id_switches`` (times a person's
    matched track changes), ``missed`` (fraction of present person-frames with no track),
    ``ghost_frames`` (track-frames matched to nobody), ``track_of`` (T, N) and ``error`` (T, N, K)
    per-keypoint error in metres of the matched track.
    """
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames where a person is absent
        d = np.nanmedian(np.linalg.norm(xyz[:, :, None] - truth[:, None], axis=-1), axis=-1)  # (T, P, N)
    d = np.where(np.isfinite(d), d, np.inf)
    track_of = np.where(d.min(1) < max_distance, np.argmin(d, axis=1), -1)  # (T, N)
    present = np.isfinite(truth).all(-1).any(-1)
    switches = 0
    for n in range(truth.shape[1]):
        seq = track_of[present[:, n] & (track_of[:, n] >= 0), n]
        switches += int((np.diff(seq) != 0).sum())
    tracked = np.isfinite(xyz).all(-1).any(-1)  # (T, P)
    used = np.zeros_like(tracked)
    t_i, n_i = np.nonzero(track_of >= 0)
    used[t_i, track_of[t_i, n_i]] = True
    error = np.full(truth.shape[:3], np.nan)
    error[t_i, n_i] = np.linalg.norm(xyz[t_i, track_of[t_i, n_i]] - truth[t_i, n_i], axis=-1)
    return {"id_switches": switches, "missed": float((present & (track_of < 0)).sum() / max(present.sum(), 1)),
            "ghost_frames": int((tracked & ~used).sum()), "track_of": track_of, "error": error}


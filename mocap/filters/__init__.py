"""Filtering of 3D keypoints over time: gaps, smoothing, constant bone lengths, foot contacts.

``filter_keypoints(kp3d, settings, face=..., hands=...)`` runs, per keypoint group (body and feet,
face, hands; each may have its own :class:`FilterSettings`), in this order:

1. spike removal (:func:`despike`: points that jump from their neighbours in time), then gap
   filling (:func:`fill_gaps`: linear or cubic, up to N frames),
2. one smoother: zero-phase Butterworth (:func:`butterworth`), the causal one-euro filter
   (:func:`one_euro`; live code steps its frame-at-a-time form, :class:`OneEuroFilter`) or a
   Kalman filter with RTS smoother (:func:`kalman_rts`),
3. rigidification (:func:`rigidify`: each person's rigid bones at constant length,
   :mod:`mocap.filters.bones`).

Points the filter fills in follow the :class:`~mocap.data.Keypoints3D` rule for interpolated
points: a point that was missing, or removed as a spike, and is filled by gap filling gets
``source = SOURCE_INTERPOLATED``, ``n_views`` 0, a NaN ``reproj_error`` and a score of 0 (no camera
saw it there); a removed spike left unfilled is missing (NaN, ``n_views`` 0, ``source``
``SOURCE_TRIANGULATED``, the code of missing points). Every other field is carried through as it
is (frame numbers, world frame, the per-camera record of triangulation).

:func:`foot_contacts` (:mod:`mocap.filters.contacts`) tells when each foot stands on the floor,
for foot locking downstream.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from mocap.data import SOURCE_INTERPOLATED, SOURCE_TRIANGULATED, Keypoints3D
from mocap.errors import SettingsError
from mocap.filters.bones import RIGID_BONES, bone_lengths_median, rigidify
from mocap.filters.contacts import FootContacts, foot_contacts
from mocap.filters.gaps import GAP_METHODS, despike, fill_gaps
from mocap.filters.smoothing import (
    OneEuroFilter, OneEuroState, butterworth, butterworth_padlen, kalman_rts, one_euro,
)

__all__ = ["FilterSettings", "filter_keypoints", "despike", "fill_gaps", "butterworth", "one_euro", "OneEuroFilter",
           "OneEuroState", "kalman_rts",
           "rigidify", "foot_contacts", "FootContacts", "bone_lengths_median", "RIGID_BONES", "KEYPOINT_GROUPS"]

# The groups that can have their own settings, as keypoint indices of COCO-WholeBody 133.
KEYPOINT_GROUPS = {"body": np.arange(0, 23), "face": np.arange(23, 91), "hands": np.arange(91, 133)}


@dataclass(frozen=True)
class FilterSettings:
    """What to do to one keypoint group. Everything is off by default.

    despike: metres a point may stray from its temporal median (7 frames) before it is removed as
        a spike (and becomes a gap to fill); None: no spike removal.
    fill_gaps: longest gap (frames) to interpolate; 0: none. gap_method: "linear" or "cubic".
    butterworth: cut-off in Hz of a zero-phase low-pass; butterworth_order: its order.
    one_euro: (min_cutoff Hz, beta s/m) of the causal one-euro filter.
    kalman: (measurement noise m, acceleration m/s^1.5) of the Kalman + RTS smoother.
    rigidify: constant bone lengths (the bones ending in this group).
    """

    despike: float | None = None
    fill_gaps: int = 0
    gap_method: str = "linear"
    butterworth: float | None = None
    butterworth_order: int = 4
    one_euro: tuple[float, float] | None = None
    kalman: tuple[float, float] | None = None
    rigidify: bool = False

    def check(self, n_frames: int, fps: float, group: str = "body") -> None:
        """SettingsError naming the group and the setting when these cannot apply to the clip."""
        where = f"{group} filter settings"
        smoothers = [n for n in ("butterworth", "one_euro", "kalman") if getattr(self, n) is not None]
        if len(smoothers) > 1:
            raise SettingsError(f"{where}: choose one smoother, not {' and '.join(smoothers)}")
        if self.gap_method not in GAP_METHODS:
            raise SettingsError(f"{where}: gap method must be one of {', '.join(GAP_METHODS)}, got {self.gap_method!r}")
        if int(self.fill_gaps) != self.fill_gaps or self.fill_gaps < 0:
            raise SettingsError(f"{where}: fill_gaps must be a whole number of frames >= 0, got {self.fill_gaps}")
        if self.fill_gaps and self.fill_gaps >= n_frames:
            raise SettingsError(f"{where}: gaps of up to {self.fill_gaps} frames cannot occur inside a clip "
                                f"of {n_frames} frames")
        if self.despike is not None:
            if not self.despike > 0:
                raise SettingsError(f"{where}: the spike threshold must be a positive distance, got {self.despike}")
            if n_frames < 7:
                raise SettingsError(f"{where}: spike removal looks at 7 frames; this clip has {n_frames}")
        if self.butterworth is not None:
            if not 0 < self.butterworth < fps / 2:
                raise SettingsError(f"{where}: the Butterworth cut-off {self.butterworth:g} Hz must be above 0 and "
                                    f"below the Nyquist frequency, half the frame rate ({fps / 2:g} Hz at {fps:g} fps)")
            pad = butterworth_padlen(int(self.butterworth_order))
            if n_frames <= pad:
                raise SettingsError(f"{where}: an order-{self.butterworth_order} Butterworth needs a clip longer "
                                    f"than {pad} frames; this one has {n_frames}")
        if self.one_euro is not None and len(self.one_euro) != 2:
            raise SettingsError(f"{where}: one_euro takes (min_cutoff, beta), got {self.one_euro}")
        if self.kalman is not None and len(self.kalman) != 2:
            raise SettingsError(f"{where}: kalman takes (noise, acceleration), got {self.kalman}")


def _smooth(xyz: np.ndarray, s: FilterSettings, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """One keypoint group (T, P, k, 3) filtered over time, and which of its points gap filling
    filled (T, P, k): missing in the input or removed as a spike, present after the fill."""
    if s.despike is not None:
        xyz = despike(xyz, threshold=s.despike)
    absent = ~np.isfinite(xyz).all(-1)
    if s.fill_gaps:
        xyz = fill_gaps(xyz, max_gap=s.fill_gaps, method=s.gap_method)
    filled = absent & np.isfinite(xyz).all(-1)
    if s.butterworth is not None:
        xyz = butterworth(xyz, fps=fps, cutoff=s.butterworth, order=s.butterworth_order)
    elif s.one_euro is not None:
        xyz = one_euro(xyz, fps=fps, min_cutoff=s.one_euro[0], beta=s.one_euro[1])
    elif s.kalman is not None:
        xyz = kalman_rts(xyz, fps=fps, noise=s.kalman[0], acceleration=s.kalman[1])
    return xyz, filled


def filter_keypoints(kp3d: Keypoints3D, settings: FilterSettings, *, face: FilterSettings | None = None,
                     hands: FilterSettings | None = None) -> Keypoints3D:
    """Filter every person's keypoints over time (see module docstring).

    settings: for the body and feet, and for the face and hands unless they get their own.
    Filled-in points are marked as interpolated and removed spikes that were not filled are
    missing (the rule in the module docstring); every other field is kept.
    """
    per_group = {"body": settings, "face": face or settings, "hands": hands or settings}
    if kp3d.xyz.shape[2] < 133:
        raise SettingsError(f"filtering needs the 133 COCO-WholeBody keypoints, got {kp3d.xyz.shape[2]}")
    for name, s in per_group.items():
        s.check(kp3d.n_frames, kp3d.fps, name)
    xyz = kp3d.xyz.copy()
    filled = np.zeros(xyz.shape[:3], dtype=bool)
    for name, s in per_group.items():
        k = KEYPOINT_GROUPS[name]
        xyz[:, :, k], filled[:, :, k] = _smooth(kp3d.xyz[:, :, k], s, kp3d.fps)
    rigid = [KEYPOINT_GROUPS[n] for n, s in per_group.items() if s.rigidify]
    if rigid:
        xyz = rigidify(xyz, keypoints=np.concatenate(rigid))
    present = np.isfinite(xyz).all(-1)
    filled &= present
    # Interpolated points, and points that are gone (removed spikes): no view stands behind them.
    unseen = filled | ~present
    return replace(kp3d, xyz=xyz, n_views=np.where(unseen, 0, kp3d.n_views),
                   reproj_error=np.where(unseen, np.nan, kp3d.reproj_error),
                   score=np.where(unseen, 0.0, kp3d.score),
                   source=np.where(filled, SOURCE_INTERPOLATED,
                                   np.where(present, kp3d.source, SOURCE_TRIANGULATED)).astype(np.uint8))

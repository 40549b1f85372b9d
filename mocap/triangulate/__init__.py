"""Triangulation: multi-view 2D keypoints + calibrated cameras -> 3D keypoints of one or several people.

``triangulate(group, kp2d)`` undistorts every observation, then

1. finds who is who across views: the subject only (``persons=1``,
   :mod:`mocap.triangulate.subject`) or everyone (:mod:`mocap.triangulate.association`), both
   scored by :mod:`mocap.triangulate.matching`;
2. triangulates every keypoint of every person with confidence weights, leaving out views that
   disagree with the others (:mod:`mocap.triangulate.robust`), and puts back limbs a view saw with
   left and right exchanged;
3. with several people, links them over time into tracks (:mod:`mocap.triangulate.tracking`):
   the output's P axis is the track id.

Observations below ``min_score`` are ignored; a keypoint seen by fewer than ``min_views``
(agreeing) cameras stays NaN. Every geometric test projects through
:func:`mocap.triangulate.projection.project` (normalized coordinates, no lens model in the loops).

The result carries the 2D input's ``frame_index`` and ``camera_names`` and records, per camera,
which 2D detection became each person (``detections``) and which of its limbs were put back
(``view_swaps``, in ``mocap.skeleton.SWAP_GROUP_NAMES`` order).
"""

from __future__ import annotations

import warnings

import numpy as np

from mocap.data import Keypoints2D, Keypoints3D
from mocap.errors import SettingsError
from mocap.skeleton import SWAP_GROUP_NAMES
from mocap.triangulate.association import associate
from mocap.triangulate.dlt import reprojection_errors, triangulate_dlt
from mocap.triangulate.projection import image_bounds, project
from mocap.triangulate.robust import detect_swaps, triangulate_robust, unswap
from mocap.triangulate.subject import select_subject
from mocap.triangulate.tracking import track_people

__all__ = ["triangulate", "calibration_world", "WorldFrameWarning", "triangulate_dlt", "triangulate_robust", "detect_swaps", "select_subject", "associate",
           "track_people", "reprojection_errors", "to_calibration_pixels", "image_bounds", "project"]


def to_calibration_pixels(xy: np.ndarray, image_sizes: np.ndarray, group) -> np.ndarray:
    """Keypoints measured on videos of another size than the calibration's, rescaled to it.

    Phones and encoders resample: the Pose2Sim demo's cam01/cam02 videos are the calibrated
    1088-pixel-wide frames squeezed to 1080. Pixel centres map as ``u' = (u + 0.5) W_cal / W - 0.5``
    (and likewise v). Sizes of 0 mean unknown and leave the camera's keypoints as they are.
    """
    sizes = np.asarray(image_sizes, dtype=float)
    calib = np.array([cam.size for cam in group.cameras], dtype=float)
    known = (sizes > 0).all(-1)
    scale = np.where(known[:, None], calib / np.where(known[:, None], sizes, 1.0), 1.0)  # (C, 2)
    if np.allclose(scale, 1.0):
        return xy
    for cam, size, s in zip(group.cameras, sizes, scale):
        if not np.allclose(s, 1.0):
            warnings.warn(f"camera {cam.name}: keypoints come from {size[0]:.0f}x{size[1]:.0f} images but the "
                          f"calibration is for {cam.size[0]}x{cam.size[1]}; rescaling them", stacklevel=3)
    shape = (-1,) + (1,) * (xy.ndim - 2) + (2,)
    return (xy + 0.5) * scale.reshape(shape) - 0.5


def triangulate(group, kp2d: Keypoints2D, *, persons: int | None = 1, min_score: float = 0.3, min_views: int = 2,
                max_association_error: float = 50.0, max_reprojection_error: float = 15.0,
                outlier_method: str = "consensus", fix_swaps: bool = True, max_gap: float = 1.0,
                min_track_frames: int = 5) -> Keypoints3D:
    """3D keypoints of the subject (``persons=1``) or of everyone (P = number of tracks).

    group: a ``calibration.CameraGroup`` whose cameras are ``kp2d``'s cameras, in order. Keypoints
        from images of another size than a camera's calibration are rescaled to it.
    persons: 1 for the subject only (the person most views agree on, P = 1); None for everyone,
        tracked over time (P axis = track id, in order of first appearance); N > 1 for the N
        tracks seen in the most frames.
    min_score: observations with a lower confidence are not used.
    min_views: a keypoint needs this many agreeing cameras (at least 2).
    max_association_error: pixels within which detections in different views count as one person.
    max_reprojection_error: pixels beyond which a view of a keypoint is an outlier and left out;
        raised per camera to 6 times the camera's median error, since real calibrations fit some
        cameras only to 10-40 px (see :func:`triangulate_robust`).
    outlier_method: "consensus" (every camera pair) or "drop_worst" (see :mod:`.robust`).
    fix_swaps: put back limbs that a view labelled with the wrong side.
    max_gap: seconds a person may go unseen and keep their track id (several people only).
    min_track_frames: tracks seen in fewer frames are dropped as ghosts (several people only);
        capped at the clip's length.

    The result's ``world_frame`` is the calibration's (:func:`calibration.world_frame`); a world
    that is not floor-aligned gives a :class:`WorldFrameWarning`.
    """
    if len(group) < 2 or kp2d.n_cameras < 2:
        raise SettingsError(f"triangulation needs at least two cameras; got {kp2d.n_cameras} "
                            f"({', '.join(kp2d.camera_names)}). Single-camera (monocular) lifting is not available")
    if min_views < 2:
        raise SettingsError(f"min_views must be at least 2 to triangulate, got {min_views}")
    if not 0.0 <= min_score <= 1.0:
        raise SettingsError(f"min_score must be between 0 and 1, got {min_score}")
    if persons is not None and (int(persons) != persons or persons < 1):
        raise SettingsError(f"persons must be a positive whole number or None (everyone), got {persons}")
    if not max_gap >= 0 or int(min_track_frames) != min_track_frames or min_track_frames < 1:
        raise SettingsError(f"max_gap must be >= 0 seconds and min_track_frames a whole number >= 1, "
                            f"got {max_gap} and {min_track_frames}")
    if outlier_method not in ("consensus", "drop_worst"):
        raise SettingsError(f"outlier_method must be 'consensus' or 'drop_worst', got {outlier_method!r}")
    for name, value in (("max_association_error", max_association_error),
                        ("max_reprojection_error", max_reprojection_error)):
        if not value > 0:
            raise SettingsError(f"{name} must be a positive number of pixels, got {value}")
    if len(group) != kp2d.n_cameras:
        raise ValueError(f"{len(group)} cameras in the calibration, {kp2d.n_cameras} in the keypoints")

    # A clip shorter than the ghost limit would lose everyone: the limit is at most the clip.
    min_track_frames = min(int(min_track_frames), max(kp2d.n_frames, 1))
    world = calibration_world(group)
    score = np.where(np.isfinite(kp2d.xy).all(-1), np.nan_to_num(kp2d.score), 0.0)
    score = np.where(score >= min_score, score, 0.0)
    xy = np.where(score[..., None] > 0, to_calibration_pixels(kp2d.xy, kp2d.image_sizes, group), np.nan)
    uv = group.undistort_points(xy)
    extr = group.extrinsic_matrices()
    focal = np.array([cam.matrix[0, 0] for cam in group.cameras])

    if persons == 1:
        sel = select_subject(group, uv, score, max_error=max_association_error)[:, None]  # (T, 1, C)
    else:
        sel = associate(extr, uv, score, focal, max_error=max_association_error, min_views=min_views,
                        bounds=image_bounds(group))  # (T, M, C)
    cams = np.arange(kp2d.n_cameras)[:, None, None]
    frames = np.arange(kp2d.n_frames)[None, :, None]
    picked = np.maximum(np.moveaxis(sel, -1, 0), 0)  # (C, T, M)
    seen = (np.moveaxis(sel, -1, 0) >= 0)[..., None]
    xy_s = np.where(seen[..., None], xy[cams, frames, picked], np.nan)  # (C, T, M, K, 2)
    uv_s = np.where(seen[..., None], uv[cams, frames, picked], np.nan)
    w_s = np.where(seen, score[cams, frames, picked], 0.0)  # (C, T, M, K)

    # With several people, a keypoint from two views that disagree is more likely a mix-up than a
    # badly calibrated camera: it is dropped. The subject-only mode keeps it, as it always did.
    solve = dict(focal=focal, threshold_px=max_reprojection_error, min_views=min_views, method=outlier_method,
                 keep_inconsistent_pairs=persons == 1)
    xyz, used = triangulate_robust(extr, uv_s, w_s, **solve)  # (T, M, K, 3), (C, T, M, K)
    detections = np.moveaxis(sel, -1, 0)  # (C, T, M) the 2D slot of each group, -1: none
    swapped = np.zeros(detections.shape + (len(SWAP_GROUP_NAMES),), dtype=bool)
    if fix_swaps and xyz.size:
        swaps = detect_swaps(extr, xyz, uv_s, focal, threshold_px=max_reprojection_error, used=used)
        if any(m.any() for m in swaps.values()):
            uv_s, xy_s = unswap(uv_s, swaps), unswap(xy_s, swaps)
            w_s = unswap(w_s[..., None], swaps)[..., 0]
            xyz, used = triangulate_robust(extr, uv_s, w_s, **solve)
            for g, name in enumerate(SWAP_GROUP_NAMES):
                if name in swaps:
                    swapped[..., g] = swaps[name]
    n_views = used.sum(0)
    ok = np.isfinite(xyz).all(-1)
    err = np.where(used, reprojection_errors(group.project(xyz), xy_s), 0.0)
    reproj = np.where(ok, err.sum(0) / np.maximum(n_views, 1), np.nan)
    mean_score = np.where(ok, (w_s * used).sum(0) / np.maximum(n_views, 1), 0.0)

    if persons != 1:
        ids = track_people(xyz, fps=kp2d.fps, max_gap=max_gap, min_frames=min_track_frames)  # (T, M)
        n_tracks = int(ids.max()) + 1 if ids.size else 0
        if persons is not None and n_tracks > persons:
            # The tracks seen in the most frames, still in order of first appearance.
            counts = np.bincount(ids[ids >= 0], minlength=n_tracks)
            top = np.sort(np.argsort(-counts, kind="stable")[:persons])
            remap = np.full(n_tracks + 1, -1)
            remap[top] = np.arange(persons)
            ids, n_tracks = remap[ids], persons
        t_i, m_i = np.nonzero(ids >= 0)
        p_i = ids[t_i, m_i]
        shape = (kp2d.n_frames, n_tracks, kp2d.n_keypoints)
        out = [np.full(shape + (3,), np.nan), np.zeros(shape), np.full(shape, np.nan), np.zeros(shape, dtype=int)]
        for target, source in zip(out, (xyz, mean_score, reproj, n_views)):
            target[t_i, p_i] = source[t_i, m_i]
        xyz, mean_score, reproj, n_views = out
        by_track = np.full(detections.shape[:2] + (n_tracks,), -1), np.zeros((len(group), kp2d.n_frames, n_tracks,
                                                                              len(SWAP_GROUP_NAMES)), dtype=bool)
        by_track[0][:, t_i, p_i], by_track[1][:, t_i, p_i] = detections[:, t_i, m_i], swapped[:, t_i, m_i]
        detections, swapped = by_track
        ok = np.isfinite(xyz).all(-1)
    n_views = np.where(ok, n_views, 0)
    # A person absent from a frame took no detection there.
    absent = ~ok.any(-1)  # (T, P)
    detections = np.where(absent, -1, detections)
    swapped = swapped & ~absent[..., None]
    return Keypoints3D(xyz=xyz, score=mean_score, reproj_error=reproj, n_views=n_views,
                       layout=kp2d.layout, fps=kp2d.fps, frame_index=kp2d.frame_index, world_frame=world,
                       camera_names=kp2d.camera_names, detections=detections, view_swaps=swapped)


class WorldFrameWarning(UserWarning):
    """The calibration's world has no known floor (or no known up)."""


def calibration_world(group) -> str:
    """The world frame of ``group`` (:func:`calibration.world_frame`), with a warning when it is not floor-aligned."""
    import calibration

    world = calibration.world_frame(group)
    if world == "unaligned":
        said = group.metadata.get("world_frame") or "the file does not say"
        warnings.warn(f"the calibration's world is not floor-aligned ({said}: e.g. the first camera's frame, y "
                      "down): the 3D keypoints have no known up or floor (world frame 'unaligned'); exports turn the "
                      "person upright from their own posture and say so. Calibrate with the board on the floor "
                      "(`mocap calibrate --floor`) to fix the world",
                      WorldFrameWarning, stacklevel=3)
    elif world == "z_up":
        warnings.warn("the calibration's world is Z up but its floor height is unknown (world frame 'z_up'): foot "
                      "contacts take each person's lowest foot level as the floor", WorldFrameWarning, stacklevel=3)
    return world

"""Triangulation file to file: ``pose2d.npz`` + a calibration -> ``pose3d.npz`` (+ TRC), a stretch
of time at a time for the subject, so that memory does not grow with the session's length; each
camera's median reprojection error measured, and a camera far above the others warned about.
Used by ``mocap triangulate`` (:mod:`mocap.api`) and the runner's triangulate stage."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.data import Keypoints2D, Keypoints3D
from mocap.errors import InputFileError


# Frames per piece of a long session: stages work through time in pieces of this many frames.
CHUNK_FRAMES = 600


def camera_series(group, kp2d, kp3d, person: int = 0, min_score: float = 0.3) -> np.ndarray:
    """(C, T) median reprojection error (px) of ``person`` in each camera and frame."""
    from mocap.report.metrics import calibration_pixels, reprojection, reprojection_series, subject_slots

    xy = calibration_pixels(kp2d, group)
    uv = reprojection(group, kp3d.xyz[:, person])
    known = len(kp3d.camera_names) == kp2d.n_cameras
    slots = subject_slots(xy, kp2d.score, uv, min_score=min_score,
                          detections=kp3d.detections[:, :, person] if known else None,
                          image_heights=[cam.size[1] for cam in group.cameras])
    return reprojection_series(xy, kp2d.score, uv, slots, min_score=min_score)


def frames_in(path) -> int:
    """The number of time steps of a pose2d.npz, read from its header."""
    from mocap.pipeline.chunks import TimeReader

    with TimeReader(path, Keypoints2D.TIME_AXES) as reader:
        return reader.n_frames


def triangulate_options(s, n_frames: int) -> dict:
    """:func:`mocap.triangulate.triangulate`'s options from a ``[triangulate]``-like mapping."""
    return dict(min_score=s["min_score"], min_views=s["min_views"], max_association_error=s["max_association_error"],
                max_reprojection_error=s["max_reprojection_error"], outlier_method=s["outlier_method"],
                fix_swaps=s["fix_swaps"], max_gap=s["max_gap"], min_track_frames=min(int(s["min_track_frames"]), n_frames))


@dataclass(frozen=True)
class TriangulatedFiles:
    pose3d_npz: Path
    trc: tuple[Path, ...]  # pose3d.trc, pose3d_p1.trc, ...
    n_frames: int
    n_persons: int
    found: np.ndarray  # (K,) frames x persons each keypoint was triangulated in
    camera_errors: dict  # camera -> median reprojection error of person 0 (px)
    outliers: tuple[str, ...]  # cameras far above the others

    def summary(self) -> str:
        present = self.found > 0
        share = self.found[present].sum() / max(self.n_frames * self.n_persons * present.sum(), 1)
        errors = ", ".join(f"{n} {m:.1f}" for n, m in self.camera_errors.items())
        return (f"{self.n_persons} person(s) × {self.n_frames} frames: {int(present.sum())} keypoints, {share:.0%} "
                f"of them found; median reprojection error (px) {errors}")


def _pieces(pose2d: Path, group, out: Path, options: dict, progress: bool, trc: Path | None):
    """The subject (each frame stands alone) triangulated a piece of time at a time into ``out``
    (and into the TRC ``trc`` as it goes, when given)."""
    from tqdm import tqdm

    from exporters import TrcWriter
    from exporters.trc import frame_step
    from mocap.pipeline.chunks import TimeWriter, read_by_time
    from mocap.triangulate import triangulate

    total = frames_in(pose2d)
    writer = TimeWriter(out, "Keypoints3D", total)
    markers = None
    series, found = [], 0
    try:
        with tqdm(total=total, desc="triangulate", unit="frame", disable=not progress) as bar:
            for _, kp2d in read_by_time(pose2d, Keypoints2D, Keypoints2D.TIME_AXES, CHUNK_FRAMES):
                kp3d = triangulate(group, kp2d, persons=1, **options)
                writer.static = {"layout": kp3d.layout, "fps": kp3d.fps, "world_frame": kp3d.world_frame,
                                 "camera_names": kp3d.camera_names}
                writer.append({f: getattr(kp3d, f) for f in Keypoints3D.TIME_AXES}, Keypoints3D.TIME_AXES)
                if trc is not None:
                    if markers is None:
                        markers = TrcWriter(trc, total, kp3d.fps, first_frame=int(kp2d.frame_index[0]),
                                            step=frame_step(kp2d.frame_index[:2]))
                    markers.write(kp3d.xyz[:, 0], kp3d.frame_index)
                series.append(camera_series(group, kp2d, kp3d, min_score=options["min_score"]))
                found = found + np.isfinite(kp3d.xyz[..., 0]).sum(axis=(0, 1))
                bar.update(kp2d.n_frames)
    except BaseException:
        writer.discard()
        if markers is not None:
            markers.discard()
        raise
    writer.close()
    if markers is not None:
        markers.close()
    return total, found, np.concatenate(series, axis=1)


def triangulate_file(pose2d: Path, group, output_dir: Path, *, persons: int | None, options: dict, trc: bool = True,
                     progress: bool = False) -> TriangulatedFiles:
    """``pose2d.npz`` + the calibration ``group`` (its cameras by the 2D's names) -> ``output_dir``'s
    ``pose3d.npz`` (+ a TRC per person). The subject (``persons`` 1) is triangulated
    :data:`CHUNK_FRAMES` frames at a time, so memory does not grow with the clip; tracking several
    people links frames over the whole clip. Each camera's median reprojection error is measured,
    with a warning for a camera far above the others. InputFileError when nobody was triangulated,
    saying why."""
    from exporters import write_trcs
    from mocap.report.metrics import camera_medians, camera_outliers
    from mocap.triangulate import triangulate

    import calibration

    out = Path(output_dir) / "pose3d.npz"
    kp3d = None
    streamed = []
    if persons == 1:
        # TRC rows go out as the pieces come, except for a world without a known up (turned upright
        # from the whole clip's posture by the exporter).
        stream = trc and calibration.world_frame(group) != "unaligned"
        streamed = [Path(output_dir) / "pose3d.trc"] if stream else []
        n_frames, found, series = _pieces(pose2d, group, out, options, progress, streamed[0] if stream else None)
    else:
        kp2d = Keypoints2D.load(pose2d)
        kp3d = triangulate(group, kp2d, persons=persons, **options)
        n_frames, found = kp2d.n_frames, np.isfinite(kp3d.xyz[..., 0]).sum(axis=(0, 1))
        series = camera_series(group, kp2d, kp3d, min_score=options["min_score"]) if kp3d.n_persons else None
        if kp3d.n_persons:
            kp3d.save(out)
    if not np.any(found):
        out.unlink(missing_ok=True)
        ghosts = "" if persons == 1 else (f"; people seen in fewer than {options['min_track_frames']} frames are "
                                          "dropped as ghosts (lower min_track_frames to keep them)")
        for path in streamed:
            path.unlink(missing_ok=True)
        raise InputFileError(f"nobody was triangulated in the {n_frames} frames: no keypoint above confidence "
                             f"{options['min_score']:g} was seen by {options['min_views']} agreeing cameras or "
                             f"more{ghosts}", pose2d)
    trc_paths = streamed
    if trc and not streamed:
        kp3d = kp3d if kp3d is not None else Keypoints3D.load(out)
        trc_paths = write_trcs(kp3d, output_dir)
    medians = camera_medians(series)
    outliers = camera_outliers(medians)
    for name, m, bad in zip(group.names, medians, outliers):
        if bad:
            warnings.warn(f"camera {name}: median reprojection error {m:.1f} px, far above the other cameras' "
                          f"({np.nanmedian(np.delete(medians, group.names.index(name))):.1f} px): check its "
                          "calibration, or whether it saw another person", stacklevel=2)
    n_persons = kp3d.n_persons if kp3d is not None else 1
    return TriangulatedFiles(out, tuple(trc_paths), n_frames, n_persons, found, dict(zip(group.names, medians)),
                             tuple(n for n, bad in zip(group.names, outliers) if bad))

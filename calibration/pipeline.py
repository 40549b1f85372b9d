"""Calibrate a rig from a folder of board pictures: detection → intrinsics → extrinsics → bundle
adjustment → world frame → calibration TOML and report.

Nothing is written until every step has succeeded, and the calibration file is written
atomically: a failure (no board in a camera, too few views, cameras not connected by shared
views, unreadable pictures) raises :class:`CalibrationError` and leaves no file behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


from calibration.bundle import BundleResult, bundle_adjust
from calibration.errors import CalibrationError
from calibration.extrinsics import initial_poses
from calibration.group import CameraGroup
from calibration.intrinsics import IntrinsicsResult, calibrate_intrinsics
from calibration.sources import discover
from calibration.toml_format import write_toml
from calibration.world import align_to_floor_board


@dataclass(frozen=True)
class CalibrationResult:
    group: CameraGroup
    intrinsics: dict  # name → IntrinsicsResult
    bundle: BundleResult | None
    detections: dict  # name → {instant: Detection | None}
    board_world: dict  # instant → (R, t) board → world
    world_frame: str
    path: Path | None = None
    report_paths: tuple = ()


class CameraProgress:
    """A progress bar per camera (tqdm), advanced by ``self(camera, picture)``."""

    def __init__(self):
        self.bars: dict = {}

    def __call__(self, camera: str, _picture) -> None:
        if camera not in self.bars:
            from tqdm import tqdm

            for bar in self.bars.values():
                bar.close()
            self.bars[camera] = tqdm(desc=f"board detection, camera {camera}", unit="picture")
        self.bars[camera].update()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def detect_all(folder, board, *, step: int = 1, rate: float | None = None, progress=None) -> tuple[dict, dict]:
    """``detections[name][instant]`` and ``sizes[name]`` for every camera of ``folder``; videos are
    sampled every ``step`` frames, or at ``rate`` frames per second when given."""
    detections, sizes = {}, {}
    for source in discover(folder):
        found, tried = {}, 0
        source_step = step
        if rate and source.is_video:
            fps = source.fps()
            if fps is None:
                raise CalibrationError(f"camera {source.name!r}: the video does not say its frame rate; use --every",
                                       source.path)
            source_step = max(1, int(round(fps / rate)))
        for key, image in source.frames(source_step):
            tried += 1
            sizes[source.name] = (image.shape[1], image.shape[0])
            found[key] = board.detect(image)
            if progress:
                progress(source.name, key)
        if not any(d is not None for d in found.values()):
            hint = ("the number of squares (--squares counts squares for ChArUco) or the --dictionary"
                    if board.kind == "charuco" else "the number of inner corners (--squares 4x7 counts inner corners)")
            raise CalibrationError(f"camera {source.name!r}: no board found in any of the {tried} pictures tried; "
                                   f"likely cause: wrong board settings, check {hint}", source.path)
        detections[source.name] = found
    return detections, sizes


def calibrate_detections(detections: dict, sizes: dict, board, *, intrinsics_only: bool = False,
                         fisheye: bool = False, refine_intrinsics: bool = True, floor=None) -> CalibrationResult:
    """The calibration from detections (see :func:`calibrate_folder`)."""
    intrinsics: dict[str, IntrinsicsResult] = {}
    for name, dets in detections.items():
        intrinsics[name] = calibrate_intrinsics(dets, board.object_points, sizes[name], name=name, fisheye=fisheye)
    cameras = [intrinsics[n].camera for n in detections]
    if intrinsics_only:
        group = CameraGroup(tuple(cameras), {"calibration": "intrinsics only; camera poses are not calibrated"})
        return CalibrationResult(group, intrinsics, None, detections, {}, "none (intrinsics only)")
    cameras, board_world = initial_poses(cameras, detections, board.object_points)
    bundle = bundle_adjust(cameras, board_world, detections, board.object_points, refine_intrinsics=refine_intrinsics)
    cameras, board_world = bundle.cameras, bundle.board_world
    world = f"camera {cameras[0].name}"
    if floor is not None:
        floor = str(floor)
        if floor not in board_world:
            raise CalibrationError(f"the floor picture {floor!r} is not a view where the board was found; "
                                   f"views with the board: {', '.join(sorted(map(str, board_world))[:20])}")
        cameras, board_world = align_to_floor_board(cameras, board_world, floor)
        world = f"board on the floor in picture {floor}"
    metadata = {"adjusted": True, "error": bundle.rms, "world_frame": world, "board": board.kind,
                "reprojection_rms_px": bundle.camera_rms}
    return CalibrationResult(CameraGroup(tuple(cameras), metadata), intrinsics, bundle, detections, board_world, world)


def calibrate_folder(folder, board, output, *, intrinsics_only: bool = False, fisheye: bool = False,
                     step: int = 1, rate: float | None = None, floor=None, report: bool = True,
                     progress=None) -> CalibrationResult:
    """Calibrate the cameras of ``folder`` with ``board`` and write ``output`` (TOML) and, with
    ``report``, the report files beside it. progress: True for a progress bar per camera (board
    detection), or a callable ``f(camera, picture)`` called for each picture."""
    output = Path(output)
    if not output.parent.is_dir():
        raise CalibrationError("the output folder does not exist", output.parent)
    bars = CameraProgress() if progress is True else None
    try:
        detections, sizes = detect_all(folder, board, step=step, rate=rate, progress=bars or progress or None)
    finally:
        if bars is not None:
            bars.close()
    result = calibrate_detections(detections, sizes, board, intrinsics_only=intrinsics_only, fisheye=fisheye,
                                  floor=floor)
    paths = ()
    if report:
        from calibration.report import write_report

        paths = write_report(result, board, output.with_suffix(""))
    write_toml(result.group, output)
    return CalibrationResult(**{**result.__dict__, "path": output, "report_paths": paths})

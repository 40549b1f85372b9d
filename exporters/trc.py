"""OpenSim TRC (Track Row Column) marker files: writer and reader for one person's keypoints.

Layout (tab separated, as OpenSim's own TRCFileAdapter writes and reads it)::

    PathFileType  4  (X/Y/Z)  <file name> (Y up: world x, z, -y)
    DataRate  CameraRate  NumFrames  NumMarkers  Units  OrigDataRate  OrigDataStartFrame  OrigNumFrames
    30  30  100  133  m  30  1  100
    Frame#  Time  nose  <tab><tab>  left_eye ...
            X1  Y1  Z1  X2  Y2  Z2 ...
    <empty line>
    1  0.000000  x  y  z  x  y  z ...

Markers are the 133 COCO-WholeBody names. Frames are the source video's frame numbers (the
keypoints' ``frame_index``, from 1: a clip starting at video frame 120 starts at Frame# 121, and
OrigDataStartFrame says 121), time is (Frame# - 1) / the video's rate.
Every value, the last one included, is followed by a tab, as OpenSim writes. A **missing marker is
written ``NaN NaN NaN``**: OpenSim parses that as missing (as it does empty fields), and unlike empty
fields it survives readers that split rows on any whitespace (trc-data-reader and many scripts),
which would otherwise shift every later marker.

Axes: OpenSim's ground is **Y up**. Our world is Z up, so points are written as
``(x, y, z) -> (x, z, -y)`` and the first header line says so after the file name (OpenSim keeps
that line verbatim and checks only its first word; readers that split it into four tab fields
see the note as part of the file name). Units: ``m`` (default), ``cm`` or ``mm``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mocap.data import WHOLEBODY, Keypoints3D
from mocap.errors import InputFileError
from exporters.markers import UNITS, person_markers
from mocap.fileio import atomic_write, person_suffix, read_text
from mocap.skeleton.wholebody import INDEX, NAMES, N_KEYPOINTS

AXES_NOTE = "(Y up: world x, z, -y)"
_DECIMALS = {"m": 6, "cm": 4, "mm": 3}
_KEYS = ("DataRate", "CameraRate", "NumFrames", "NumMarkers", "Units", "OrigDataRate", "OrigDataStartFrame",
         "OrigNumFrames")


def _rate(fps: float) -> str:
    return f"{fps:.6g}"


class TrcWriter:
    """A TRC file written a stretch of frames at a time (memory does not grow with the clip); the
    file replaces ``path`` atomically when the writer closes after all ``n_frames`` frames.

    ``write(xyz, frame_index)`` takes (t, 133, 3) positions in ``units`` (world axes, Z up) and the
    source frame numbers of those frames; ``step`` is the frames between time steps (the stride).
    """

    ROWS = 2000  # rows formatted at a time

    def __init__(self, path: str | os.PathLike, n_frames: int, fps: float, units: str = "m", *, first_frame: int = 0,
                 step: float = 1.0):
        self.path, self.n_frames, self.fps, self.units, self.step = Path(path), n_frames, fps, units, step
        self._written = 0
        self._context = atomic_write(self.path, newline="\n")
        self._file = self._context.__enter__()
        rate = _rate(fps)
        header = [
            f"PathFileType\t4\t(X/Y/Z)\t{self.path.name} {AXES_NOTE}",
            "\t".join(_KEYS),
            "\t".join([rate, rate, str(n_frames), str(N_KEYPOINTS), units, rate, str(first_frame + 1), str(n_frames)]),
            "Frame#\tTime\t" + "".join(f"{name}\t\t\t" for name in NAMES),
            "\t\t" + "".join(f"X{i}\tY{i}\tZ{i}\t" for i in range(1, N_KEYPOINTS + 1)),
            "",
        ]
        self._file.write("\n".join(header) + "\n")
        # One %-format per row; Python writes a missing value as "nan", spelled "NaN" as OpenSim writes it.
        self._row = "%d\t%.6f\t" + f"%.{_DECIMALS[units]}f\t" * (3 * N_KEYPOINTS)

    def write(self, xyz: np.ndarray, frame_index) -> None:
        frames = np.asarray(frame_index, dtype=np.int64) + 1  # source frame numbers, from 1
        for a in range(0, len(frames), self.ROWS):
            block, numbers = xyz[a:a + self.ROWS], frames[a:a + self.ROWS]
            yup = np.stack([block[..., 0], block[..., 2], -block[..., 1]], axis=-1)
            yup[~np.isfinite(yup).all(-1)] = np.nan  # a marker is missing as a whole
            times = (numbers - 1) / (self.fps * self.step)
            table = np.concatenate([numbers[:, None], times[:, None], yup.reshape(len(numbers), -1)], 1)
            self._file.write("\n".join(self._row % tuple(row) for row in table.tolist()).replace("nan", "NaN") + "\n")
        self._written += len(frames)

    def close(self) -> Path:
        if self._written != self.n_frames:
            self.discard()
            raise ValueError(f"TRC writer got {self._written} frames of {self.n_frames}")
        self._context.__exit__(None, None, None)
        return self.path

    def discard(self) -> None:
        """Drop the unfinished file: what was at ``path`` stays."""
        try:
            self._context.__exit__(ValueError, ValueError("discarded"), None)
        except ValueError:
            pass


def frame_step(frame_index) -> float:
    """Source frames between time steps (the stride), from the frame numbers."""
    frames = np.asarray(frame_index)
    return float(np.median(np.diff(frames))) if len(frames) > 1 else 1.0


def write_trc(kp: Keypoints3D, path: str | os.PathLike, person: int = 0, units: str = "m") -> Path:
    """Write one person's keypoints as an OpenSim TRC file (atomically); see the module doc. Frame
    numbers and times are the source video's (``frame_index``)."""
    xyz = person_markers(kp, person, units, "TRC")
    writer = TrcWriter(path, kp.n_frames, kp.fps, units, first_frame=int(kp.frame_index[0]) if kp.n_frames else 0,
                       step=frame_step(kp.frame_index))
    writer.write(xyz, kp.frame_index)
    return writer.close()


def write_trcs(kp: Keypoints3D, folder: str | os.PathLike, stem: str = "pose3d") -> list[Path]:
    """One TRC per person of ``kp``: ``<stem>.trc``, ``<stem>_p1.trc``, ... in ``folder``."""
    return [write_trc(kp, Path(folder) / f"{stem}{person_suffix(p)}.trc", person=p) for p in range(kp.n_persons)]


def read_trc(path: str | os.PathLike) -> Keypoints3D:
    """Read a TRC file whose markers are COCO-WholeBody names into Keypoints3D (one person).

    Converts back to our Z-up world in metres (from the file's Units). Markers absent from the
    file are NaN; a TRC holds positions only, so ``score`` is 1 where a point is present (0 where
    missing), ``reproj_error`` NaN and ``n_views`` 0. Raises InputFileError naming the line for a
    malformed file, or listing marker names that are not COCO-WholeBody names.
    """
    path = Path(path)
    lines = read_text(path).splitlines()

    def fail(message: str, line_no: int | None = None):
        raise InputFileError(f"line {line_no}: {message}" if line_no else message, path)

    if len(lines) < 5 or not lines[0].startswith("PathFileType"):
        fail("not a TRC file: the first line must start with PathFileType", 1)
    keys = [k for k in lines[1].split("\t") if k.strip()]
    vals = [v for v in lines[2].split("\t") if v.strip()]
    if len(keys) != len(vals):
        fail(f"{len(keys)} header keys but {len(vals)} values on line 3", 3)
    meta = dict(zip((k.strip() for k in keys), (v.strip() for v in vals)))
    for key in ("DataRate", "NumFrames", "NumMarkers", "Units"):
        if key not in meta:
            fail(f"the header has no {key}", 2)
    try:
        fps, n_frames, n_markers = float(meta["DataRate"]), int(meta["NumFrames"]), int(meta["NumMarkers"])
    except ValueError:
        fail("DataRate, NumFrames or NumMarkers is not a number", 3)
    units = meta["Units"].strip().lower()
    if units not in UNITS:
        fail(f"unknown Units {meta['Units']!r} (expected one of {sorted(UNITS)})", 3)
    labels = [x.strip() for x in lines[3].split("\t") if x.strip()]
    if labels[:2] != ["Frame#", "Time"]:
        fail("the column labels must start with Frame# and Time", 4)
    markers = labels[2:]
    if len(markers) != n_markers:
        fail(f"NumMarkers is {n_markers} but {len(markers)} marker names are listed", 4)
    unknown = [m for m in markers if m not in INDEX]
    if unknown:
        fail(f"markers that are not COCO-WholeBody names: {', '.join(unknown[:5])}"
             + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""), 4)

    # Data rows: after the X1/Y1/Z1 line, skipping blank lines before the first row; an empty line
    # after data has begun ends the data, as in OpenSim.
    body = []
    started = False
    for n, line in enumerate(lines[5:], start=6):
        if not line.strip():
            if started:
                break
            continue
        started = True
        body.append((n, line))
    if len(body) != n_frames:
        fail(f"NumFrames is {n_frames} but the file holds {len(body)} data rows")
    expected = 2 + 3 * n_markers
    data = np.full((n_frames, 3 * n_markers), np.nan)
    numbers = np.zeros(n_frames, dtype=np.int64)
    for t, (n, line) in enumerate(body):
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) == expected + 1 and fields[-1] == "":
            fields = fields[:-1]  # the trailing tab
        if len(fields) != expected:
            fail(f"{len(fields)} fields, expected {expected} (Frame#, Time and X, Y, Z of {n_markers} markers)", n)
        try:
            data[t] = [float(v) if v.strip() else np.nan for v in fields[2:]]
            numbers[t] = int(float(fields[0]))
        except ValueError:
            fail("a value is not a number", n)
    yup = data.reshape(n_frames, n_markers, 3) / UNITS[units]
    xyz = np.full((n_frames, 1, N_KEYPOINTS, 3), np.nan)
    columns = [INDEX[m] for m in markers]
    xyz[:, 0, columns] = np.stack([yup[..., 0], -yup[..., 2], yup[..., 1]], axis=-1)
    present = np.isfinite(xyz).all(-1)
    xyz[~present] = np.nan
    # Frame# holds the source frame numbers from 1, when they increase (else: 0, 1, 2, ...).
    frame_index = numbers - 1 if n_frames and np.all(np.diff(numbers) > 0) and numbers[0] >= 1 else None
    return Keypoints3D(xyz=xyz, score=present.astype(float), reproj_error=np.full(present.shape, np.nan),
                       n_views=np.zeros(present.shape, dtype=np.int16), layout=WHOLEBODY, fps=fps,
                       frame_index=frame_index)

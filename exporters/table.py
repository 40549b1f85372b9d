"""Plain tables of 3D keypoints: CSV for spreadsheets and pandas, NPZ for numpy.

CSV layout: a first comment line stating the frame, then a header row and one row per frame and
person (frame-major)::

    # mocap 3D keypoints: world frame, Z up, metres; time = frame / fps (fps 30); empty = missing
    frame,time,person,nose_x,nose_y,nose_z,left_eye_x,...
    0,0.000000,0,0.012345,...

``frame`` and ``person`` count from 0 like the arrays; a missing keypoint is three empty fields.
pandas reads it with ``pd.read_csv(path, comment="#")``. Unlike BVH and TRC, the CSV keeps our Z-up
world as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mocap.data import Keypoints3D
from mocap.fileio import atomic_write
from mocap.skeleton.wholebody import NAMES, N_KEYPOINTS


def csv_columns(names=NAMES) -> list[str]:
    """The CSV header: frame, time, person, then ``<name>_x``, ``_y``, ``_z`` for each keypoint."""
    return ["frame", "time", "person"] + [f"{n}_{a}" for n in names for a in "xyz"]


def write_csv(kp: Keypoints3D, path: str | os.PathLike, decimals: int = 6) -> Path:
    """Write all persons' 3D keypoints as CSV (atomically); see the module doc."""
    if kp.xyz.shape[2] != N_KEYPOINTS:
        raise ValueError(f"write_csv needs the {N_KEYPOINTS} COCO-WholeBody keypoints, got {kp.xyz.shape[2]}")
    T, P = kp.n_frames, kp.n_persons
    xyz = kp.xyz.reshape(T * P, N_KEYPOINTS, 3).copy()
    xyz[~np.isfinite(xyz).all(-1)] = np.nan  # a point is missing as a whole
    frame = np.repeat(np.arange(T), P)
    person = np.tile(np.arange(P), T)
    table = np.concatenate([frame[:, None], (frame / kp.fps)[:, None], person[:, None], xyz.reshape(T * P, -1)], 1)
    # One %-format per row; "nan" (never part of a number) then becomes the empty missing field.
    row_format = "%d,%.6f,%d" + f",%.{decimals}f" * (3 * N_KEYPOINTS)
    rows = "\n".join(row_format % tuple(row) for row in table.tolist()).replace("nan", "")
    note = (f"# mocap 3D keypoints: world frame, Z up, metres; time = frame / fps (fps {kp.fps:.6g}); "
            "empty = missing")
    with atomic_write(path, newline="\n") as f:
        f.write(note + "\n" + ",".join(csv_columns()) + "\n" + rows + "\n")
    return Path(path)


def write_npz(kp: Keypoints3D, path: str | os.PathLike) -> Path:
    """Save the keypoints losslessly (every field) as ``.npz``: ``Keypoints3D.load`` reads it back."""
    return kp.save(path)

"""``mocap filter``: pose3d.npz -> pose3d_filtered.npz, TRC files and foot contacts (file level)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.data import Keypoints3D
from mocap.errors import OutputError
from mocap.filters import FilterSettings, filter_keypoints, foot_contacts
from mocap.filters.contacts import FEET
from mocap.fileio import atomic_path


@dataclass(frozen=True)
class FilterFileResult:
    keypoints: Keypoints3D
    contacts: np.ndarray  # (T, P, 2) left, right foot on the floor
    npz: Path
    trc: list[Path]
    contacts_npz: Path
    floor_known: bool = False  # contacts against z = 0 (True) or a floor estimated from the feet


def filter_pose3d(input_path: str | os.PathLike, output_dir: str | os.PathLike | None = None, *,
                  settings: FilterSettings, face: FilterSettings | None = None,
                  hands: FilterSettings | None = None, contact_height: float = 0.05,
                  contact_speed: float = 0.3) -> FilterFileResult:
    """Filter ``input_path`` (a pose3d.npz) into ``output_dir`` (default: beside it).

    Writes ``pose3d_filtered.npz``, ``pose3d_filtered.trc`` (person 0; ``pose3d_filtered_pN.trc``
    for each further person) and ``foot_contacts.npz`` (``contacts`` (T, P, 2): left, right;
    ``floor`` (P, 2) the floor height under each foot and ``floor_known``: whether that is the
    calibration's z = 0 or an estimate from the feet, see :mod:`mocap.filters.contacts`).
    """
    from exporters import write_trc

    kp = Keypoints3D.load(input_path)
    out_dir = Path(output_dir) if output_dir is not None else Path(input_path).parent
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc.strerror})", out_dir) from exc
    filtered = filter_keypoints(kp, settings, face=face, hands=hands)
    contacts = foot_contacts(filtered, height=contact_height, speed=contact_speed)
    npz = filtered.save(out_dir / "pose3d_filtered.npz")
    trc = [write_trc(filtered, out_dir / ("pose3d_filtered.trc" if p == 0 else f"pose3d_filtered_p{p}.trc"), person=p)
           for p in range(filtered.n_persons)]
    contacts_npz = out_dir / "foot_contacts.npz"
    with atomic_path(contacts_npz, suffix=".npz") as tmp:
        np.savez_compressed(tmp, contacts=contacts.contacts, feet=np.array(FEET), fps=filtered.fps,
                            frame_index=filtered.frame_index, floor=contacts.floor, floor_known=contacts.floor_known)
    return FilterFileResult(filtered, contacts.contacts, npz, trc, contacts_npz, contacts.floor_known)

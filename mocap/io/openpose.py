"""Read OpenPose JSON output (one folder of per-frame files per camera) into Keypoints2D.

OpenPose writes one JSON file per frame, ``{"people": [{"pose_keypoints_2d": [x, y, c, ...],
"face_keypoints_2d": [...], "hand_left_keypoints_2d": [...], "hand_right_keypoints_2d": [...]}]}``;
a keypoint it did not find is (0, 0, 0). Files are ordered by the last number in their name
(``cam01_000000000012_keypoints.json``, Pose2Sim's ``cam01.0012.json``). People come in no fixed
order and their number varies per frame: the person axis P is the largest count, padded with NaN.
Face (70 points: the 68 plus two pupils) and hands (21 each) are read when present.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mocap.data import WHOLEBODY, Keypoints2D
from mocap.errors import InputFileError
from mocap.skeleton import get_layout, to_wholebody

# Extra point groups OpenPose may write beside the body, with the layout that maps each into 133.
_PARTS = (("face_keypoints_2d", "openpose_face_70"), ("hand_left_keypoints_2d", "openpose_left_hand_21"),
          ("hand_right_keypoints_2d", "openpose_right_hand_21"))


def _frame_number(path: Path) -> int:
    numbers = re.findall(r"\d+", path.stem)
    return int(numbers[-1]) if numbers else -1


def list_frames(folder: Path) -> list[Path]:
    """The JSON files of one camera folder in frame order; InputFileError when there are none."""
    if not folder.is_dir():
        raise InputFileError("keypoint folder not found" if not folder.exists() else "not a folder", folder)
    files = sorted(folder.glob("*.json"), key=lambda p: (_frame_number(p), p.name))
    if not files:
        raise InputFileError("no OpenPose .json files in this folder", folder)
    return files


def _read_people(path: Path, n_body: int) -> list[dict[str, np.ndarray]]:
    """One file's people as {field: (n, 3) array}; checks the number of keypoints per field."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"not valid JSON ({exc})", path) from exc
    people = data.get("people") if isinstance(data, dict) else None
    if not isinstance(people, list):
        raise InputFileError("no 'people' list: not an OpenPose keypoints file", path)
    out = []
    for i, person in enumerate(people):
        entry = {}
        for field, expected in (("pose_keypoints_2d", n_body), ("face_keypoints_2d", 70),
                                ("hand_left_keypoints_2d", 21), ("hand_right_keypoints_2d", 21)):
            values = person.get(field) if isinstance(person, dict) else None
            if field != "pose_keypoints_2d" and not values:
                continue
            try:
                array = np.asarray(values, dtype=float)
            except (TypeError, ValueError):
                array = np.empty(0)
            if array.ndim != 1 or array.size != 3 * expected:
                n = array.size / 3 if array.ndim == 1 else "?"
                raise InputFileError(f"person {i}: '{field}' holds {n} keypoints, expected {expected} "
                                     f"(x, y, confidence each) for this layout", path)
            entry[field] = array.reshape(expected, 3)
        out.append(entry)
    return out


def read_openpose_json(folders, *, layout: str = "body_25", fps: float = 30.0, camera_names=None,
                       image_sizes=None, progress: bool = True) -> Keypoints2D:
    """Read one OpenPose JSON folder per camera into Keypoints2D in the 133 layout.

    folders: one folder per camera, all with the same number of frames.
    layout: the body layout OpenPose was run with (``body_25``, ``body_25b``, ``coco_17``, ...).
    camera_names: defaults to the folder names without a ``_json`` suffix.
    image_sizes: (C, 2) width, height when known (JSON does not say); 0 means unknown.
    """
    folders = [Path(f) for f in folders]
    if not folders:
        raise InputFileError("no keypoint folders given")
    body = get_layout(layout)
    names = list(camera_names) if camera_names else [re.sub(r"_json$", "", f.name) or f.name for f in folders]
    frame_lists = [list_frames(f) for f in folders]
    counts = {str(f): len(files) for f, files in zip(folders, frame_lists)}
    if len(set(counts.values())) > 1:
        listing = ", ".join(f"{os.path.basename(k)}: {v}" for k, v in counts.items())
        raise InputFileError(f"the cameras have different numbers of frames ({listing})", folders[0].parent)
    n_frames = len(frame_lists[0])

    people = []  # [camera][frame] -> list of person dicts
    total = len(folders) * n_frames
    with tqdm(total=total, desc="reading OpenPose JSON", unit="file", disable=not progress) as bar:
        for files in frame_lists:
            per_cam = []
            for path in files:
                per_cam.append(_read_people(path, len(body.names)))
                bar.update()
            people.append(per_cam)

    n_persons = max([len(p) for cam in people for p in cam] + [1])
    shape = (len(folders), n_frames, n_persons)
    raw = {"pose_keypoints_2d": np.zeros(shape + (len(body.names), 3))}
    raw.update({field: np.zeros(shape + (21 if "hand" in field else 70, 3)) for field, _ in _PARTS})
    for c, cam in enumerate(people):
        for t, frame in enumerate(cam):
            for p, person in enumerate(frame):
                for field, values in person.items():
                    raw[field][c, t, p] = values

    xy, score = _to_133(raw["pose_keypoints_2d"], body)
    for field, part_layout in _PARTS:
        part = get_layout(part_layout)
        pxy, pscore = _to_133(raw[field], part)
        found = pscore > 0
        xy = np.where(found[..., None], pxy, xy)
        score = np.where(found, pscore, score)
    sizes = np.zeros((len(folders), 2), dtype=int) if image_sizes is None else np.asarray(image_sizes)
    return Keypoints2D(xy=xy, score=score, camera_names=names, image_sizes=sizes, layout=WHOLEBODY, fps=fps)


def _to_133(values: np.ndarray, layout):
    """(..., K, 3) OpenPose triplets -> (..., 133, 2) xy with NaN and (..., 133) scores.

    OpenPose marks a missing keypoint with confidence 0 (and x = y = 0)."""
    xy, conf = values[..., :2].copy(), values[..., 2].copy()
    missing = ~(conf > 0)
    xy[missing] = np.nan
    conf[missing] = 0.0
    return to_wholebody(xy, conf, layout)

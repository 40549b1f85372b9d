"""Read OpenPose JSON output (one folder of per-frame files per camera) into Keypoints2D.

OpenPose writes one JSON file per frame, ``{"people": [{"pose_keypoints_2d": [x, y, c, ...],
"face_keypoints_2d": [...], "hand_left_keypoints_2d": [...], "hand_right_keypoints_2d": [...]}]}``;
a keypoint it did not find is (0, 0, 0). Face (70 points: the 68 plus two pupils) and hands (21
each) are read when present.

Files as peers write them:

* **Frame numbers** are the last number in each file name (``cam01_000000000012_keypoints.json``,
  Pose2Sim's ``cam01.0012.json``); a folder whose names carry no number is numbered 0, 1, ... in
  name order. Cameras are paired **by frame number**, not by position: the time axis runs over
  every number any camera has (at the common step of the numbers), ``Keypoints2D.frame_index``
  holds them, and a frame a camera has no file for is NaN there, with one warning per camera
  saying how many.
* **Empty person entries** (Pose2Sim keeps person order with entries whose arrays are empty)
  are no detection: their slot stays NaN in that frame. People otherwise come in no fixed order
  and their number varies per frame: the person axis P is the longest list, padded with NaN.
* **The layout is checked** where two layouts have the same number of points: BODY_25 and
  BODY_25B both have 25. In BODY_25, point 8 (MidHip) is the mid-point of the hips (9, 12) and
  point 1 (Neck) that of the shoulders (2, 5); in BODY_25B those are an elbow, a wrist, a hip,
  an eye... and no mid-points. The data says which it is (median distance of points 8 and 1 from
  those mid-points, as a share of the distance between their two ends); a ``layout`` the data
  contradicts is refused with the layout the data looks like.
"""

from __future__ import annotations

import json
import logging
import math
import re
import warnings
from functools import reduce
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mocap.data import WHOLEBODY, Keypoints2D
from mocap.errors import InputFileError, SettingsError
from mocap.skeleton import get_layout, to_wholebody

log = logging.getLogger("mocap.io")

# Extra point groups OpenPose may write beside the body, with the layout that maps each into 133.
_PARTS = (("face_keypoints_2d", "openpose_face_70"), ("hand_left_keypoints_2d", "openpose_left_hand_21"),
          ("hand_right_keypoints_2d", "openpose_right_hand_21"))
# BODY_25 mid-points: (point, one end, other end), and the distance from the mid-point, as a share
# of the two ends' distance, within which a point counts as it (OpenPose detects MidHip and Neck
# itself: they sit near the mid-points, not exactly on them; in BODY_25B data the same indices
# are half that distance away or more).
_BODY_25_MIDPOINTS = ((8, 9, 12), (1, 2, 5))
MIDPOINT_TOLERANCE = 0.25


class MissingFramesWarning(UserWarning):
    """Some cameras have no file for some frame numbers (filled with NaN)."""


def _frame_number(path: Path) -> int | None:
    numbers = re.findall(r"\d+", path.stem)
    return int(numbers[-1]) if numbers else None


def list_frames(folder: Path) -> list[tuple[int, Path]]:
    """The ``(frame number, file)`` pairs of one camera folder in frame order; InputFileError when
    there are none, when only some names carry a number, or when two files claim one number."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError("keypoint folder not found" if not folder.exists() else "not a folder", folder)
    files = sorted(folder.glob("*.json"), key=lambda p: p.name)
    if not files:
        raise InputFileError("no OpenPose .json files in this folder", folder)
    numbers = [_frame_number(p) for p in files]
    if all(n is None for n in numbers):
        return list(enumerate(files))
    if any(n is None for n in numbers):
        bad = files[numbers.index(None)]
        raise InputFileError("this file name has no frame number, the others in its folder have one", bad)
    pairs = sorted(zip(numbers, files), key=lambda x: (x[0], x[1].name))
    for (a, pa), (b, pb) in zip(pairs, pairs[1:]):
        if a == b:
            raise InputFileError(f"two files for frame {a}: {pa.name} and {pb.name}", folder)
    return pairs


def _read_people(path: Path, n_body: int) -> list[dict[str, np.ndarray]]:
    """One file's people as {field: (n, 3) array}, in file order; an entry without body points
    (Pose2Sim's placeholders) is an empty dict. Checks the number of keypoints per field."""
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
        if not isinstance(person, dict):
            raise InputFileError(f"person {i} is not an object", path)
        for field, expected in (("pose_keypoints_2d", n_body), ("face_keypoints_2d", 70),
                                ("hand_left_keypoints_2d", 21), ("hand_right_keypoints_2d", 21)):
            values = person.get(field)
            if values is None or (isinstance(values, list) and not values):
                continue  # absent or empty: nothing detected for this part
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


def body25_midpoint_residual(values: np.ndarray, min_conf: float = 0.1) -> float:
    """Median distance of BODY_25's Neck and MidHip from the mid-points of their neighbours, as a
    share of the neighbours' distance, over (..., 25, 3) OpenPose triplets; NaN without evidence."""
    v = values.reshape(-1, 25, 3)
    conf = v[..., 2] > min_conf
    pts = np.where(conf[..., None], v[..., :2], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = []
        for k, a, b in _BODY_25_MIDPOINTS:
            span = np.linalg.norm(pts[:, a] - pts[:, b], axis=-1)
            off = np.linalg.norm(pts[:, k] - (pts[:, a] + pts[:, b]) / 2, axis=-1)
            res.append(np.where(span > 1.0, off / span, np.nan))
        res = np.concatenate(res)
        res = res[np.isfinite(res)]
    return float(np.median(res)) if len(res) else float("nan")


def check_body_layout(values: np.ndarray, layout: str, where) -> str:
    """The 25-point layout ``values`` (..., 25, 3) look like ("body_25" or "body_25b"), checked
    against ``layout``: SettingsError naming ``where`` when the data says the other one."""
    residual = body25_midpoint_residual(values)
    if not np.isfinite(residual):
        return layout
    looks = "body_25" if residual < MIDPOINT_TOLERANCE else "body_25b"
    log.info("OpenPose data in %s looks like %s (points 1 and 8 %.2f of their neighbours' distance from "
             "their mid-points)", where, looks.upper(), residual)
    if looks != layout:
        why = (f"its points 1 and 8 lie {residual:.2f} times the distance of (2, 5) and (9, 12) from their "
               f"mid-points")
        why += (" (BODY_25's Neck and MidHip are those mid-points)" if looks == "body_25b"
                else ", as BODY_25's Neck and MidHip do (BODY_25B has no such points)")
        raise SettingsError(f"--layout {layout} does not match the data: it looks like {looks.upper()}: {why}; "
                            f"use --layout {looks}", where)
    return looks


def read_openpose_json(folders, *, layout: str = "body_25", fps: float = 30.0, camera_names=None,
                       image_sizes=None, progress: bool = True) -> Keypoints2D:
    """Read one OpenPose JSON folder per camera into Keypoints2D in the 133 layout.

    folders: one folder per camera; files pair across cameras by frame number (module docstring).
    layout: the body layout OpenPose was run with (``body_25``, ``body_25b``, ``coco_17``, ...);
    BODY_25 / BODY_25B are checked against the data.
    fps: the rate of the frame numbers (the video's); ``Keypoints2D.fps`` is it divided by the
    step between frame numbers.
    camera_names: defaults to the folder names without a ``_json`` suffix.
    image_sizes: (C, 2) width, height when known (JSON does not say); 0 means unknown.
    """
    folders = [Path(f) for f in folders]
    if not folders:
        raise InputFileError("no keypoint folders given")
    body = get_layout(layout)
    names = list(camera_names) if camera_names else [re.sub(r"_json$", "", f.name) or f.name for f in folders]
    frame_lists = [list_frames(f) for f in folders]
    numbers = sorted({n for pairs in frame_lists for n, _ in pairs})
    step = reduce(math.gcd, np.diff(numbers).tolist(), 0) or 1
    frame_index = np.arange(numbers[0], numbers[-1] + 1, step)
    row = {int(n): i for i, n in enumerate(frame_index)}
    n_frames = len(frame_index)

    people: list[dict[int, list]] = []  # [camera] {row: list of person dicts}
    total = sum(len(p) for p in frame_lists)
    with tqdm(total=total, desc="reading OpenPose JSON", unit="file", disable=not progress) as bar:
        for pairs in frame_lists:
            per_cam = {}
            for number, path in pairs:
                per_cam[row[number]] = _read_people(path, len(body.names))
                bar.update()
            people.append(per_cam)
    missing = {names[c]: n_frames - len(per_cam) for c, per_cam in enumerate(people) if len(per_cam) < n_frames}
    if missing:
        listing = ", ".join(f"{cam}: {n} of {n_frames}" for cam, n in missing.items())
        msg = (f"OpenPose JSON in {folders[0].parent}: frames with no file (filled with NaN): {listing} "
               f"(frames {int(frame_index[0])}-{int(frame_index[-1])})")
        warnings.warn(msg, MissingFramesWarning, stacklevel=2)
        log.warning(msg)

    n_persons = max([len(p) for cam in people for p in cam.values()] + [1])
    shape = (len(folders), n_frames, n_persons)
    raw = {"pose_keypoints_2d": np.zeros(shape + (len(body.names), 3))}
    raw.update({field: np.zeros(shape + (21 if "hand" in field else 70, 3)) for field, _ in _PARTS})
    for c, cam in enumerate(people):
        for t, frame in cam.items():
            for p, person in enumerate(frame):
                for field, values in person.items():
                    raw[field][c, t, p] = values

    if body.name in ("body_25", "body_25b"):
        for c, folder in enumerate(folders):
            check_body_layout(raw["pose_keypoints_2d"][c], body.name, folder)
    xy, score = _to_133(raw["pose_keypoints_2d"], body)
    for field, part_layout in _PARTS:
        part = get_layout(part_layout)
        pxy, pscore = _to_133(raw[field], part)
        found = pscore > 0
        xy = np.where(found[..., None], pxy, xy)
        score = np.where(found, pscore, score)
    sizes = np.zeros((len(folders), 2), dtype=int) if image_sizes is None else np.asarray(image_sizes)
    return Keypoints2D(xy=xy, score=score, camera_names=names, image_sizes=sizes, layout=WHOLEBODY,
                       fps=fps / step, frame_index=frame_index)


def _to_133(values: np.ndarray, layout):
    """(..., K, 3) OpenPose triplets -> (..., 133, 2) xy with NaN and (..., 133) scores.

    OpenPose marks a missing keypoint with confidence 0 (and x = y = 0)."""
    xy, conf = values[..., :2].copy(), values[..., 2].copy()
    missing = ~(conf > 0)
    xy[missing] = np.nan
    conf[missing] = 0.0
    return to_wholebody(xy, conf, layout)

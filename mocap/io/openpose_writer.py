"""Write Keypoints2D as OpenPose JSON (one folder per camera, one file per frame), for Pose2Sim.

Each camera gets ``<out>/<camera>_json/<camera>_<frame:012d>_keypoints.json`` holding, per person
slot that has any keypoint in that frame, ``pose_keypoints_2d`` in the chosen body layout
(BODY_25 / BODY_25B / COCO-17 / HALPE-26: Neck and MidHip rebuilt as midpoints),
``face_keypoints_2d`` (70: the 68 and two pupils, which the 133 lacks), and both hands. A missing
keypoint is written (0, 0, 0) as OpenPose does. Each file is written atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from mocap.data import Keypoints2D
from mocap.errors import OutputError
from mocap.fileio import atomic_write
from mocap.skeleton import from_wholebody

_PARTS = (("face_keypoints_2d", "openpose_face_70"), ("hand_left_keypoints_2d", "openpose_left_hand_21"),
          ("hand_right_keypoints_2d", "openpose_right_hand_21"))


def _triplets(xy: np.ndarray, score: np.ndarray) -> np.ndarray:
    """(..., K, 2), (..., K) -> (..., 3K) flat x, y, c with zeros where missing."""
    missing = np.isnan(xy).any(-1) | ~(score > 0)
    out = np.concatenate([np.where(missing[..., None], 0.0, xy), np.where(missing, 0.0, score)[..., None]], -1)
    return out.reshape(out.shape[:-2] + (-1,))


def write_openpose_json(keypoints: Keypoints2D, out_dir: str | os.PathLike, layout: str = "body_25",
                        frame_numbers=None) -> list[Path]:
    """Write every camera's folder under ``out_dir``; returns the folders."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc})", out_dir) from exc
    frames = np.arange(keypoints.n_frames) if frame_numbers is None else np.asarray(frame_numbers)
    groups = {"pose_keypoints_2d": _triplets(*from_wholebody(keypoints.xy, keypoints.score, layout))}
    for field, part in _PARTS:
        groups[field] = _triplets(*from_wholebody(keypoints.xy, keypoints.score, part, midpoints=False))
    present = (keypoints.score > 0).any(-1)  # (C, T, P) person slot holds someone
    folders = []
    for c, cam in enumerate(keypoints.camera_names):
        folder = out_dir / f"{cam}_json"
        folder.mkdir(exist_ok=True)
        for t, number in enumerate(frames):
            people = [{"person_id": [-1], **{f: np.round(groups[f][c, t, p], 3).tolist() for f in groups},
                       "pose_keypoints_3d": [], "face_keypoints_3d": [], "hand_left_keypoints_3d": [],
                       "hand_right_keypoints_3d": []}
                      for p in np.flatnonzero(present[c, t])]
            with atomic_write(folder / f"{cam}_{int(number):012d}_keypoints.json") as f:
                json.dump({"version": 1.3, "people": people}, f)
        folders.append(folder)
    return folders

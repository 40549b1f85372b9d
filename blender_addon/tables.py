"""Name tables the add-on needs: keypoint layouts and the SMPL-X skeleton (numpy + stdlib only).

Keypoint names and bones come from ``mocap_tables.json`` beside this file, which
``mocap blender build-addon`` writes from :mod:`mocap.skeleton` when it builds the zip, so the
add-on and mocap share one source of truth without the add-on importing mocap. It also holds the
SMPL-X template skeleton used when no model file is given (a T-pose with adult proportions, SMPL-X's
canonical frame: Y up, facing +Z). Without the file (the add-on run from a source checkout),
keypoints are named ``kp_000``... and drawn without bones.

SMPL-X's 55 joints are the model's published kinematic tree (``kintree_table`` of every SMPL-X
model file); a model file, when given, supplies its own tree and rest joints.
"""

from __future__ import annotations

import functools
import json
import os

import numpy as np

TABLES_FILE = "mocap_tables.json"
WHOLEBODY = "coco_wholebody_133"  # mocap's internal keypoint layout (mocap.data.WHOLEBODY)

_SIDE = ("left", "right")
_FINGERS = ("index", "middle", "pinky", "ring", "thumb")  # SMPL-X's order
SMPLX_JOINTS = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle", "right_ankle",
    "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "jaw", "left_eye", "right_eye",
) + tuple(f"{s}_{f}{k}" for s in _SIDE for f in _FINGERS for k in (1, 2, 3))
SMPLX_PARENTS = np.array([-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15]
                         + [p for side, wrist in ((0, 20), (1, 21)) for f in range(5)
                            for p in (wrist, 25 + 15 * side + 3 * f, 26 + 15 * side + 3 * f)])


@functools.lru_cache(maxsize=1)
def _tables() -> dict:
    path = os.path.join(os.path.dirname(__file__), TABLES_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError:
        return {}


def keypoint_names(layout: str, n: int) -> tuple[str, ...]:
    """Names of the ``n`` keypoints of ``layout`` (``kp_000``... when the layout is unknown)."""
    names = _tables().get("layouts", {}).get(layout, {}).get("names")
    if names and len(names) == n:
        return tuple(names)
    return tuple(f"kp_{i:03d}" for i in range(n))


def keypoint_bones(layout: str, n: int) -> list[tuple[int, int]]:
    """(parent, child) keypoint index pairs to draw between (empty when the layout is unknown)."""
    entry = _tables().get("layouts", {}).get(layout, {})
    if len(entry.get("names", ())) != n:
        return []
    return [(int(a), int(b)) for a, b in entry.get("bones", ())]


def smplx_template() -> np.ndarray | None:
    """(55, 3) rest joints of the template SMPL-X skeleton (canonical frame), or None."""
    joints = _tables().get("smplx_template_joints")
    return None if joints is None else np.asarray(joints, dtype=float)

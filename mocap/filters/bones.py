"""Constant bone lengths: rigidification of each person's bones over the clip.

Triangulated bones stretch and shrink from frame to frame with the 2D noise, while a person's
bones do not (:data:`RIGID_BONES`: limbs, feet, eyes and ears, fingers; not the neck and trunk
stand-ins of the keypoint tree, nor the face). Each bone's length is taken as its median over the
clip (per person), and the skeleton is rebuilt from the roots outwards: every child keypoint is put
on the line from its parent's rebuilt position to its own measured position, at the bone's
constant length, i.e. it is moved along its bone. A keypoint whose parent is missing keeps its
measured position and the rebuild continues from it. The tree is processed one depth level at a
time, all bones of a level (and all frames and persons) at once.
"""

from __future__ import annotations

import warnings

import numpy as np

from mocap.skeleton.tree import BONES
from mocap.skeleton.wholebody import FACE, INDEX

# The bones that keep their length in a living body: limbs, feet, the eyes and ears on the skull,
# fingers. Not the tree's stand-ins for the neck (nose to shoulders) and the trunk sides (shoulders
# to hips), which bend, nor the face, which moves (the jaw, lips, brows).
_NOT_RIGID = {(INDEX["nose"], INDEX["left_shoulder"]), (INDEX["nose"], INDEX["right_shoulder"]),
              (INDEX["left_shoulder"], INDEX["left_hip"]), (INDEX["right_shoulder"], INDEX["right_hip"])}
RIGID_BONES: tuple[tuple[int, int], ...] = tuple(
    (p, c) for p, c in BONES if (p, c) not in _NOT_RIGID and not FACE.start <= c < FACE.stop)


def _depths(bones: np.ndarray, n_keypoints: int) -> np.ndarray:
    """Depth in the tree of each bone's child (the root's children are depth 1)."""
    parent = np.full(n_keypoints, -1)
    parent[bones[:, 1]] = bones[:, 0]
    depth = np.zeros(n_keypoints, dtype=int)
    for _ in range(n_keypoints):  # at most K steps up; stops early once settled
        new = np.where(parent >= 0, depth[np.maximum(parent, 0)] + 1, 0)
        if np.array_equal(new, depth):
            break
        depth = new
    return depth[bones[:, 1]]


def bone_lengths_median(xyz: np.ndarray, bones=BONES) -> np.ndarray:
    """(P, n_bones) median length of each bone over the frames of ``xyz`` (T, P, K, 3); NaN if never seen."""
    pairs = np.asarray(bones, dtype=int).reshape(-1, 2)
    length = np.linalg.norm(xyz[:, :, pairs[:, 1]] - xyz[:, :, pairs[:, 0]], axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # bones never seen
        return np.nanmedian(length, axis=0)


def rigidify(xyz: np.ndarray, *, bones=RIGID_BONES, lengths: np.ndarray | None = None,
             keypoints: np.ndarray | None = None) -> np.ndarray:
    """Constant bone lengths per person (see module docstring).

    xyz: (T, P, K, 3).
    bones: (parent, child) pairs forming a forest (default :data:`RIGID_BONES`; a keypoint that is
        no bone's child, such as a shoulder there, keeps its measured position).
    lengths: (P, n_bones) target lengths (default: each bone's median).
    keypoints: only bones whose child is among these are rebuilt (default: all).
    """
    xyz = np.asarray(xyz, dtype=float)
    if xyz.ndim != 4 or xyz.shape[-1] != 3:
        raise ValueError(f"xyz has shape {xyz.shape}, expected (T, P, K, 3)")
    pairs = np.asarray(bones, dtype=int).reshape(-1, 2)
    pairs = pairs[pairs.max(1) < xyz.shape[2]]
    if lengths is None:
        lengths = bone_lengths_median(xyz, pairs)
    if keypoints is not None:
        chosen = np.isin(pairs[:, 1], np.asarray(keypoints))
        pairs, lengths = pairs[chosen], lengths[:, chosen]
    out = xyz.copy()
    depth = _depths(pairs, xyz.shape[2])
    for d in np.unique(depth):
        level = np.flatnonzero(depth == d)
        parent, child = pairs[level, 0], pairs[level, 1]
        # Aim at the measured child from the rebuilt parent: the child only slides along that
        # line, so errors do not pile up from the root outwards as with the measured directions.
        direction = xyz[:, :, child] - out[:, :, parent]
        norm = np.linalg.norm(direction, axis=-1, keepdims=True)
        unit = direction / np.where(norm > 1e-9, norm, np.nan)
        rebuilt = out[:, :, parent] + unit * lengths[None, :, level, None]
        ok = np.isfinite(rebuilt).all(-1, keepdims=True)
        out[:, :, child] = np.where(ok, rebuilt, out[:, :, child])
    return out

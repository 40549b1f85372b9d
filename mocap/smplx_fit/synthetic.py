"""A synthetic SMPL-X model file: right keys and shapes, random but valid content.

The real SMPL-X model is licensed (https://smpl-x.is.tue.mpg.de) and cannot ship with mocap,
so tests and benchmarks build a stand-in that ``smplx.SMPLX`` loads like the real one:

* 10,475 vertices (the extra-joint vertex ids of ``smplx.vertex_ids`` index into them), 55 joints
  with SMPL-X's kinematic tree (``kintree_table``), in SMPL-X's canonical frame: **Y up, facing
  +Z, the body's left toward +X**, a T-pose with human proportions (1.75 m);
* every vertex belongs to one joint and sits around it (so ``J_regressor``, the mean of a joint's
  ordinary vertices, returns the joint exactly, and the skinning ``weights`` are one-hot);
  the vertices that smplx reads as nose, eyes, ears, toes, heels and finger tips sit where those
  body parts are;
* ``shapedirs`` (300 shape + 100 expression directions) move each joint's vertices together, so
  betas change bone lengths as real shapes do; ``posedirs`` are small random corrective offsets;
* faces are random triangles within each joint's vertices; the 51 face landmarks lie on faces
  of the head and jaw vertices; PCA hand components are the identity.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mocap.fileio import atomic_path

N_VERTICES, N_JOINTS, N_FACES = 10475, 55, 20908
PARENTS = np.array([-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
                    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
                    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53])
_FINGER_BASE = {"index": (25, (0.090, 0.0, 0.025)), "middle": (28, (0.095, 0.0, 0.0)),
                "pinky": (31, (0.080, 0.0, -0.040)), "ring": (34, (0.090, 0.0, -0.020)),
                "thumb": (37, (0.025, -0.010, 0.030))}
_PHALANGES = {"index": 0.035, "middle": 0.04, "pinky": 0.025, "ring": 0.035, "thumb": 0.032}


def _rest_offsets() -> np.ndarray:
    """(55, 3) joint offsets from their parents, canonical frame (Y up, +Z forward, left +X)."""
    off = np.zeros((N_JOINTS, 3))
    off[0] = (0.0, 0.93, 0.0)
    for side, s in ((1, 1.0), (2, -1.0)):  # left_hip 1, right_hip 2
        off[side] = (s * 0.085, -0.08, 0.0)
        off[side + 3] = (0.0, -0.41, 0.0)  # knees 4, 5
        off[side + 6] = (0.0, -0.40, 0.0)  # ankles 7, 8
        off[side + 9] = (0.0, -0.06, 0.12)  # feet (toe base) 10, 11
        off[12 + side] = (s * 0.07, 0.12, 0.0)  # collars 13, 14
        off[15 + side] = (s * 0.10, 0.02, 0.0)  # shoulders 16, 17
        off[17 + side] = (s * 0.27, 0.0, 0.0)  # elbows 18, 19
        off[19 + side] = (s * 0.25, 0.0, 0.0)  # wrists 20, 21
        off[22 + side] = (s * 0.032, 0.04, 0.08)  # eyes 23, 24
        for finger, (base, knuckle) in _FINGER_BASE.items():
            b = base if side == 1 else base + 15
            along = np.array([s, 0.0, 0.6 if finger == "thumb" else 0.0])
            along /= np.linalg.norm(along)
            off[b] = np.array(knuckle) * (s, 1.0, 1.0)
            off[b + 1] = off[b + 2] = along * _PHALANGES[finger]
    off[3], off[6], off[9] = (0, 0.10, 0), (0, 0.13, 0), (0, 0.05, 0)  # spine1-3
    off[12], off[15], off[22] = (0, 0.22, 0), (0, 0.10, 0.01), (0, -0.03, 0.05)  # neck, head, jaw
    return off


def rest_joints() -> np.ndarray:
    """(55, 3) rest joint positions of the synthetic template (betas 0)."""
    off = _rest_offsets()
    pos = np.zeros_like(off)
    for j in range(N_JOINTS):
        pos[j] = off[j] + (pos[PARENTS[j]] if PARENTS[j] >= 0 else 0.0)
    return pos


def _special_vertices(joints: np.ndarray) -> dict[int, tuple[int, np.ndarray]]:
    """smplx's extra-joint vertex ids -> (owning joint, position)."""
    from smplx.vertex_ids import vertex_ids

    ids = vertex_ids["smplx"]
    head, out = 15, {}
    for key, offset in (("nose", (0, 0.0, 0.11)), ("reye", (-0.032, 0.04, 0.09)), ("leye", (0.032, 0.04, 0.09)),
                        ("rear", (-0.075, 0.02, 0.0)), ("lear", (0.075, 0.02, 0.0))):
        out[ids[key]] = (head, joints[head] + offset)
    for s, side, foot, ankle in ((1.0, "L", 10, 7), (-1.0, "R", 11, 8)):
        out[ids[f"{side}BigToe"]] = (foot, joints[foot] + (s * -0.02, -0.01, 0.07))
        out[ids[f"{side}SmallToe"]] = (foot, joints[foot] + (s * 0.03, -0.01, 0.05))
        out[ids[f"{side}Heel"]] = (ankle, joints[ankle] + (0.0, -0.06, -0.06))
    for s, side, shift in ((1.0, "l", 0), (-1.0, "r", 15)):
        for finger, (base, _) in _FINGER_BASE.items():
            last = base + shift + 2
            direction = joints[last] - joints[last - 1]
            out[ids[f"{side}{finger}"]] = (last, joints[last] + direction / np.linalg.norm(direction) * 0.022)
    return out


def synthetic_model_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """The arrays of a synthetic SMPL-X ``.npz`` (see the module doc)."""
    rng = np.random.default_rng(seed)
    joints = rest_joints()
    special = _special_vertices(joints)
    owner = np.arange(N_VERTICES) % N_JOINTS
    for v, (j, _) in special.items():
        owner[v] = j
    regular = np.ones(N_VERTICES, bool)
    regular[list(special)] = False
    scatter = rng.normal(0.0, 0.02, (N_VERTICES, 3))
    v_template = joints[owner] + scatter
    J_regressor = np.zeros((N_JOINTS, N_VERTICES))
    for j in range(N_JOINTS):
        mine = np.flatnonzero((owner == j) & regular)
        v_template[mine] -= scatter[mine].mean(0)  # the mean of a joint's vertices is the joint
        J_regressor[j, mine] = 1.0 / mine.size
    for v, (_, p) in special.items():
        v_template[v] = p
    # Shape directions move a joint's vertices together (bone lengths), expression ones the face.
    per_joint = rng.normal(0.0, 0.01, (N_JOINTS, 3, 400))
    shapedirs = per_joint[owner] + rng.normal(0.0, 0.001, (N_VERTICES, 3, 400))
    weights = np.zeros((N_VERTICES, N_JOINTS))
    weights[np.arange(N_VERTICES), owner] = 1.0
    faces = np.zeros((N_FACES, 3), dtype=np.int64)
    by_joint = [np.flatnonzero(owner == j) for j in range(N_JOINTS)]
    face_joint = np.arange(N_FACES) % N_JOINTS
    for j in range(N_JOINTS):
        rows = np.flatnonzero(face_joint == j)
        faces[rows] = rng.choice(by_joint[j], size=(rows.size, 3))
    face_faces = np.flatnonzero(np.isin(face_joint, (15, 22)))
    bary = rng.dirichlet(np.ones(3), size=51)
    kintree = np.stack([np.where(PARENTS < 0, 4294967295, PARENTS), np.arange(N_JOINTS)]).astype(np.int64)
    return {
        "v_template": v_template, "f": faces, "J_regressor": J_regressor, "kintree_table": kintree,
        "weights": weights, "shapedirs": shapedirs, "posedirs": rng.normal(0.0, 2e-4, (N_VERTICES, 3, 486)),
        "hands_componentsl": np.eye(45), "hands_componentsr": np.eye(45),
        "hands_meanl": np.zeros(45), "hands_meanr": np.zeros(45),
        "lmk_faces_idx": rng.choice(face_faces, 51).astype(np.int64), "lmk_bary_coords": bary,
        "dynamic_lmk_faces_idx": rng.choice(face_faces, (79, 17)).astype(np.int64),
        "dynamic_lmk_bary_coords": rng.dirichlet(np.ones(3), size=(79, 17)),
    }


def write_synthetic_model(path: str | os.PathLike, seed: int = 0) -> Path:
    """Write a synthetic SMPL-X model ``.npz`` (e.g. ``SMPLX_NEUTRAL.npz``)."""
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **synthetic_model_arrays(seed))
    return Path(path)

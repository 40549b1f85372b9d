"""The user's SMPL-X model file: finding it, checking it, and a fast keypoint function of it.

The SMPL-X model is licensed by the Max Planck Institute and is not ours to ship: the user
downloads ``SMPLX_NEUTRAL.npz`` (or FEMALE / MALE) from https://smpl-x.is.tue.mpg.de and gives
its path with ``--smplx-model`` or the ``MOCAP_SMPLX_MODEL`` environment variable (a file, or a
folder holding ``SMPLX_<GENDER>.npz``).

:class:`KeypointModel` computes the 133 COCO-WholeBody keypoints of SMPL-X parameters without
posing the 10,475-vertex mesh: joints come from the shaped rest joints (``J_regressor`` applied to
the template and the shape and expression directions, precomputed as (55, 3, 20) joint
directions) posed down the kinematic tree; the few vertices keypoints need (nose, eyes, ears,
toes, heels, finger tips and the 51 face landmarks' triangles, ~170 of 10,475) go through linear
blend skinning (shape and pose blend shapes, skinning weights) on their own. The result equals
``smplx.SMPLX.forward`` at those points (checked by the tests) at a small fraction of its cost.

Keypoint correspondence (133 <- SMPL-X): shoulders, elbows, wrists, hips, knees, ankles and the
finger joints 1-3 are SMPL-X joints; finger tips, nose, eyes, ears, big / small toes and heels are
SMPL-X's own extra-joint vertices (``smplx.vertex_ids``); face points 17-67 are its 51 landmarks
(iBUG order); the jaw contour (face 0-16) has no static landmark and is not used. SMPL-X's hip
joints sit deeper in the pelvis than detectors' hip keypoints: on real data this is a bias of a
few centimetres that the fit spreads over the pelvis.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import numpy as np

from mocap.errors import InputFileError, SettingsError
from mocap.skeleton.wholebody import FACE, INDEX

ENV_VAR = "MOCAP_SMPLX_MODEL"
WHERE = ("download it (free registration, non-commercial licence) from https://smpl-x.is.tue.mpg.de "
         "(\"SMPL-X v1.1 NPZ\") and pass --smplx-model PATH/SMPLX_NEUTRAL.npz or set MOCAP_SMPLX_MODEL")
REQUIRED = {"v_template": (None, 3), "f": (None, 3), "J_regressor": (55, None), "kintree_table": (2, 55),
            "weights": (None, 55), "shapedirs": (None, 3, None), "posedirs": (None, 3, 486),
            "lmk_faces_idx": (51,), "lmk_bary_coords": (51, 3)}
# SMPL-X output index of each of its joints / extra vertices / landmarks we use, per 133 keypoint.
_JOINT = {"left_hip": 1, "right_hip": 2, "left_knee": 4, "right_knee": 5, "left_ankle": 7, "right_ankle": 8,
          "left_shoulder": 16, "right_shoulder": 17, "left_elbow": 18, "right_elbow": 19,
          "left_wrist": 20, "right_wrist": 21}
_FINGER_JOINT = {"index": 25, "middle": 28, "pinky": 31, "ring": 34, "thumb": 37}
_EXTRA = ("nose", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe", "left_small_toe", "left_heel",
          "right_big_toe", "right_small_toe", "right_heel")
_TIPS = ("thumb", "index", "middle", "ring", "pinky")


def correspondence() -> tuple[np.ndarray, np.ndarray]:
    """(keypoint indices into the 133, source indices into SMPL-X's outputs: 0-54 joints, 55-75
    extra vertices in smplx's order, 76-126 face landmarks)."""
    pairs = [(INDEX[n], j) for n, j in _JOINT.items()]
    for side, shift in (("left", 0), ("right", 15)):
        pairs.append((INDEX[f"{side}_hand_wrist"], _JOINT[f"{side}_wrist"]))
        for finger, base in _FINGER_JOINT.items():
            for k in range(3):
                pairs.append((INDEX[f"{side}_hand_{finger}{k + 1}"], base + shift + k))
        for k, finger in enumerate(_TIPS):
            pairs.append((INDEX[f"{side}_hand_{finger}4"], 66 + k + (5 if side == "right" else 0)))
    pairs += [(INDEX[n], 55 + k) for k, n in enumerate(_EXTRA)]
    pairs += [(FACE.start + 17 + k, 76 + k) for k in range(51)]
    kp, src = np.array(pairs).T
    return kp, src


def find_model(path: str | os.PathLike | None, gender: str = "neutral") -> Path:
    """The model file from ``path`` or $MOCAP_SMPLX_MODEL; InputFileError saying where to get it."""
    if gender not in ("neutral", "female", "male"):
        raise SettingsError(f"gender must be neutral, female or male, not {gender!r}")
    given = path if path is not None else os.environ.get(ENV_VAR)
    if not given:
        raise SettingsError(f"SMPL-X fitting needs the SMPL-X model file, which mocap cannot ship: {WHERE}")
    p = Path(given).expanduser()
    if p.is_dir():
        p = p / f"SMPLX_{gender.upper()}.npz"
    if not p.is_file():
        raise InputFileError(f"SMPL-X model file not found; {WHERE}", p)
    return p


def check_model(path: Path) -> dict:
    """The model's arrays, after checking it is an SMPL-X ``.npz`` (not SMPL, SMPL-H, MANO, FLAME)."""
    if path.suffix.lower() != ".npz":
        raise InputFileError("expected the SMPL-X .npz model (the .pkl needs chumpy); " + WHERE, path)
    try:
        with np.load(path, allow_pickle=True) as npz:
            arrays = {k: npz[k] for k in npz.files if k in REQUIRED or k.startswith(("hands_", "dynamic_"))}
            keys = set(npz.files)
    except (OSError, ValueError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        raise InputFileError(f"not a readable .npz file ({exc})", path) from exc
    missing = sorted(set(REQUIRED) - keys)
    if missing:
        kind = "a SMPL / SMPL-H model" if {"J_regressor", "weights"} <= keys else "not a body model"
        raise InputFileError(f"is not an SMPL-X model ({kind}: missing {', '.join(missing)}); {WHERE}", path)
    for key, shape in REQUIRED.items():
        a = arrays[key]
        if a.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, a.shape)):
            joints = arrays["J_regressor"].shape[0]
            hint = f" (a {joints}-joint model: SMPL has 24, SMPL-H 52, SMPL-X 55)" if joints != 55 else ""
            raise InputFileError(f"is not an SMPL-X model: {key} has shape {a.shape}{hint}", path)
    if arrays["shapedirs"].shape[2] < 20:
        raise InputFileError("is not an SMPL-X model: it has fewer than 10 shape + 10 expression directions", path)
    return arrays


def load_smplx(path: Path, gender: str = "neutral", batch_size: int = 1, num_expression: int = 10):
    """``smplx.SMPLX`` of the checked file (full axis-angle hands, flat hand mean)."""
    import smplx

    check_model(path)
    return smplx.SMPLX(str(path), ext="npz", gender=gender, use_pca=False, flat_hand_mean=True, num_betas=10,
                       num_expression_coeffs=num_expression, batch_size=batch_size, use_face_contour=False)


class KeypointModel:
    """133 keypoints (B, K, 3) of SMPL-X parameters, fast and differentiable; see the module doc."""

    def __init__(self, body):
        import torch

        self.torch = torch
        self.parents = body.parents
        kp, src = correspondence()
        self.kp_index, self.src = torch.as_tensor(kp), torch.as_tensor(src)
        extra = body.vertex_joint_selector.extra_joints_idxs.long()
        faces = body.faces_tensor[body.lmk_faces_idx.long()]  # (51, 3)
        verts = torch.cat([extra, faces.reshape(-1)])
        self.n_extra = extra.numel()
        self.bary = body.lmk_bary_coords
        dirs = torch.cat([body.shapedirs, body.expr_dirs], dim=-1)  # (V, 3, 20)
        self.J_template = body.J_regressor @ body.v_template  # (55, 3)
        self.J_dirs = torch.einsum("jv,vcd->jcd", body.J_regressor, dirs)
        self.v_template = body.v_template[verts]
        self.v_dirs = dirs[verts]
        V = body.v_template.shape[0]
        self.posedirs = body.posedirs.reshape(-1, V, 3)[:, verts].reshape(body.posedirs.shape[0], -1)
        # Skinning: each of these vertices follows few joints; gather only those (exactly: k is
        # the largest number of non-zero weights any of them has).
        weights = body.lbs_weights[verts]
        k = int((weights > 0).sum(1).max())
        self.skin_weights, self.skin_joints = torch.topk(weights, k, dim=1)
        self.pose_mean = body.pose_mean

    def flat(self, betas, theta, pose_correctives: bool = True):
        """Keypoints of ``theta`` (B, 172): global 3, body 63, hands 45 + 45, jaw 3, expression 10, transl 3."""
        parts = self.torch.split(theta, [3, 63, 45, 45, 3, 10, 3], dim=-1)
        return self(betas, *parts, pose_correctives=pose_correctives)

    def __call__(self, betas, global_orient, body_pose, left_hand_pose, right_hand_pose, jaw_pose, expression,
                 transl, pose_correctives: bool = True):
        torch = self.torch
        from smplx.lbs import batch_rigid_transform, batch_rodrigues

        B = global_orient.shape[0]
        zeros = torch.zeros(B, 3, dtype=global_orient.dtype)
        pose = torch.cat([global_orient, body_pose, jaw_pose, zeros, zeros, left_hand_pose, right_hand_pose], 1)
        pose = pose + self.pose_mean
        shape = torch.cat([betas.expand(B, -1), expression], 1)  # (B, 20)
        J = self.J_template + torch.einsum("jcd,bd->bjc", self.J_dirs, shape)
        R = batch_rodrigues(pose.reshape(-1, 3)).reshape(B, -1, 3, 3)
        posed_joints, A = batch_rigid_transform(R, J, self.parents)
        eye = torch.eye(3, dtype=R.dtype)
        pose_feature = (R[:, 1:] - eye).reshape(B, -1)
        v = self.v_template + torch.einsum("vcd,bd->bvc", self.v_dirs, shape)
        if pose_correctives:  # pose blend shapes: millimetres, and most of the cost of a Jacobian
            v = v + (pose_feature @ self.posedirs).reshape(B, -1, 3)
        T = torch.einsum("vk,bvkmn->bvmn", self.skin_weights, A[:, self.skin_joints])
        v = torch.einsum("bvmn,bvn->bvm", T[..., :3, :3], v) + T[..., :3, 3]
        extra = v[:, :self.n_extra]
        landmarks = (v[:, self.n_extra:].reshape(B, -1, 3, 3) * self.bary[None, :, :, None]).sum(2)
        out = torch.cat([posed_joints, extra, landmarks], 1) + transl[:, None]
        return out[:, self.src]  # (B, K, 3), in the order of ``kp_index``

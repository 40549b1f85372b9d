"""The posed SMPL-X mesh of a fit, one file per frame (OBJ or GLB through trimesh).

Vertices are in the fit's world (the keypoints' frame: Z up, metres) for OBJ, as the file
format has no axis convention of its own; GLB, whose convention is Y up, gets them turned
``(x, y, z) -> (x, z, -y)`` like every other glTF this project writes. Files are named
``frame_000000.obj`` ... inside ``folder`` and each is written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mocap.data import SMPLXFit
from mocap.errors import SettingsError
from mocap.fileio import atomic_path
from mocap.smplx_fit.model import find_model, load_smplx


def posed_vertices(fit: SMPLXFit, model_path=None, chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(T, V, 3) vertices and (F, 3) faces of the fit, through smplx's own forward pass."""
    import torch

    T = fit.n_frames
    out = []
    for a in range(0, T, chunk):
        n = min(T, a + chunk) - a
        body = load_smplx(find_model(model_path, fit.gender), gender=fit.gender, batch_size=n,
                          num_expression=fit.expression.shape[1]).double()
        t = lambda x: torch.as_tensor(x[a:a + n], dtype=torch.float64)  # noqa: E731
        zeros = torch.zeros(n, 3, dtype=torch.float64)
        with torch.no_grad():
            v = body(betas=torch.as_tensor(fit.betas, dtype=torch.float64)[None].expand(n, -1),
                     global_orient=t(fit.global_orient), body_pose=t(fit.body_pose),
                     left_hand_pose=t(fit.left_hand_pose), right_hand_pose=t(fit.right_hand_pose),
                     jaw_pose=t(fit.jaw_pose), expression=t(fit.expression), transl=t(fit.transl),
                     leye_pose=zeros, reye_pose=zeros).vertices
        out.append(v.numpy())
    return np.concatenate(out), np.asarray(body.faces, dtype=np.int64)


def write_mesh_sequence(fit: SMPLXFit, folder: str | os.PathLike, model_path=None, fmt: str = "obj") -> list[Path]:
    """Write the posed mesh of every frame into ``folder`` (which must exist); see the module doc."""
    import trimesh

    if fmt not in ("obj", "glb"):
        raise SettingsError(f"mesh format must be obj or glb, got {fmt!r}")
    vertices, faces = posed_vertices(fit, model_path)
    paths = []
    for k, v in enumerate(vertices):
        if fmt == "glb":
            v = np.stack([v[:, 0], v[:, 2], -v[:, 1]], axis=1)
        path = Path(folder) / f"frame_{k:06d}.{fmt}"
        with atomic_path(path) as tmp:
            trimesh.Trimesh(vertices=v, faces=faces, process=False).export(tmp, file_type=fmt)
        paths.append(path)
    return paths

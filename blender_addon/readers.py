"""Reading what mocap writes, into plain arrays (numpy + stdlib; no bpy, no pickle).

* ``pose3d.npz`` (:class:`mocap.data.Keypoints3D`): :func:`read_keypoints`;
* ``motion.npz`` (:class:`mocap.data.Motion`): :func:`read_motion`;
* SMPL-X fits (``mocap retarget --smplx-model``, saved AMASS-style; AMASS's own SMPL-X files
  read too): :func:`read_smplx_fit`, turned into an armature motion by :func:`smplx_motion`,
  with the user's model file (:func:`read_smplx_model`) for exact joints and the mesh;
* ``calibration.toml`` (anipose / Pose2Sim layout): :func:`read_cameras`;
* a session folder: :func:`session_outputs` finds the newest of each.

Every file is opened with ``allow_pickle=False``; a file that is not what it should be raises
:class:`FileProblem` naming it.

SMPL-X as an armature (:func:`smplx_motion`): the model's canonical frame is Y up, facing +Z, so
the rest pose is turned by ``C`` = +90° about X into the world's (Z up, facing -Y, like mocap's
armature). SMPL-X poses joint j by ``R_j`` in canonical axes about its rest joint ``J_j``; the
root lands at ``J_0 + transl`` and ``R_0`` (global_orient) already maps canonical axes to the
fit's Z-up world. In the world-axes convention of :mod:`.skeleton` that is: rest offsets
``C (J_j - J_parent)``, local rotations ``C R_j C^T`` for j > 0 and ``R_0 C^T`` for the root,
root translation ``J_0 + transl``. Rest joints are the shaped ones (betas; neutral expression):
from the model file when given, else the template skeleton of :mod:`.tables` (the rotations are
exact either way, the bone lengths then only approximate).
"""

from __future__ import annotations

import os
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import quat, tables

C_QUAT = np.array([np.cos(np.pi / 4), np.sin(np.pi / 4), 0.0, 0.0])  # +90 deg about X: canonical Y up -> Z up
C_MATRIX = quat.to_matrix(C_QUAT)


class FileProblem(Exception):
    """A file the user chose is missing or not what it should be."""

    def __init__(self, path, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True, eq=False)
class MotionData:
    """What an armature needs (see :mod:`.skeleton` for the conventions)."""

    name: str
    joint_names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    root_translation: np.ndarray  # (T, 3)
    rotations: np.ndarray  # (T, J, 4)
    fps: float
    frame_index: np.ndarray  # (T,)


def _load(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileProblem(path, "file not found")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise FileProblem(path, f"not a readable .npz file ({exc})") from None


def npz_kind(path) -> str:
    """The mocap contract a ``.npz`` holds ("Keypoints3D", "Motion", "SMPLXFit", ...; AMASS
    SMPL-X files count as "SMPLXFit"), or "" when it is none of ours."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "kind" in npz.files:
                return str(npz["kind"])
            if {"poses", "trans"} <= set(npz.files):
                return "SMPLXFit"
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        pass
    return ""


def _need(data: dict, path, kind: str, keys) -> None:
    if str(data.get("kind", kind)) != kind:
        raise FileProblem(path, f"holds {str(data.get('kind'))!r}, expected {kind!r}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise FileProblem(path, f"missing arrays {missing}")


def _frame_index(data: dict, n: int) -> np.ndarray:
    fi = data.get("frame_index")
    return np.arange(n, dtype=np.int64) if fi is None or np.shape(fi) != (n,) else np.asarray(fi, dtype=np.int64)


def read_keypoints(path) -> dict:
    """pose3d.npz -> dict(xyz (T, P, K, 3), score (T, P, K), fps, frame_index, layout, world_frame)."""
    data = _load(path)
    _need(data, path, "Keypoints3D", ("xyz",))
    xyz = np.asarray(data["xyz"], dtype=float)
    if xyz.ndim != 4 or xyz.shape[-1] != 3:
        raise FileProblem(path, f"xyz has shape {xyz.shape}, expected (frames, persons, keypoints, 3)")
    score = np.asarray(data.get("score", np.isfinite(xyz[..., 0]).astype(float)), dtype=float)
    return dict(xyz=xyz, score=score, fps=float(data.get("fps", 30.0)), frame_index=_frame_index(data, len(xyz)),
                layout=str(data.get("layout", "")), world_frame=str(data.get("world_frame", "z_up")))


def read_motion(path) -> MotionData:
    data = _load(path)
    _need(data, path, "Motion", ("joint_names", "parents", "offsets", "root_translation", "rotations"))
    names = tuple(str(n) for n in np.atleast_1d(data["joint_names"]))
    parents = np.asarray(data["parents"], dtype=np.int64)
    offsets = np.asarray(data["offsets"], dtype=float)
    root = np.asarray(data["root_translation"], dtype=float)
    rotations = np.asarray(data["rotations"], dtype=float)
    J = len(names)
    if parents.shape != (J,) or offsets.shape != (J, 3) or root.ndim != 2 or rotations.shape != (len(root), J, 4):
        raise FileProblem(path, "joint_names, parents, offsets, root_translation and rotations do not agree in shape")
    if J and (parents[0] != -1 or np.any(parents[1:] >= np.arange(1, J)) or np.any(parents[1:] < 0)):
        raise FileProblem(path, "parents must list the root first and every parent before its children")
    return MotionData(Path(path).stem, names, parents, offsets, root, rotations, float(data.get("fps", 30.0)),
                      _frame_index(data, len(root)))


def read_smplx_fit(path) -> dict:
    """An SMPL-X fit: ours (:class:`mocap.data.SMPLXFit`) or AMASS's SMPL-X layout (``poses``
    (T, 165), ``trans``, ``betas``, ``mocap_frame_rate``). Returns betas, pose (T, 55, 3)
    axis-angle in SMPL-X joint order, transl (T, 3), gender, fps."""
    data = _load(path)
    if "body_pose" in data:
        _need(data, path, "SMPLXFit", ("betas", "global_orient", "left_hand_pose", "right_hand_pose",
                                       "jaw_pose", "transl"))
        T = len(data["transl"])
        zeros = np.zeros((T, 3))
        parts = [data["global_orient"], data["body_pose"], data["jaw_pose"], zeros, zeros,
                 data["left_hand_pose"], data["right_hand_pose"]]
        try:
            pose = np.concatenate([np.asarray(p, dtype=float).reshape(T, -1) for p in parts], axis=1)
        except ValueError as exc:
            raise FileProblem(path, f"pose arrays do not agree in frames ({exc})") from None
        transl, fps = np.asarray(data["transl"], dtype=float), float(data.get("fps", 30.0))
    elif {"poses", "trans"} <= set(data):
        pose, transl = np.asarray(data["poses"], dtype=float), np.asarray(data["trans"], dtype=float)
        fps = float(data.get("mocap_frame_rate", data.get("mocap_framerate", 30.0)))
    else:
        raise FileProblem(path, "is not an SMPL-X fit (no body_pose, nor AMASS poses / trans)")
    if pose.ndim != 2 or pose.shape[1] != 165 or transl.shape != (len(pose), 3):
        raise FileProblem(path, f"poses have shape {pose.shape}, expected (frames, 165) (SMPL-X's 55 joints)")
    betas = np.asarray(data.get("betas", np.zeros(10)), dtype=float).reshape(-1)
    return dict(betas=betas, pose=pose.reshape(-1, 55, 3), transl=transl, gender=str(data.get("gender", "neutral")),
                fps=fps)


_MODEL_KEYS = ("v_template", "shapedirs", "J_regressor", "kintree_table", "weights", "f")


def model_file(path, gender: str = "neutral") -> Path:
    """The model file: ``path`` itself, or ``SMPLX_<GENDER>.npz`` in the folder ``path``."""
    p = Path(os.path.expanduser(str(path)))
    if p.is_dir():
        p = p / f"SMPLX_{gender.upper()}.npz"
    if not p.is_file():
        raise FileProblem(p, "SMPL-X model file not found "
                             "(download SMPLX_NEUTRAL.npz from https://smpl-x.is.tue.mpg.de)")
    return p


def read_smplx_model(path) -> dict:
    """The arrays of an SMPL-X model ``.npz`` the armature and mesh need (only those are read,
    so object arrays some model files also hold are never unpickled)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in _MODEL_KEYS if k not in npz.files]
            if missing:
                raise FileProblem(path, f"is not an SMPL-X model (missing {', '.join(missing)})")
            model = {k: np.asarray(npz[k]) for k in _MODEL_KEYS}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise FileProblem(path, f"not a readable SMPL-X model .npz ({exc})") from None
    if model["J_regressor"].shape[0] != 55 or model["kintree_table"].shape != (2, 55):
        raise FileProblem(path, f"is not an SMPL-X model ({model['J_regressor'].shape[0]} joints; SMPL-X has 55)")
    return model


def smplx_shape(model: dict, betas) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shaped vertices (V, 3), rest joints (55, 3), parents (55,)) in the canonical frame."""
    betas = np.asarray(betas, dtype=float)
    n = min(len(betas), model["shapedirs"].shape[2], 300)
    v = model["v_template"] + model["shapedirs"][:, :, :n] @ betas[:n]
    joints = model["J_regressor"] @ v
    parents = model["kintree_table"][0].astype(np.int64)
    parents[0] = -1  # stored as 2**32 - 1
    return v, joints, parents


def smplx_motion(fit: dict, model: dict | None = None, name: str = "SMPLX") -> MotionData:
    """The armature motion of a fit (see the module doc)."""
    if model is not None:
        _, joints, parents = smplx_shape(model, fit["betas"])
    else:
        joints, parents = tables.smplx_template(), tables.SMPLX_PARENTS
        if joints is None:
            raise FileProblem("SMPL-X", "no model file given and no template skeleton in this add-on build "
                                        "(build it with `mocap blender build-addon`)")
    offsets = np.array([joints[j] - (joints[p] if p >= 0 else 0.0) for j, p in enumerate(parents)]) @ C_MATRIX.T
    q = quat.from_axis_angle(fit["pose"])  # (T, 55, 4)
    local = quat.multiply(quat.multiply(C_QUAT, q), quat.conjugate(C_QUAT))
    local[:, 0] = quat.multiply(q[:, 0], quat.conjugate(C_QUAT))
    T = len(q)
    return MotionData(name, tables.SMPLX_JOINTS, parents, offsets, joints[0] + fit["transl"],
                      quat.make_continuous(local), fit["fps"], np.arange(T, dtype=np.int64))


def _rotation_matrix(value, path, name) -> np.ndarray:
    r = np.asarray(value, dtype=float)
    if r.shape == (3, 3):
        return r
    if r.shape == (3,):
        return quat.to_matrix(quat.from_axis_angle(r))
    raise FileProblem(path, f"camera {name}: rotation must be a rotation vector or a 3x3 matrix")


def read_cameras(path) -> list[dict]:
    """Cameras of an anipose / Pose2Sim calibration TOML: dicts with name, size (w, h), matrix
    (3, 3), rotation R (3, 3) and translation t (3,) (world -> camera: ``x_cam = R x + t``, metres)."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FileProblem(path, f"not a readable calibration TOML ({exc})") from None
    cameras = []
    for key, table in document.items():
        if key == "metadata" or not isinstance(table, dict) or "matrix" not in table:
            continue
        name = str(table.get("name", key))
        try:
            cameras.append(dict(name=name, size=tuple(int(round(float(s))) for s in table["size"]),
                                matrix=np.asarray(table["matrix"], dtype=float).reshape(3, 3),
                                rotation=_rotation_matrix(table["rotation"], path, name),
                                translation=np.asarray(table["translation"], dtype=float).reshape(3)))
        except (KeyError, ValueError, TypeError) as exc:
            raise FileProblem(path, f"camera {name} is incomplete ({exc})") from None
    if not cameras:
        raise FileProblem(path, "holds no camera table")
    return cameras


def session_outputs(folder) -> dict:
    """The newest result of each kind in a session folder (its ``output/``, or the folder itself):
    ``keypoints`` (a ``pose3d*.npz``), ``motion`` (a Motion ``.npz``), ``smplx`` (an SMPL-X fit)
    and ``calibration`` (``calibration/calibration.toml``), each only when present."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileProblem(folder, "folder not found")
    out_dir = folder / "output" if (folder / "output").is_dir() else folder
    found: dict = {}
    newest: dict = {}
    for p in out_dir.glob("*.npz"):
        kind = npz_kind(p)
        key = {"Keypoints3D": "keypoints", "Motion": "motion", "SMPLXFit": "smplx"}.get(kind)
        if key == "keypoints" and not p.name.startswith("pose3d"):
            continue  # e.g. the demo's truth3d.npz: not a result
        if key and p.stat().st_mtime > newest.get(key, -1.0):
            found[key], newest[key] = p, p.stat().st_mtime
    for cal in (folder / "calibration" / "calibration.toml", folder / "calibration.toml"):
        if cal.is_file():
            found["calibration"] = cal
            break
    if not found:
        raise FileProblem(folder, "holds no mocap results (pose3d*.npz, motion .npz, SMPL-X fit) in it or in output/")
    return found

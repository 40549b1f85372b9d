"""The data contracts between stages (see ARCHITECTURE.md).

Arrays are numpy; a missing value is NaN, never 0. Shapes use C cameras, T frames, P persons,
K keypoints, J joints. Each type checks its shapes when built and saves to / loads from ``.npz``
(atomically; loading names the file when it is not what it should be). Fields added after a
type first shipped have defaults, and files written before they existed still load with them.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

import numpy as np

from mocap.errors import InputFileError
from mocap.fileio import atomic_path
from mocap.skeleton.wholebody import SWAP_GROUP_NAMES

WHOLEBODY = "coco_wholebody_133"

# Keypoints3D.world_frame: what the axes of the calibration's world are known to be.
WORLD_FRAMES = ("floor", "z_up", "unaligned")
# Keypoints3D.source: how each point came to be (see the Keypoints3D docstring for the rule).
SOURCE_TRIANGULATED, SOURCE_INTERPOLATED, SOURCE_LIFTED = 0, 1, 2
N_SWAP_GROUPS = len(SWAP_GROUP_NAMES)


def _as_float(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _frame_index(value, n_frames: int) -> np.ndarray:
    """(T,) source frame numbers, strictly increasing; None means 0, 1, ..., T - 1."""
    if value is None:
        return np.arange(n_frames, dtype=np.int64)
    index = np.asarray(value)
    if index.size and not np.all(np.mod(index, 1) == 0):
        raise ValueError("frame_index must hold whole frame numbers")
    index = index.astype(np.int64)
    _check("frame_index", index, (n_frames,))
    if np.any(np.diff(index) <= 0):
        raise ValueError("frame_index must be strictly increasing")
    return index


def _array_or(value, shape: tuple, dtype, fill) -> np.ndarray:
    """``value`` as ``dtype``, or an array of ``shape`` holding ``fill`` when None."""
    return np.full(shape, fill, dtype=dtype) if value is None else np.asarray(value).astype(dtype)


def _check(name: str, array: np.ndarray, shape: tuple) -> None:
    """Raise ValueError unless ``array.shape`` matches ``shape`` (None matches any size)."""
    if array.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, array.shape)):
        want = "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} has shape {array.shape}, expected {want}")


def read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` (never unpickled); InputFileError naming the file when it is
    missing, truncated or damaged."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError("file not found", path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputFileError(f"not a readable .npz file, truncated or damaged ({exc})", path) from exc


def npz_kind(path: str | os.PathLike) -> str:
    """The ``kind`` tag of a saved contract ("" when it has none), read without the other arrays;
    InputFileError as :func:`read_npz`."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError("file not found", path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            return str(npz["kind"]) if "kind" in npz.files else ""
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputFileError(f"not a readable .npz file, truncated or damaged ({exc})", path) from exc


def write_npz(path: str | os.PathLike, arrays: dict) -> Path:
    """Write ``arrays`` compressed, atomically (a reader never sees a half-written file)."""
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    return Path(path)


def load_tagged(path: str | os.PathLike, classes: tuple, expected: str):
    """The contract a file holds, told apart by its ``kind`` tag among ``classes``;
    InputFileError saying what it holds and ``expected`` otherwise."""
    data = read_npz(path)
    kind = str(data.get("kind", ""))
    for cls in classes:
        if kind == cls._kind:
            return cls.from_arrays(data, path)
    raise InputFileError(f"holds {kind or 'unknown data'!r}; expected {expected}", path)


class _NpzContract:
    """Save/load for the frozen dataclasses below: one array per field, plus a ``kind`` tag."""

    _kind: str = ""

    def to_arrays(self) -> dict[str, np.ndarray]:
        """One array per field (tuples of names as string arrays), without the ``kind`` tag."""
        arrays = {}
        for f in fields(self):
            value = getattr(self, f.name)
            arrays[f.name] = np.array(value, dtype=str) if isinstance(value, tuple) else np.asarray(value)
        return arrays

    def save(self, path: str | os.PathLike) -> Path:
        return write_npz(path, {"kind": np.array(self._kind), **self.to_arrays()})

    @classmethod
    def load(cls, path: str | os.PathLike):
        data = read_npz(path)
        kind = str(data.get("kind", ""))
        if kind != cls._kind:
            raise InputFileError(f"holds {kind or 'unknown data'!r}, expected {cls._kind!r}", path)
        return cls.from_arrays(data, path)

    @classmethod
    def from_arrays(cls, data: dict, path: str | os.PathLike):
        """The contract from a file's arrays (others than its fields are ignored); ``path`` names
        the file in errors."""
        path = Path(path)
        # Fields with a default were added later: older files lack them and get the default.
        required = [f for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
        missing = [f.name for f in required if f.name not in data]
        if missing:
            raise InputFileError(f"missing arrays {missing}", path)
        kwargs = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if value.ndim == 0:
                value = value.item()
            elif value.dtype.kind == "U":
                value = tuple(str(v) for v in value)
            kwargs[f.name] = value
        try:
            return cls(**kwargs)
        except ValueError as exc:
            raise InputFileError(f"inconsistent contents ({exc})", path) from exc


@dataclass(frozen=True, eq=False)
class Keypoints2D(_NpzContract):
    """2D keypoints per camera, frame and person, in raw (distorted) image pixels.

    ``xy`` (C, T, P, K, 2), ``score`` (C, T, P, K) in [0, 1]; a keypoint that was not detected is
    NaN in ``xy`` and 0 in ``score``. ``image_sizes`` (C, 2) is width, height in pixels.
    Person slot p of one camera is unrelated to slot p of another camera until associated.

    ``frame_index`` (T,): the source video frame of each time step (strictly increasing), so a
    start, a stride or a synchronization offset survives every later stage; ``fps`` is the rate of
    the time steps (the video's rate divided by the stride). ``swapped`` (C, T, P, G) records the
    limbs whose left and right labels a repair exchanged (G = ``SWAP_GROUP_NAMES``: arm, leg,
    head; see ``mocap.skeleton.SWAP_EXCHANGED`` for the keypoints each moves): ``xy`` and
    ``score`` hold the repaired labels, and exchanging those limbs back gives the raw output.
    """

    xy: np.ndarray
    score: np.ndarray
    camera_names: tuple[str, ...]
    image_sizes: np.ndarray
    layout: str = WHOLEBODY
    fps: float = 30.0
    frame_index: np.ndarray | None = None
    swapped: np.ndarray | None = None

    _kind = "Keypoints2D"
    # The fields with a time axis, and which axis it is (for reading and writing long files by time).
    TIME_AXES = {"xy": 1, "score": 1, "swapped": 1, "frame_index": 0}

    def __post_init__(self):
        object.__setattr__(self, "xy", _as_float(self.xy))
        object.__setattr__(self, "score", _as_float(self.score))
        object.__setattr__(self, "camera_names", tuple(str(c) for c in self.camera_names))
        object.__setattr__(self, "image_sizes", np.asarray(self.image_sizes, dtype=np.int64).reshape(-1, 2))
        object.__setattr__(self, "fps", float(self.fps))
        _check("xy", self.xy, (None, None, None, None, 2))
        _check("score", self.score, self.xy.shape[:4])
        n_cams = self.xy.shape[0]
        if len(self.camera_names) != n_cams:
            raise ValueError(f"{len(self.camera_names)} camera names for {n_cams} cameras")
        _check("image_sizes", self.image_sizes, (n_cams, 2))
        object.__setattr__(self, "frame_index", _frame_index(self.frame_index, self.xy.shape[1]))
        object.__setattr__(self, "swapped", _array_or(self.swapped, self.xy.shape[:3] + (N_SWAP_GROUPS,), bool, False))
        _check("swapped", self.swapped, self.xy.shape[:3] + (N_SWAP_GROUPS,))

    @property
    def n_cameras(self) -> int:
        return self.xy.shape[0]

    @property
    def n_frames(self) -> int:
        return self.xy.shape[1]

    @property
    def n_persons(self) -> int:
        return self.xy.shape[2]

    @property
    def n_keypoints(self) -> int:
        return self.xy.shape[3]


@dataclass(frozen=True, eq=False)
class Keypoints3D(_NpzContract):
    """3D keypoints in metres, in the world frame of the calibration (Z up once the floor is known).

    ``xyz`` (T, P, K, 3); ``score``, ``reproj_error`` (pixels, mean over the views used) and
    ``n_views`` (T, P, K). A keypoint that could not be triangulated is NaN with ``n_views`` 0.
    The P axis is the track id.

    ``frame_index`` (T,): the source video frame of each time step (as in :class:`Keypoints2D`).
    ``world_frame``: "floor" (Z up, z = 0 is the floor), "z_up" (Z up, floor height unknown) or
    "unaligned" (the calibration's world has no known up: e.g. the first camera's frame, y down).
    Always metres: calibrations in other units are converted when loaded.

    ``source`` (T, P, K) says how each point came to be, and the other fields follow one rule:

    * ``SOURCE_TRIANGULATED`` (0): from ``n_views`` >= 2 agreeing cameras, with their mean
      reprojection error (also the code of points that are missing: NaN, ``n_views`` 0);
    * ``SOURCE_INTERPOLATED`` (1): filled in over time (gap filling, also of removed spikes):
      ``n_views`` 0, ``reproj_error`` NaN, ``score`` 0;
    * ``SOURCE_LIFTED`` (2): from one camera's monocular 3D (single-camera sessions, or fill-in of
      points fewer than two cameras agreed on): ``n_views`` 1, ``reproj_error`` in that camera.

    What triangulation took from each camera, where known (else the C axis is empty):
    ``camera_names`` (C,), ``detections`` (C, T, P) the 2D person slot of that camera that became
    person p (-1: none) and ``view_swaps`` (C, T, P, G) the limbs of that detection triangulation
    exchanged left for right (G = ``SWAP_GROUP_NAMES``), so overlays and reports can show the
    repaired 2D labels.
    """

    xyz: np.ndarray
    score: np.ndarray
    reproj_error: np.ndarray
    n_views: np.ndarray
    layout: str = WHOLEBODY
    fps: float = 30.0
    frame_index: np.ndarray | None = None
    world_frame: str = "z_up"
    source: np.ndarray | None = None
    camera_names: tuple[str, ...] = ()
    detections: np.ndarray | None = None
    view_swaps: np.ndarray | None = None

    _kind = "Keypoints3D"
    TIME_AXES = {"xyz": 0, "score": 0, "reproj_error": 0, "n_views": 0, "frame_index": 0, "source": 0,
                 "detections": 1, "view_swaps": 1}

    def __post_init__(self):
        object.__setattr__(self, "xyz", _as_float(self.xyz))
        object.__setattr__(self, "score", _as_float(self.score))
        object.__setattr__(self, "reproj_error", _as_float(self.reproj_error))
        object.__setattr__(self, "n_views", np.asarray(self.n_views, dtype=np.int16))
        object.__setattr__(self, "fps", float(self.fps))
        _check("xyz", self.xyz, (None, None, None, 3))
        for name in ("score", "reproj_error", "n_views"):
            _check(name, getattr(self, name), self.xyz.shape[:3])
        T, P, K = self.xyz.shape[:3]
        object.__setattr__(self, "frame_index", _frame_index(self.frame_index, T))
        if self.world_frame not in WORLD_FRAMES:
            raise ValueError(f"world_frame must be one of {', '.join(WORLD_FRAMES)}, got {self.world_frame!r}")
        object.__setattr__(self, "source", _array_or(self.source, (T, P, K), np.uint8, SOURCE_TRIANGULATED))
        object.__setattr__(self, "camera_names", tuple(str(c) for c in self.camera_names))
        C = len(self.camera_names)
        object.__setattr__(self, "detections", _array_or(self.detections, (C, T, P), np.int16, -1))
        object.__setattr__(self, "view_swaps", _array_or(self.view_swaps, (C, T, P, N_SWAP_GROUPS), bool, False))
        for name, shape in (("source", (T, P, K)), ("detections", (C, T, P)), ("view_swaps", (C, T, P, N_SWAP_GROUPS))):
            _check(name, getattr(self, name), shape)

    @property
    def n_frames(self) -> int:
        return self.xyz.shape[0]

    @property
    def n_persons(self) -> int:
        return self.xyz.shape[1]

    @property
    def floor_known(self) -> bool:
        """Whether z = 0 is the floor (feet, contacts and exporters can rely on it)."""
        return self.world_frame == "floor"


@dataclass(frozen=True, eq=False)
class Motion(_NpzContract):
    """An animated armature: what the BVH / FBX / glTF writers take.

    ``parents`` (J,) holds each joint's parent index (-1 for the root, and parents come before
    children); ``offsets`` (J, 3) the rest-pose offset of each joint from its parent in metres (the
    root's is its rest position); ``root_translation`` (T, 3) the root's position per frame;
    ``rotations`` (T, J, 4) local unit quaternions (w, x, y, z) relative to the rest pose.
    Axes are the world's (Z up); writers convert. ``frame_index`` (T,): the source video frame of
    each time step (as in :class:`Keypoints3D`).
    """

    joint_names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    root_translation: np.ndarray
    rotations: np.ndarray
    fps: float = 30.0
    frame_index: np.ndarray | None = None

    _kind = "Motion"
    TIME_AXES = {"root_translation": 0, "rotations": 0, "frame_index": 0}

    def __post_init__(self):
        object.__setattr__(self, "joint_names", tuple(str(j) for j in self.joint_names))
        object.__setattr__(self, "parents", np.asarray(self.parents, dtype=np.int64))
        object.__setattr__(self, "offsets", _as_float(self.offsets))
        object.__setattr__(self, "root_translation", _as_float(self.root_translation))
        object.__setattr__(self, "rotations", _as_float(self.rotations))
        object.__setattr__(self, "fps", float(self.fps))
        n = len(self.joint_names)
        _check("parents", self.parents, (n,))
        _check("offsets", self.offsets, (n, 3))
        _check("root_translation", self.root_translation, (None, 3))
        _check("rotations", self.rotations, (self.root_translation.shape[0], n, 4))
        if n and (self.parents[0] != -1 or np.any(self.parents[1:] >= np.arange(1, n)) or np.any(self.parents[1:] < 0)):
            raise ValueError("parents must list the root first (-1) and every parent before its children")
        object.__setattr__(self, "frame_index", _frame_index(self.frame_index, self.rotations.shape[0]))

    @property
    def n_frames(self) -> int:
        return self.rotations.shape[0]


@dataclass(frozen=True, eq=False)
class SMPLXFit(_NpzContract):
    """SMPL-X parameters fitted to one person: shape once, pose per frame, in the world frame.

    ``betas`` (B,) shape (B = 10), ``global_orient`` (T, 3), ``body_pose`` (T, 63),
    ``left_hand_pose`` / ``right_hand_pose`` (T, 45) (full axis-angle, flat hand mean), ``jaw_pose``
    (T, 3), ``expression`` (T, E), ``transl`` (T, 3), all axis-angle radians and metres in the
    keypoints' world (Z up), ``gender`` of the model, ``fps``. Saved AMASS-style: besides these
    fields the ``.npz`` holds ``poses`` (T, 165: global, body, jaw, left eye, right eye, left
    hand, right hand), ``trans``, ``mocap_frame_rate`` and ``surface_model_type`` = ``smplx``, the
    keys AMASS SMPL-X files and their loaders use.
    """

    betas: np.ndarray
    global_orient: np.ndarray
    body_pose: np.ndarray
    left_hand_pose: np.ndarray
    right_hand_pose: np.ndarray
    jaw_pose: np.ndarray
    expression: np.ndarray
    transl: np.ndarray
    gender: str = "neutral"
    fps: float = 30.0

    _kind = "SMPLXFit"

    def __post_init__(self):
        for name in ("betas", "global_orient", "body_pose", "left_hand_pose", "right_hand_pose", "jaw_pose",
                     "expression", "transl"):
            object.__setattr__(self, name, _as_float(getattr(self, name)))
        object.__setattr__(self, "gender", str(self.gender))
        object.__setattr__(self, "fps", float(self.fps))
        T = self.transl.shape[0] if self.transl.ndim == 2 else None
        _check("betas", self.betas, (None,))
        for name, width in (("global_orient", 3), ("body_pose", 63), ("left_hand_pose", 45),
                            ("right_hand_pose", 45), ("jaw_pose", 3), ("expression", None), ("transl", 3)):
            _check(name, getattr(self, name), (T, width))

    @property
    def n_frames(self) -> int:
        return self.transl.shape[0]

    def poses(self) -> np.ndarray:
        """(T, 165) AMASS pose vector (eyes zero)."""
        eyes = np.zeros((self.n_frames, 6))
        return np.concatenate([self.global_orient, self.body_pose, self.jaw_pose, eyes, self.left_hand_pose,
                               self.right_hand_pose], axis=1)

    def save(self, path: str | os.PathLike) -> Path:
        arrays = {"kind": np.array(self._kind), "poses": self.poses(), "trans": self.transl,
                  "mocap_frame_rate": np.array(self.fps), "surface_model_type": np.array("smplx")}
        arrays.update({f.name: np.asarray(getattr(self, f.name)) for f in fields(self)})
        return write_npz(path, arrays)

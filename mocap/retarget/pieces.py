"""Retargeting a long clip a piece of time at a time: pose3d.npz -> motion.npz with bounded memory.

:func:`retarget_file` is the file-level retargeting of ``mocap retarget`` and ``mocap run`` (through
:func:`mocap.api.retarget`). A clip of up to ``2 * piece`` frames, one whose world has no known
up (turning it upright takes the whole clip's posture), or a file that cannot be read by time
(an array stored in Fortran order) is retargeted whole with :func:`mocap.retarget.retarget`. A
longer one goes through three streaming passes, each holding one piece (:data:`PIECE` frames) of
the clip at a time:

1. **measure** (keypoints only): every frame's bone distances (the bone lengths are their medians
   over the whole clip, taken from every sample: exactly today's lengths, at 112 bytes a frame),
   which joints are ever seen (:func:`~mocap.retarget.wholebody_armature.never_seen`), the first
   frame in which each quantity the solver carries over frames is seen, and each foot's lowest
   point when foot contacts must be detected (their floor is estimated over the whole clip);
2. **solve**: :func:`~mocap.retarget.wholebody_armature.solve_pose`, the one solver, piece after
   piece, each piece with ``pad`` frames of the clip on either side (the foot twist's median
   window and the contacts' central differences see across the cut) and started from the
   :class:`~mocap.retarget.wholebody_armature.PoseState` of the frame before its first. Its own
   frames' rotations and root go to a scratch file; kept from them: the knuckles in the wrists'
   frames (the hands' rest offsets are their medians), the ankles' positions (foot locking's lock
   points are medians over each contact) and the contacts;
3. **write**: each piece of the scratch file with the final rest offsets, its legs re-solved by
   foot locking (:func:`~mocap.retarget.footlock.apply_lock`, whose lock points and weights come
   from the whole clip's ankles and contacts), renamed for the rig, appended to ``motion.npz``
   (:class:`mocap.pipeline.chunks.TimeWriter`).

Equal to the whole clip: every rule the armature applies over frames (hold the last valid
rotation, twist hint and root; keep quaternion signs continuous; unwrap the foot twist; the
first frame's signs) is continued from the state, and every statistic over the clip (bone and
knuckle medians, lock points, the contact floor) is taken over all frames. One rule looks ahead:
a joint gets its first rotation on the frames before it is first seen. So the first piece
reaches at least the frame where the last quantity is first seen (in practice within the first
second; a limb first seen late makes the first piece that long). What is left differs from the
whole clip by the rounding of vectorized arithmetic, far below a micrometre.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from mocap.data import Keypoints3D, Motion
from mocap.filters.contacts import floor_from_lows, foot_contacts, foot_lows
from mocap.retarget import body_armature as body
from mocap.retarget import hands
from mocap.retarget.footlock import apply_lock, lock_targets
from mocap.retarget.kinematics import forward_kinematics
from mocap.retarget.rigs import RigPreset, apply_rig, get_preset
from mocap.retarget.wholebody_armature import (
    JOINT_INDEX, JOINT_NAMES, PARENTS, SIDES, default_twist_window, joints_seen, never_seen, solve_pose,
    whole_body_offsets,
)

PIECE = 1800  # frames per piece of a long clip (30 s at 60 fps)
_TIME = {"xyz": 0, "frame_index": 0}  # what retargeting reads of a pose3d.npz
_ANKLES = [JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]]


@dataclass(frozen=True)
class RetargetFileResult:
    """What :func:`retarget_file` wrote: the motion file, its rig joints and frames, the joints
    left in rest pose, the contacts used for foot locking (if any) and whether they stood on the
    known floor (as :class:`mocap.retarget.RetargetResult`). ``motion`` reads the file when asked."""

    path: Path
    joint_names: tuple[str, ...]
    n_frames: int
    rest_joints: tuple[str, ...]
    contacts: np.ndarray | None
    floor_known: bool | None = None

    @cached_property
    def motion(self) -> Motion:
        return Motion.load(self.path)


@dataclass(frozen=True)
class KeypointsHeader:
    """A pose3d.npz's size and settings, read without its arrays; ``streamable``: whether it can be
    read a piece of time at a time (not when an array was stored in Fortran order)."""

    n_frames: int
    n_persons: int
    fps: float
    world_frame: str
    streamable: bool = True


def keypoints_header(path: str | os.PathLike) -> KeypointsHeader:
    """The header of a Keypoints3D file (InputFileError unless it holds one)."""
    from mocap.pipeline.chunks import TimeReader

    try:
        with TimeReader(path, _TIME) as reader:
            reader.check_kind(Keypoints3D)
            return KeypointsHeader(reader.n_frames, int(reader.shapes["xyz"][0][1]),
                                   float(reader.static.get("fps", 30.0)), str(reader.static.get("world_frame", "z_up")))
    except ValueError:  # an array in Fortran order (saved from a transposed view): readable whole only
        kp = Keypoints3D.load(path)
        return KeypointsHeader(kp.n_frames, kp.n_persons, kp.fps, kp.world_frame, streamable=False)


def retarget_file(input_path: str | os.PathLike, output_path: str | os.PathLike, person: int = 0, *,
                  rig: str | RigPreset = "default", foot_lock: bool = False, contacts: np.ndarray | None = None,
                  piece: int | None = None, progress: bool = False) -> RetargetFileResult:
    """pose3d.npz -> motion.npz for ``rig``, as :func:`mocap.retarget.retarget` (same settings) but
    a long clip a piece of ``piece`` frames (default :data:`PIECE`) at a time (see the module doc)."""
    from mocap.retarget import retarget

    piece = PIECE if piece is None else int(piece)
    preset = get_preset(rig) if isinstance(rig, str) else rig
    header = keypoints_header(input_path)
    if header.n_frames <= 2 * piece or header.world_frame == "unaligned" or not header.streamable:
        result = retarget(Keypoints3D.load(input_path), person, rig=preset, foot_lock=foot_lock, contacts=contacts)
        result.motion.save(output_path)
        return RetargetFileResult(Path(output_path), result.motion.joint_names, result.motion.n_frames,
                                  result.rest_joints, result.contacts, result.floor_known)
    if contacts is not None and np.shape(contacts) != (header.n_frames, 2):
        raise ValueError(f"contacts must be (frames, 2) = ({header.n_frames}, 2), got {np.shape(contacts)}")
    detect = contacts is None and foot_lock
    measured = _measure(input_path, person, header, piece, detect and header.world_frame != "floor")
    with _Scratch(Path(output_path).parent) as scratch:
        solved = _solve(input_path, person, header, measured, scratch, piece, detect, progress)
        used = solved.contacts if detect else (None if contacts is None else np.asarray(contacts, dtype=bool))
        names = _write(output_path, header, measured, solved, scratch, preset, used, piece)
    return RetargetFileResult(Path(output_path), names, header.n_frames, never_seen(measured.seen), used,
                              solved.floor_known if detect else None)


@dataclass(frozen=True)
class _Measured:
    frame_index: np.ndarray  # (T,)
    lengths: dict  # the body's bone lengths
    first_seen: int  # the last frame in which a carried quantity is first seen (-1: none ever is)
    seen: np.ndarray  # (60,) joints whose keypoints are found in some frame
    floor: np.ndarray | None  # (1, 2) the floor under each foot, estimated from the whole clip


def _one_person(xyz: np.ndarray, header: KeypointsHeader) -> Keypoints3D:
    """Keypoints (T, 1, 133, 3) as a Keypoints3D for the contact detector (which reads positions only)."""
    zeros = np.zeros(xyz.shape[:3])
    return Keypoints3D(xyz=xyz, score=zeros, reproj_error=zeros, n_views=zeros, fps=header.fps,
                       world_frame=header.world_frame)


def _measure(path, person: int, header: KeypointsHeader, piece: int, floor: bool) -> _Measured:
    from mocap.pipeline.chunks import TimeReader

    samples, frames, lows = [], [], []
    first, seen = None, np.zeros(len(JOINT_NAMES), dtype=bool)
    with TimeReader(path, _TIME) as reader:
        for t0 in range(0, header.n_frames, piece):
            t1 = min(t0 + piece, header.n_frames)
            arrays = reader.read(t0, t1)
            xyz = arrays["xyz"][:, person]
            samples.append(body.bone_samples(xyz))
            frames.append(arrays.get("frame_index", np.arange(t0, t1)))
            valid = np.concatenate([body.carried_validity(xyz), hands.carried_validity(xyz)], axis=1)
            here = np.where(valid.any(0), t0 + np.argmax(valid, axis=0), -1)
            first = here if first is None else np.where(first < 0, here, first)
            seen |= joints_seen(xyz)
            if floor:
                lows.append(foot_lows(_one_person(arrays["xyz"][:, person:person + 1], header)))
    return _Measured(np.concatenate(frames), body.lengths_from_samples(np.concatenate(samples)), int(first.max()),
                     seen, floor_from_lows(np.concatenate(lows)) if floor else None)


@dataclass(frozen=True)
class _Solved:
    hand_offsets: dict  # finger joint -> rest offset (3,)
    ankles: np.ndarray  # (T, 2, 3) the ankles' positions before foot locking
    contacts: np.ndarray | None  # (T, 2) detected contacts
    floor_known: bool | None


def _bounds(n_frames: int, first_seen: int, piece: int) -> list[int]:
    """Where the pieces start and stop: the first one reaches past ``first_seen`` (module doc)."""
    first = max(piece, first_seen + 1)
    return [0] + list(range(first, n_frames, piece)) + [n_frames] if first < n_frames else [0, n_frames]


def _padded(reader, person: int, bounds: list[int], pad: int, n_frames: int):
    """Yield (a, b, s, xyz) per piece [a, b): its keypoints (e - s, 133, 3) over frames
    [s, e) = the piece and up to ``pad`` frames on either side, each frame read once."""
    held_start, held, done = 0, None, 0
    for a, b in zip(bounds[:-1], bounds[1:]):
        s, e = max(0, a - pad), min(n_frames, b + pad)
        fresh = reader.read(done, e)["xyz"][:, person]
        done = e
        xyz = fresh if held is None else np.concatenate([held[s - held_start:], fresh])
        held_start, held = s, xyz
        yield a, b, s, xyz


def _solve(path, person: int, header: KeypointsHeader, measured: _Measured, scratch: "_Scratch", piece: int,
           detect: bool, progress: bool) -> _Solved:
    from tqdm import tqdm

    from mocap.pipeline.chunks import TimeReader

    window = default_twist_window(header.fps)
    pad = max(window // 2, 1)
    if piece <= 2 * pad:
        raise ValueError(f"pieces of {piece} frames are too short for {pad} frames of context")
    offsets = whole_body_offsets(measured.lengths, {})  # the body's; the hands' come from this pass
    bounds = _bounds(header.n_frames, measured.first_seen, piece)
    knuckles, phalanges, ankles, contacts = [], [], [], []
    state, floor_known = None, None
    with TimeReader(path, _TIME) as reader:
        pieces = _padded(reader, person, bounds, pad, header.n_frames)
        for a, b, s, xyz in tqdm(pieces, total=len(bounds) - 1, desc="retarget", unit="piece", disable=not progress):
            # The next piece starts ``pad`` frames before its own first one, from the state before that.
            pose = solve_pose(xyz, state, foot_twist_window=window,
                              state_frame=(b - pad - 1 - s) if b < header.n_frames else -1)
            state = pose.state
            own = slice(a - s, b - s)
            x, rotations = xyz[own], pose.rotations[own]
            root = np.where(np.isnan(pose.root[own]), offsets[0], pose.root[own])
            knuckles.append(np.stack([hands.knuckle_samples(x, pose.wrist_world[own, k], side)
                                      for k, (side, _) in enumerate(SIDES)], axis=1))
            phalanges.append(np.stack([hands.phalanx_samples(x, side) for side, _ in SIDES], axis=1))
            motion = Motion(joint_names=JOINT_NAMES, parents=PARENTS, offsets=offsets, root_translation=root,
                            rotations=rotations, fps=header.fps)
            ankles.append(forward_kinematics(motion)[:, _ANKLES])  # ankles hang from body bones only
            if detect:
                found = foot_contacts(_one_person(xyz[:, None], header), floor=measured.floor)
                contacts.append(found.contacts[own, 0])
                floor_known = found.floor_known
            scratch.append(rotations=rotations, root=root)
    knuckles, phalanges = np.concatenate(knuckles), np.concatenate(phalanges)
    hand_offsets = {}
    for k, (side, sign) in enumerate(SIDES):
        hand_offsets.update(hands.rest_from_samples(knuckles[:, k], phalanges[:, k], side, sign))
    return _Solved(hand_offsets, np.concatenate(ankles), np.concatenate(contacts) if detect else None,
                   floor_known)


def _write(output_path, header: KeypointsHeader, measured: _Measured, solved: _Solved, scratch: "_Scratch",
           preset: RigPreset, contacts: np.ndarray | None, piece: int) -> tuple[str, ...]:
    """Write the motion; returns the rig's joint names."""
    from mocap.pipeline.chunks import TimeWriter

    offsets = whole_body_offsets(measured.lengths, solved.hand_offsets)
    if contacts is not None:
        lock, weight = lock_targets(solved.ankles, contacts)
        active = weight.any(axis=0)
    writer = TimeWriter(output_path, "Motion", header.n_frames)
    legs = None
    scratch.rewind()
    try:
        for a in range(0, header.n_frames, piece):
            b = min(a + piece, header.n_frames)
            motion = Motion(joint_names=JOINT_NAMES, parents=PARENTS, offsets=offsets,
                            root_translation=scratch.read("root", b - a), rotations=scratch.read("rotations", b - a),
                            fps=header.fps)
            if contacts is not None:
                motion, legs = apply_lock(motion, lock[a:b], weight[a:b], active, legs)
            rigged = apply_rig(motion, preset)
            writer.static = {"joint_names": rigged.joint_names, "parents": rigged.parents, "offsets": rigged.offsets,
                             "fps": rigged.fps}
            writer.append({"root_translation": rigged.root_translation, "rotations": rigged.rotations,
                           "frame_index": measured.frame_index[a:b]}, Motion.TIME_AXES)
    except BaseException:
        writer.discard()
        raise
    writer.close()
    return rigged.joint_names


class _Scratch:
    """Frames of a few float arrays appended to raw files beside the output, then read back in order."""

    def __init__(self, folder: Path):
        self._dir = tempfile.TemporaryDirectory(prefix=".retarget_", dir=folder)
        self._files: dict = {}  # name -> (file, per-frame shape)

    def append(self, **arrays) -> None:
        for name, value in arrays.items():
            if name not in self._files:
                self._files[name] = (open(Path(self._dir.name) / name, "w+b"), value.shape[1:])
            self._files[name][0].write(np.ascontiguousarray(value, dtype=float).tobytes())

    def rewind(self) -> None:
        for f, _ in self._files.values():
            f.seek(0)

    def read(self, name: str, n: int) -> np.ndarray:
        f, shape = self._files[name]
        return np.frombuffer(f.read(n * int(np.prod(shape)) * 8), dtype=float).reshape((n,) + shape)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for f, _ in self._files.values():
            f.close()
        self._dir.cleanup()

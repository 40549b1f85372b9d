"""BVH (Biovision Hierarchy) writer and reader for :class:`mocap.data.Motion`.

Axes and units
--------------
BVH consumers expect **Y up**. Our world is Z up, so every vector is written as
``(x, y, z) -> (x, z, -y)`` (a -90° turn about X; a person facing our -Y faces BVH +Z, their
left stays +X). Blender's BVH importer, with its defaults (forward -Z, up Y, scale 1), turns
BVH (X, Y, Z) into Blender (X, -Z, Y): exactly the inverse, so a file lands in Blender's Z-up
world on our own coordinates. Lengths are **metres** (Blender reads 1 unit as 1 m at scale 1),
angles degrees. The file says so on its second line, a comment::

    HIERARCHY
    # mocap BVH: Y up (world x, y, z written as x, z, -y), lengths in metres, angles in degrees

BVH has no comment syntax, so where to say it is a choice. Blender's importer
(``io_anim_bvh/import_bvh.py``) skips any hierarchy line whose first word is not ROOT, JOINT,
End, ``}`` or MOTION, except the two lines right after ROOT / JOINT, which it reads by position;
so a line right after ``HIERARCHY`` is ignored there, and by readers that build a tree of lines
keyed on their first word (the ``bvh`` Python package, ours). Readers that expect every line in a
fixed sequence (three.js' BVHLoader, token-stream parsers) stumble on any extra line:
``write_bvh(..., comment=False)`` writes a plain file for them. Every other place (joint or End
Site names, extra tokens on OFFSET / Frames lines, trailing lines) breaks Blender or three.js,
or both, so joint names stay clean.

Channels
--------
The root has ``Xposition Yposition Zposition`` then three rotations; other joints three
rotations. The root's OFFSET is written as 0 and its position channels hold its absolute
position, which both conventions in use (Blender: channels absolute; others: channels added to
the offset) read the same way. Rotation channel order is intrinsic, ``R = R1 R2 R3`` for channels
listed 1, 2, 3 (the order Blender's importer uses); it is chosen per joint so that the middle
axis, where Euler angles lock, is the bone's own long axis (twist is the motion least likely to
reach 90°): ``ZXY`` for bones along X (arms) and for the root (whose big rotation, turning about
Y, must not be the middle one), ``ZYX`` for bones along Y (spine, neck, legs), ``YZX`` for bones
along Z (feet). Angles are unwrapped over time so no channel jumps by 360°.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from mocap import rotations as rot
from mocap.data import Motion
from mocap.errors import InputFileError
from mocap.fileio import atomic_write, read_text

COMMENT = "# mocap BVH: Y up (world x, y, z written as x, z, -y), lengths in metres, angles in degrees"

# World (Z up) -> BVH (Y up): (x, y, z) -> (x, z, -y).
_TO_BVH = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
_ORDER_FOR_AXIS = {0: "ZXY", 1: "ZYX", 2: "YZX"}
_POSITION_DECIMALS, _ANGLE_DECIMALS = 7, 6


def world_to_bvh(v) -> np.ndarray:
    """Vectors (..., 3) from our Z-up world to BVH's Y-up axes."""
    return np.asarray(v, dtype=float) @ _TO_BVH.T


def bvh_to_world(v) -> np.ndarray:
    """Vectors (..., 3) from BVH's Y-up axes to our Z-up world."""
    return np.asarray(v, dtype=float) @ _TO_BVH


def _children(parents: np.ndarray) -> list[list[int]]:
    kids = [[] for _ in parents]
    for j, p in enumerate(parents):
        if p >= 0:
            kids[p].append(j)
    return kids


def _end_site(offset_bvh: np.ndarray) -> np.ndarray:
    """A leaf's End Site: its bone continued by half its length (at least 5 cm), for display."""
    n = np.linalg.norm(offset_bvh)
    if n < 1e-9:
        return np.array([0.0, 0.1, 0.0])
    return offset_bvh / n * max(0.05, 0.5 * n)


def channel_orders(motion: Motion) -> list[str]:
    """The rotation channel order of each joint (see the module doc)."""
    offsets = world_to_bvh(motion.offsets)
    kids = _children(motion.parents)
    orders = []
    for j, p in enumerate(motion.parents):
        # The bone a joint turns: toward its first child, or for a leaf its own offset's direction.
        bone = offsets[kids[j][0]] if kids[j] else offsets[j]
        if p < 0 or np.linalg.norm(bone) < 1e-9:
            orders.append("ZXY")
        else:
            orders.append(_ORDER_FOR_AXIS[int(np.argmax(np.abs(bone)))])
    return orders


def _fmt(v, decimals: int = _POSITION_DECIMALS) -> str:
    return " ".join(f"{x:.{decimals}f}" for x in v)


def write_bvh(motion: Motion, path: str | os.PathLike, *, comment: bool = True, chunk: int = 2000) -> Path:
    """Write ``motion`` as a Y-up, metre BVH file; see the module doc.

    Frames are formatted and written ``chunk`` at a time into a temporary file that replaces
    ``path`` only once complete: a motion holding NaN raises ValueError at its first bad frame and
    leaves any existing file untouched.
    """
    if motion.n_frames == 0:
        raise ValueError("cannot write a BVH file of a motion with no frames")
    offsets = world_to_bvh(motion.offsets)
    kids = _children(motion.parents)
    orders = channel_orders(motion)
    # Conjugating a rotation by the axis change only relabels its axis: q_bvh = (w, C v).
    q = motion.rotations
    q_bvh = np.concatenate([q[..., :1], world_to_bvh(q[..., 1:])], axis=-1)

    first = int(motion.frame_index[0]) if motion.n_frames else 0
    # BVH has no first-frame field: the comment says which source video frame the motion starts at.
    lines = ["HIERARCHY"] + ([f"{COMMENT}; first frame: video frame {first}"] if comment else [])
    columns = []  # per-frame channel values, in file order

    def emit(j: int, depth: int) -> None:
        pad = "\t" * depth
        is_root = motion.parents[j] < 0
        lines.append(f"{pad}{'ROOT' if is_root else 'JOINT'} {motion.joint_names[j]}")
        lines.append(pad + "{")
        lines.append(f"{pad}\tOFFSET {_fmt(np.zeros(3) if is_root else offsets[j])}")
        rot_channels = " ".join(f"{axis}rotation" for axis in orders[j])
        if is_root:
            lines.append(f"{pad}\tCHANNELS 6 Xposition Yposition Zposition {rot_channels}")
            columns.append((world_to_bvh(motion.root_translation), _POSITION_DECIMALS))
        else:
            lines.append(f"{pad}\tCHANNELS 3 {rot_channels}")
        euler = rot.to_euler(q_bvh[:, j], orders[j], degrees=True)
        columns.append((rot.unwrap_euler(euler, orders[j], degrees=True), _ANGLE_DECIMALS))
        for c in kids[j]:
            emit(c, depth + 1)
        if not kids[j]:
            lines.extend([f"{pad}\tEnd Site", pad + "\t{", f"{pad}\t\tOFFSET {_fmt(_end_site(offsets[j]))}",
                          pad + "\t}"])
        lines.append(pad + "}")

    with np.errstate(invalid="ignore"):
        for root in np.flatnonzero(motion.parents < 0):
            emit(int(root), 0)
    lines += ["MOTION", f"Frames: {motion.n_frames}", f"Frame Time: {1.0 / motion.fps:.10g}"]
    table = np.concatenate([c for c, _ in columns], axis=1)
    fmt = [f"%.{d}f" for c, d in columns for _ in range(c.shape[1])]
    with atomic_write(path, newline="\n") as f:
        f.write("\n".join(lines) + "\n")
        for start in range(0, motion.n_frames, chunk):
            block = table[start:start + chunk]
            bad = ~np.isfinite(block).all(axis=1)
            if bad.any():
                raise ValueError(f"frame {start + int(np.argmax(bad))} of the motion holds NaN or infinite values")
            body = io.StringIO()
            np.savetxt(body, block, fmt=fmt, delimiter=" ")
            f.write(body.getvalue())
    return Path(path)


class _Joint:
    __slots__ = ("name", "parent", "offset", "channels", "first", "line")

    def __init__(self, name, parent, line):
        self.name, self.parent, self.line = name, parent, line
        self.offset, self.channels, self.first = None, [], 0


_KNOWN_CHANNELS = {f"{a}{kind}" for a in "xyz" for kind in ("position", "rotation")}


def read_bvh(path: str | os.PathLike, scale: float = 1.0) -> Motion:
    """Read a BVH file into a Motion in our Z-up world (inverse of :func:`write_bvh`).

    The file is taken to be Y up, as BVH files are. Any BVH with one root and rotation channels
    in any order is accepted; lines starting with ``#`` are skipped; ``scale`` converts its
    length unit to metres (0.01 for centimetres). Following Blender's reading, the root's position
    channels are its absolute position and its OFFSET is its rest position; other joints may
    carry position channels only if they never change (they then replace the offset). End Sites
    are skipped. Raises InputFileError naming the line for malformed files.
    """
    path = Path(path)
    text = read_text(path)

    def fail(message: str, line_no: int | None = None):
        raise InputFileError(f"line {line_no}: {message}" if line_no else message, path)

    rows = [(n, line.split()) for n, line in enumerate(text.splitlines(), start=1)]
    rows = [(n, t) for n, t in rows if t and not t[0].startswith("#")]
    if not rows or rows[0][1][0].upper() != "HIERARCHY":
        fail("not a BVH file: it does not start with HIERARCHY", rows[0][0] if rows else None)

    joints, n_channels, motion_row = _parse_hierarchy(rows, fail)
    data, frame_time = _parse_frames(rows, motion_row, n_channels, fail)
    return _to_motion(joints, data, frame_time, scale, fail)


def _parse_hierarchy(rows, fail):
    """Joints (file order), the number of channels, and the index of the MOTION row."""
    joints: list[_Joint] = []
    stack: list[int | None] = []  # open blocks: joint index, or None for an End Site
    pending = None  # what the next "{" opens
    n_channels = 0
    i = 1
    while i < len(rows):
        n, tok = rows[i]
        key = tok[0].upper()
        if key == "MOTION":
            break
        if key in ("ROOT", "JOINT"):
            if len(tok) < 2:
                fail(f"{tok[0]} without a name", n)
            if key == "ROOT" and (joints or stack):
                fail("a second ROOT: only one skeleton per file is supported", n)
            if key == "JOINT" and (not stack or stack[-1] is None):
                fail("JOINT outside a joint's braces", n)
            joints.append(_Joint("_".join(tok[1:]), stack[-1] if stack else -1, n))
            pending = len(joints) - 1
        elif key == "END":
            if len(tok) < 2 or tok[1].upper() != "SITE":
                fail(f"expected 'End Site', found {' '.join(tok)!r}", n)
            if not stack or stack[-1] is None:
                fail("End Site outside a joint's braces", n)
            pending = "end"
        elif key == "{":
            if pending is None:
                fail("'{' without ROOT, JOINT or End Site before it", n)
            stack.append(None if pending == "end" else pending)
            pending = None
        elif key == "}":
            if not stack:
                fail("unbalanced '}'", n)
            stack.pop()
        elif key == "OFFSET":
            if not stack:
                fail("OFFSET outside a joint's braces", n)
            if len(tok) < 4:
                fail("OFFSET needs three numbers", n)
            try:
                offset = np.array([float(v) for v in tok[1:4]])
            except ValueError:
                fail(f"OFFSET values are not numbers: {' '.join(tok[1:])}", n)
            if stack[-1] is not None:
                joints[stack[-1]].offset = offset
        elif key == "CHANNELS":
            if not stack or stack[-1] is None:
                fail("CHANNELS outside a joint's braces", n)
            try:
                count = int(tok[1])
            except (IndexError, ValueError):
                fail("CHANNELS must be followed by their number", n)
            names = [c.lower() for c in tok[2:]]
            if count != len(names):
                fail(f"CHANNELS announces {count} channels but lists {len(names)}", n)
            unknown = [c for c in names if c not in _KNOWN_CHANNELS]
            if unknown:
                fail(f"unknown channel {unknown[0]!r}", n)
            joint = joints[stack[-1]]
            joint.channels, joint.first = names, n_channels
            n_channels += count
        else:
            fail(f"unexpected {tok[0]!r} in the HIERARCHY section", n)
        i += 1
    else:
        fail("no MOTION section")
    if stack:
        fail(f"unbalanced braces: {len(stack)} block(s) not closed before MOTION", rows[i][0])
    if not joints:
        fail("the HIERARCHY section has no ROOT")
    for joint in joints:
        if joint.offset is None:
            fail(f"joint {joint.name!r} has no OFFSET", joint.line)
    return joints, n_channels, i


def _parse_frames(rows, i, n_channels, fail):
    """The (frames, channels) values and the frame time, from the rows after MOTION (row i)."""

    def header(index: int, words: tuple[str, ...], what: str):
        if index >= len(rows):
            fail(f"the MOTION section ends before '{' '.join(words)}'")
        n, tok = rows[index]
        if [t.lower() for t in tok[: len(words)]] != [w.lower() for w in words] or len(tok) != len(words) + 1:
            fail(f"expected '{' '.join(words)} <{what}>', found {' '.join(tok)!r}", n)
        return n, tok[-1]

    n, value = header(i + 1, ("Frames:",), "number of frames")
    try:
        n_frames = int(value)
    except ValueError:
        fail(f"the number of frames is not an integer: {value!r}", n)
    n, value = header(i + 2, ("Frame", "Time:"), "seconds")
    try:
        frame_time = float(value)
    except ValueError:
        frame_time = -1.0
    if not frame_time > 0:
        fail(f"the frame time must be a positive number of seconds, found {value!r}", n)
    frame_rows = rows[i + 3:]
    if len(frame_rows) != n_frames:
        fail(f"the file declares {n_frames} frames but holds {len(frame_rows)} frame lines")
    data = np.zeros((n_frames, n_channels))
    for k, (n, tok) in enumerate(frame_rows):
        if len(tok) != n_channels:
            fail(f"frame {k + 1} has {len(tok)} values, expected {n_channels}", n)
        try:
            data[k] = [float(t) for t in tok]
        except ValueError:
            bad = next(t for t in tok if not _is_number(t))
            fail(f"frame {k + 1}: {bad!r} is not a number", n)
    if not np.isfinite(data).all():
        fail("the frame data holds NaN or infinite values")
    return data, frame_time


def _to_motion(joints, data, frame_time, scale, fail) -> Motion:
    """Channels (BVH axes, degrees, file units) to a Motion in our Z-up world, in metres."""
    n_frames = data.shape[0]
    J = len(joints)
    offsets = np.array([j.offset for j in joints]) * scale
    rotations = np.zeros((n_frames, J, 4))
    root_translation = np.broadcast_to(offsets[0], (n_frames, 3)).copy()
    for idx, joint in enumerate(joints):
        q = rot.identity(n_frames)
        position = None
        for c, name in enumerate(joint.channels):
            values = data[:, joint.first + c]
            axis = "xyz".index(name[0])
            if name.endswith("rotation"):
                q = rot.multiply(q, rot.from_axis_angle(np.eye(3)[axis], np.radians(values)))
            else:
                if position is None:
                    position = np.broadcast_to(joint.offset, (n_frames, 3)).copy()
                position[:, axis] = values
        if position is not None:
            if idx == 0:
                root_translation = position * scale
            elif np.ptp(position, axis=0).max() > 1e-9:
                fail(f"joint {joint.name!r} has moving position channels: only the root may move", joint.line)
            else:
                offsets[idx] = position[0] * scale
        rotations[:, idx] = q
    rotations = np.concatenate([rotations[..., :1], bvh_to_world(rotations[..., 1:])], axis=-1)
    fps = 1.0 / frame_time
    if abs(fps - round(fps)) < 1e-6 * fps:
        fps = float(round(fps))
    return Motion(joint_names=tuple(j.name for j in joints), parents=np.array([j.parent for j in joints]),
                  offsets=bvh_to_world(offsets), root_translation=bvh_to_world(root_translation),
                  rotations=rot.make_continuous(rotations), fps=fps)




def _is_number(token: str) -> bool:
    try:
        float(token)
        return True
    except ValueError:
        return False

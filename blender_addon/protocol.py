"""The live wire protocol between ``mocap live`` (sender) and this add-on's receiver.

Pure standard library + numpy, so both sides use this one module: the add-on decodes with it
inside Blender, and ``mocap.live`` imports it to encode (the add-on never imports mocap).

Transport: one TCP connection per sender to the receiver (default ``127.0.0.1:9763``), carrying
a stream of messages. No pickle, no eval: every field is a fixed binary type read with
``struct`` / ``numpy.frombuffer``, and every count and length is checked before it is used.

Message = 32-byte header + payload, little-endian::

    offset size  field
    0      4     magic      b"MOCP"
    4      2     version    u16, 1 (this document)
    6      1     kind       u8: 1 skeleton, 2 pose
    7      1     flags      u8, 0 (reserved)
    8      4     length     u32, payload bytes (header + payload <= MAX_MESSAGE = 1 MiB)
    12     4     sequence   u32, per connection, +1 for every message sent
    16     8     timestamp  f64, seconds (sender's wall clock, Unix time): when the frame was captured
    24     4     fps        f32, the stream's nominal frame rate (0: unknown)
    28     4     crc32      u32, zlib CRC-32 of header bytes 0-27 followed by the payload

The first 12 bytes keep this layout in every version, so a receiver can skip whole messages of
a version it does not know.

Skeleton payload (kind 1), sent first and again whenever the skeleton changes::

    u16 subject, u16 J joints (1..512), u16 K keypoints (0..1024)
    J joint names, then K keypoint names: each u8 n (1..63) + n bytes UTF-8
    J x i16 parents (-1 for the root; parents come before their children)
    J x 3 f32 rest offsets: each joint from its parent in metres (the root's: its rest position)

Pose payload (kind 2), one per frame::

    u16 subject, u16 J, u16 K (0 or the skeleton's K), u16 reserved (0)
    u32 skeleton id (CRC-32 of the skeleton payload this pose belongs to), i64 source frame index
    3 f32 root translation (metres)
    J x 4 f32 local rotations, unit quaternions w, x, y, z
    K x 3 f32 raw keypoints (metres, NaN where missing), when K > 0

Axes are mocap's world (= Blender's): right-handed, Z up, metres. Rotations follow
:class:`mocap.data.Motion`: each joint's rotation relative to its parent, in world axes, with the
rest pose (all rotations identity) as given by the offsets.

Reading a stream (:class:`StreamDecoder`): bytes up to the next magic are skipped (counted as
``garbage``); a header claiming more than MAX_MESSAGE is ``oversized`` and the search for the
next magic resumes inside it; a message of another version is skipped whole (``bad_version``);
a CRC mismatch is ``truncated`` when a valid message starts inside the claimed payload (the
sender cut the message short) and ``bad_checksum`` otherwise, and the search resumes 4 bytes in;
a payload that does not parse is ``malformed`` (``unknown_kind`` for kinds above 2). Bytes left
when the connection closes are ``truncated``. Buffered data never exceeds MAX_MESSAGE plus what
one read returned.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from . import skeleton

MAGIC = b"MOCP"
VERSION = 1
DEFAULT_PORT = 9763
MAX_MESSAGE = 1 << 20
MAX_JOINTS = 512
MAX_KEYPOINTS = 1024
MAX_NAME = 63
KIND_SKELETON, KIND_POSE = 1, 2

HEADER = struct.Struct("<4sHBBIIdfI")
_SKELETON_HEAD = struct.Struct("<HHH")
_POSE_HEAD = struct.Struct("<HHHHIq")
_CRC_SPAN = HEADER.size - 4  # header bytes covered by the CRC

# The problems a receiver counts (ProtocolError.kind).
PROBLEMS = ("garbage", "oversized", "bad_version", "bad_checksum", "truncated", "malformed", "unknown_kind")


class ProtocolError(ValueError):
    """One problem found in a stream; ``kind`` is one of :data:`PROBLEMS`."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Header:
    version: int
    kind: int
    flags: int
    length: int
    sequence: int
    timestamp: float
    fps: float


@dataclass(frozen=True, eq=False)
class Skeleton:
    """Joint names, parents (J,) and rest offsets (J, 3) of one subject; ``id`` is the CRC-32 of
    its payload, which poses refer to."""

    subject: int
    joint_names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    keypoint_names: tuple[str, ...] = ()
    id: int = 0

    def rest_positions(self) -> np.ndarray:
        """(J, 3) rest position of every joint (offsets summed down the chain)."""
        return skeleton.rest_positions(self.parents, self.offsets)


@dataclass(frozen=True, eq=False)
class Pose:
    """One frame of one subject: root translation (3,), local rotations (J, 4) w,x,y,z
    (normalized), keypoints (K, 3) or None."""

    subject: int
    skeleton_id: int
    frame_index: int
    root: np.ndarray
    rotations: np.ndarray
    keypoints: np.ndarray | None = None


@dataclass(frozen=True)
class Message:
    header: Header
    body: Skeleton | Pose


# --- encoding ---------------------------------------------------------------------------------


def _names(names) -> bytes:
    out = bytearray()
    for name in names:
        raw = str(name).encode("utf-8")
        if not 1 <= len(raw) <= MAX_NAME:
            raise ValueError(f"name {name!r} must be 1 to {MAX_NAME} bytes of UTF-8")
        out += bytes([len(raw)]) + raw
    return bytes(out)


def _message(kind: int, payload: bytes, sequence: int, timestamp: float, fps: float) -> bytes:
    if HEADER.size + len(payload) > MAX_MESSAGE:
        raise ValueError(f"message of {HEADER.size + len(payload)} bytes exceeds MAX_MESSAGE ({MAX_MESSAGE})")
    head = HEADER.pack(MAGIC, VERSION, kind, 0, len(payload), sequence & 0xFFFFFFFF, float(timestamp), float(fps), 0)
    crc = zlib.crc32(payload, zlib.crc32(head[:_CRC_SPAN]))
    return head[:_CRC_SPAN] + struct.pack("<I", crc) + payload


def skeleton_payload(joint_names, parents, offsets, *, subject: int = 0, keypoint_names=()) -> bytes:
    """The payload of a skeleton message (its CRC-32 is the skeleton id poses carry)."""
    parents = np.asarray(parents, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.float64)
    J, K = len(joint_names), len(keypoint_names)
    if not 1 <= J <= MAX_JOINTS or K > MAX_KEYPOINTS:
        raise ValueError(f"a skeleton has 1 to {MAX_JOINTS} joints and at most {MAX_KEYPOINTS} keypoints")
    if parents.shape != (J,) or offsets.shape != (J, 3):
        raise ValueError(f"parents must be ({J},) and offsets ({J}, 3)")
    _check_parents(parents)
    return (_SKELETON_HEAD.pack(subject, J, K) + _names(joint_names) + _names(keypoint_names)
            + parents.astype("<i2").tobytes() + offsets.astype("<f4").tobytes())


def encode_skeleton(joint_names, parents, offsets, *, subject: int = 0, keypoint_names=(), sequence: int = 0,
                    timestamp: float = 0.0, fps: float = 0.0) -> bytes:
    """A complete skeleton message."""
    payload = skeleton_payload(joint_names, parents, offsets, subject=subject, keypoint_names=keypoint_names)
    return _message(KIND_SKELETON, payload, sequence, timestamp, fps)


def skeleton_id(payload: bytes) -> int:
    return zlib.crc32(payload)


def encode_pose(skeleton: int, root, rotations, *, keypoints=None, subject: int = 0, frame_index: int = 0,
                sequence: int = 0, timestamp: float = 0.0, fps: float = 0.0) -> bytes:
    """A complete pose message for the skeleton whose id is ``skeleton``."""
    rotations = np.asarray(rotations, dtype="<f4")
    J = rotations.shape[0]
    if rotations.shape != (J, 4) or not 1 <= J <= MAX_JOINTS:
        raise ValueError(f"rotations must be (J, 4) with 1 <= J <= {MAX_JOINTS}, got {rotations.shape}")
    kp = np.zeros((0, 3), "<f4") if keypoints is None else np.asarray(keypoints, dtype="<f4").reshape(-1, 3)
    if len(kp) > MAX_KEYPOINTS:
        raise ValueError(f"at most {MAX_KEYPOINTS} keypoints")
    payload = (_POSE_HEAD.pack(subject, J, len(kp), 0, skeleton & 0xFFFFFFFF, int(frame_index))
               + np.asarray(root, dtype="<f4").reshape(3).tobytes() + rotations.tobytes() + kp.tobytes())
    return _message(KIND_POSE, payload, sequence, timestamp, fps)


# --- decoding ---------------------------------------------------------------------------------


def _check_parents(parents: np.ndarray) -> None:
    J = len(parents)
    if J and (parents[0] != -1 or np.any(parents[1:] < 0) or np.any(parents[1:] >= np.arange(1, J))):
        raise ValueError("parents must list the root first (-1) and every parent before its children")


def _read_names(payload: bytes, pos: int, count: int) -> tuple[tuple[str, ...], int]:
    names = []
    for _ in range(count):
        if pos >= len(payload):
            raise ProtocolError("malformed", "names run past the end of the payload")
        n = payload[pos]
        if not 1 <= n <= MAX_NAME or pos + 1 + n > len(payload):
            raise ProtocolError("malformed", f"bad name length {n}")
        try:
            names.append(payload[pos + 1:pos + 1 + n].decode("utf-8"))
        except UnicodeDecodeError:
            raise ProtocolError("malformed", "a name is not valid UTF-8") from None
        pos += 1 + n
    return tuple(names), pos


def _floats(payload: bytes, pos: int, count: int) -> np.ndarray:
    return np.frombuffer(payload, dtype="<f4", count=count, offset=pos).astype(np.float64)


def decode_skeleton(payload: bytes) -> Skeleton:
    if len(payload) < _SKELETON_HEAD.size:
        raise ProtocolError("malformed", "skeleton payload shorter than its counts")
    subject, J, K = _SKELETON_HEAD.unpack_from(payload)
    if not 1 <= J <= MAX_JOINTS or K > MAX_KEYPOINTS:
        raise ProtocolError("malformed", f"skeleton with {J} joints and {K} keypoints")
    joint_names, pos = _read_names(payload, _SKELETON_HEAD.size, J)
    keypoint_names, pos = _read_names(payload, pos, K)
    if len(set(joint_names)) != J:
        raise ProtocolError("malformed", "joint names repeat")
    if len(payload) != pos + 2 * J + 12 * J:
        raise ProtocolError("malformed", f"skeleton payload is {len(payload)} bytes, expected {pos + 14 * J}")
    parents = np.frombuffer(payload, dtype="<i2", count=J, offset=pos).astype(np.int64)
    offsets = _floats(payload, pos + 2 * J, 3 * J).reshape(J, 3)
    try:
        _check_parents(parents)
    except ValueError as exc:
        raise ProtocolError("malformed", str(exc)) from None
    if not np.isfinite(offsets).all():
        raise ProtocolError("malformed", "rest offsets are not finite")
    return Skeleton(subject, joint_names, parents, offsets, keypoint_names, skeleton_id(payload))


def decode_pose(payload: bytes) -> Pose:
    if len(payload) < _POSE_HEAD.size:
        raise ProtocolError("malformed", "pose payload shorter than its counts")
    subject, J, K, _, skel, frame_index = _POSE_HEAD.unpack_from(payload)
    if not 1 <= J <= MAX_JOINTS or K > MAX_KEYPOINTS:
        raise ProtocolError("malformed", f"pose with {J} joints and {K} keypoints")
    pos = _POSE_HEAD.size
    if len(payload) != pos + 12 + 16 * J + 12 * K:
        raise ProtocolError("malformed", f"pose payload is {len(payload)} bytes, expected {pos + 12 + 16 * J + 12 * K}")
    root = _floats(payload, pos, 3)
    rotations = _floats(payload, pos + 12, 4 * J).reshape(J, 4)
    keypoints = _floats(payload, pos + 12 + 16 * J, 3 * K).reshape(K, 3) if K else None
    norms = np.linalg.norm(rotations, axis=1, keepdims=True)
    if not (np.isfinite(root).all() and np.isfinite(rotations).all()) or np.any(norms < 1e-3):
        raise ProtocolError("malformed", "root or rotations not finite, or a zero quaternion")
    return Pose(subject, skel, int(frame_index), root, rotations / norms, keypoints)


def decode_body(kind: int, payload: bytes) -> Skeleton | Pose:
    if kind == KIND_SKELETON:
        return decode_skeleton(payload)
    if kind == KIND_POSE:
        return decode_pose(payload)
    raise ProtocolError("unknown_kind", f"unknown message kind {kind}")


class StreamDecoder:
    """Messages out of a byte stream, whatever arrives (see the module doc for the rules).

    ``feed(data)`` returns the :class:`Message` objects and :class:`ProtocolError` values found,
    in stream order; ``close()`` reports what is left as truncated.
    """

    def __init__(self, max_message: int = MAX_MESSAGE):
        self.max_message = max_message
        self._buf = bytearray()
        self.bytes_skipped = 0

    def feed(self, data: bytes) -> list:
        self._buf += data
        out: list = []
        pos = self._parse(out)
        del self._buf[:pos]
        return out

    def close(self) -> ProtocolError | None:
        left = len(self._buf)
        self._buf.clear()
        return ProtocolError("truncated", f"connection closed inside a message ({left} bytes)") if left else None

    def _skip(self, out: list, start: int, end: int) -> None:
        if end > start:
            self.bytes_skipped += end - start
            out.append(ProtocolError("garbage", f"{end - start} bytes before a message start skipped"))

    def _complete(self, pos: int):
        """(header fields, payload) of a whole message at ``pos`` with a good CRC, else None."""
        buf = self._buf
        if len(buf) - pos < HEADER.size:
            return None
        fields = HEADER.unpack_from(buf, pos)
        length = fields[4]
        if fields[1] != VERSION or HEADER.size + length > self.max_message or len(buf) - pos < HEADER.size + length:
            return None
        payload = bytes(buf[pos + HEADER.size:pos + HEADER.size + length])
        if zlib.crc32(payload, zlib.crc32(buf[pos:pos + _CRC_SPAN])) != fields[8]:
            return None
        return fields, payload

    def _next_start(self, start: int, end: int) -> tuple[str, int]:
        """The first message start in [start, end): ("valid", at) when a whole valid message is
        there, ("pending", at) when one may be but has not fully arrived, ("none", -1) otherwise."""
        buf = self._buf
        at = buf.find(MAGIC, start, end)
        while at >= 0:
            if self._complete(at) is not None:
                return "valid", at
            if len(buf) - at < HEADER.size:
                return "pending", at
            fields = HEADER.unpack_from(buf, at)
            if fields[1] == VERSION and HEADER.size + fields[4] <= self.max_message \
                    and len(buf) - at < HEADER.size + fields[4]:
                return "pending", at
            at = buf.find(MAGIC, at + 1, end)
        return "none", -1

    def _parse(self, out: list) -> int:
        buf, pos = self._buf, 0
        while True:
            at = buf.find(MAGIC, pos)
            if at < 0:
                keep = max(pos, len(buf) - (len(MAGIC) - 1))  # a magic may straddle two reads
                self._skip(out, pos, keep)
                return keep
            self._skip(out, pos, at)
            pos = at
            if len(buf) - pos < HEADER.size:
                return pos
            _, version, kind, _, length, sequence, timestamp, fps, _ = HEADER.unpack_from(buf, pos)
            total = HEADER.size + length
            if total > self.max_message:
                out.append(ProtocolError("oversized", f"message claims {total} bytes (at most {self.max_message})"))
                pos += len(MAGIC)
                continue
            if len(buf) - pos < total:
                # Incomplete: wait for the rest, unless a valid message already starts inside it
                # (the sender cut this one short); then this one is dropped at once.
                found, cut = self._next_start(pos + len(MAGIC), len(buf))
                if found != "valid":
                    return pos
                out.append(ProtocolError("truncated", "a message was cut short by the next one"))
                pos = cut
                continue
            if version != VERSION:
                out.append(ProtocolError("bad_version", f"protocol version {version} (this receiver reads {VERSION})"))
                pos += total
                continue
            found = self._complete(pos)
            if found is None:
                where, cut = self._next_start(pos + len(MAGIC), pos + total)
                if where == "pending":  # a message may start inside: decide once it has arrived
                    return pos
                if where == "valid":
                    out.append(ProtocolError("truncated", "a message was cut short by the next one"))
                    pos = cut
                else:
                    out.append(ProtocolError("bad_checksum", "CRC-32 mismatch"))
                    pos += len(MAGIC)
                continue
            _, payload = found
            header = Header(version, kind, 0, length, sequence, timestamp, fps)
            try:
                out.append(Message(header, decode_body(kind, payload)))
            except ProtocolError as exc:
                out.append(exc)
            pos += total

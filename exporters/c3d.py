"""C3D writer for one person's 3D keypoints (markers), the biomechanics labs' binary format.

Axes and units
--------------
C3D files from optical systems (Vicon, Qualisys) are **Z up**, as our world is, so points are
written unchanged, in **millimetres** by default (``POINT:UNITS`` says which; ``m`` and ``cm``
also work). ``POINT:X_SCREEN = +X`` and ``POINT:Y_SCREEN = +Z`` tell viewers that Z is up.

Layout (all little-endian, Intel processor type 84, 512-byte blocks)
--------------------------------------------------------------------
* block 1, the header: parameter block 2, key 0x50, point count, no analog channels, first and
  last frame (the source video's frame numbers from 1: ``frame_index[0] + 1`` and T later), POINT scale -1.0 (a negative scale means float32 data), the first data
  block, the frame rate;
* blocks 2..: the parameter section, 4 bytes (reserved, 0x50, number of blocks, processor 84)
  then groups and parameters. Each entry starts with the length of its name and its group id
  (negative for a group), the name, and a 16-bit offset to the next entry; a parameter then
  holds its type (-1 char, 2 int16, 4 float), its dimensions and data. Groups written: POINT
  (USED, FRAMES, SCALE, RATE, DATA_START, UNITS, LABELS, DESCRIPTIONS, X_SCREEN, Y_SCREEN),
  ANALOG (USED 0, RATE), TRIAL (ACTUAL_START_FIELD / ACTUAL_END_FIELD, for more than 65535
  frames), MANUFACTURER (COMPANY, SOFTWARE). The last entry's offset is 0 and zero padding ends
  the section;
* then the data: per frame, per marker, X, Y, Z and a fourth float, the residual word: 0.0 for
  a valid point, **-1.0 for a missing one** (coordinates 0), as the standard defines.

Markers are the 133 COCO-WholeBody keypoint names (LABELS, with the keypoint group as
DESCRIPTIONS); markers never seen by this person are still written (all frames missing), so the
marker set is the same in every file.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from mocap.data import Keypoints3D
from exporters.markers import person_markers
from mocap.fileio import atomic_write
from mocap.skeleton.wholebody import GROUPS, NAMES, N_KEYPOINTS

_PROCESSOR_INTEL = 84
_BLOCK = 512


def _group(gid: int, name: str, desc: str = "") -> bytes:
    d = desc.encode()
    return struct.pack("<bb", len(name), -gid) + name.encode() + struct.pack("<hB", 3 + len(d), len(d)) + d


def _param(gid: int, name: str, kind: int, dims: tuple[int, ...], data: bytes, desc: str = "") -> bytes:
    d = desc.encode()
    body = struct.pack("<bB", kind, len(dims)) + bytes(dims) + data + struct.pack("<B", len(d)) + d
    return struct.pack("<bb", len(name), gid) + name.encode() + struct.pack("<h", 2 + len(body)) + body


def _int16(gid, name, values, desc=""):
    values = np.atleast_1d(np.asarray(values, dtype="<i2"))
    dims = () if values.size == 1 else (values.size,)
    return _param(gid, name, 2, dims, values.tobytes(), desc)


def _float(gid, name, value, desc=""):
    return _param(gid, name, 4, (), struct.pack("<f", value), desc)


def _text(gid, name, value: str, desc=""):
    return _param(gid, name, -1, (len(value),), value.encode(), desc)


def _texts(gid, name, values, desc=""):
    width = max(1, max(len(v) for v in values))
    data = b"".join(v.ljust(width).encode() for v in values)
    return _param(gid, name, -1, (width, len(values)), data, desc)


def _parameters(n_points: int, n_frames: int, fps: float, units: str, data_start: int, first: int = 1) -> bytes:
    group_of = {}
    for group, part in GROUPS.items():
        for i in range(part.start, part.stop):
            group_of[NAMES[i]] = group
    last = first + n_frames - 1
    start_field = [first % 65536, first // 65536]  # ACTUAL_START/END_FIELD: low word, high word
    first_end = [last % 65536, last // 65536]
    items = [
        _group(1, "POINT", "3D keypoints"),
        _int16(1, "USED", n_points, "number of markers"),
        _int16(1, "FRAMES", min(n_frames, 32767), "number of frames (see TRIAL for more than 32767)"),
        _float(1, "SCALE", -1.0, "negative: float data"),
        _float(1, "RATE", fps, "frames per second"),
        _int16(1, "DATA_START", data_start, "first data block"),
        _text(1, "UNITS", units),
        _texts(1, "LABELS", list(NAMES)),
        _texts(1, "DESCRIPTIONS", [f"COCO-WholeBody {group_of[n]}" for n in NAMES]),
        _text(1, "X_SCREEN", "+X", "Z up"),
        _text(1, "Y_SCREEN", "+Z", "Z up"),
        _group(2, "ANALOG", "no analog channels"),
        _int16(2, "USED", 0),
        _float(2, "RATE", 0.0),
        _group(3, "TRIAL"),
        _int16(3, "ACTUAL_START_FIELD", np.array(start_field).astype(np.uint16).view(np.int16)),
        _int16(3, "ACTUAL_END_FIELD", np.array(first_end).astype(np.uint16).view(np.int16)),
        _group(4, "MANUFACTURER"),
        _text(4, "COMPANY", "mocap"),
        _text(4, "SOFTWARE", "mocap exporters.c3d"),
    ]
    # The last entry's offset is 0 ("no next entry"): patch its 16-bit offset field.
    last = bytearray(items[-1])
    name_len = abs(struct.unpack("<b", last[:1])[0])
    last[2 + name_len:4 + name_len] = b"\0\0"
    items[-1] = bytes(last)
    return b"".join(items)


def write_c3d(kp: Keypoints3D, path: str | os.PathLike, person: int = 0, units: str = "mm") -> Path:
    """Write one person's 133 keypoints as a C3D file (atomically); see the module doc."""
    xyz = person_markers(kp, person, units, "C3D")
    T = kp.n_frames
    if not 0 < T <= 65535:
        raise ValueError(f"C3D holds 1 to 65535 frames (16-bit header), got {T}")
    valid = np.isfinite(xyz).all(-1)
    frames = np.zeros((T, N_KEYPOINTS, 4), dtype="<f4")
    frames[..., :3] = np.where(valid[..., None], xyz, 0.0)
    frames[..., 3] = np.where(valid, 0.0, -1.0)

    # The parameter section's size decides where the data starts, which is itself a parameter:
    # its length does not depend on the value, so size it once with a placeholder.
    # The first frame is the source video's (frame_index, from 1), as far as the 16-bit header reaches.
    first = int(kp.frame_index[0]) + 1
    if first + T - 1 > 65535:
        raise ValueError(f"C3D numbers frames up to 65535 (16-bit header); this clip ends at video frame {first + T - 1}")
    n_param_blocks = -(-(4 + len(_parameters(N_KEYPOINTS, T, kp.fps, units, 0, first))) // _BLOCK)
    data_start = 2 + n_param_blocks
    params = struct.pack("<BBBB", 1, 0x50, n_param_blocks, _PROCESSOR_INTEL)
    params += _parameters(N_KEYPOINTS, T, kp.fps, units, data_start, first)
    params += b"\0" * (n_param_blocks * _BLOCK - len(params))
    header = struct.pack("<BBHHHHHfHHf274sHHH164s44s", 2, 0x50, N_KEYPOINTS, 0, first, first + T - 1, 10, -1.0,
                         data_start, 0, float(kp.fps), b"", 0, 0, 0, b"", b"")
    data = frames.tobytes()
    data += b"\0" * (-len(data) % _BLOCK)
    with atomic_write(path, "wb") as f:
        f.write(header + params + data)
    return Path(path)

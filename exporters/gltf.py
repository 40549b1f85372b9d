"""glTF 2.0 writer for :class:`mocap.data.Motion`: a skeleton (node tree + skin) and one animation.

Axes and units
--------------
glTF is **Y up, metres, the model's front toward +Z** (the spec's convention). Our world is Z up
with the person facing -Y, so every vector is written as ``(x, y, z) -> (x, z, -y)`` (the same
turn as BVH): the person then faces +Z, their left stays +X. A rotation conjugated by that axis
change keeps its angle and only relabels its axis, so quaternions are written ``(C v, w)`` in
glTF's x, y, z, w order.

Layout
------
One node per joint, named like the joint, with its rest offset as ``translation`` (the root's is
its rest position) and children listed; a ``skin`` whose ``joints`` are those nodes (importers,
Blender's included, turn a skin's joints into an armature) with inverse bind matrices (the
inverse of each joint's rest transform, a pure translation as every rest rotation is the
identity); one ``animation`` with, per joint, a ``rotation`` channel and, for the root, a
``translation`` channel, all LINEAR over one shared time accessor (``frame / fps`` seconds). No
mesh: a skin without one is valid glTF and carries the motion.

``.glb`` writes the binary container (JSON chunk + BIN chunk); ``.gltf`` writes JSON with the
buffer embedded as a base64 data URI.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from pathlib import Path

import numpy as np

from mocap.data import Motion
from mocap.errors import SettingsError
from mocap.fileio import atomic_write

_TO_GLTF = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
_FLOAT = 5126  # componentType FLOAT


def world_to_gltf(v) -> np.ndarray:
    """Vectors (..., 3) from our Z-up world to glTF's Y-up axes."""
    return np.asarray(v, dtype=float) @ _TO_GLTF.T


def gltf_to_world(v) -> np.ndarray:
    return np.asarray(v, dtype=float) @ _TO_GLTF


class _Buffer:
    """Accumulates little-endian float32 arrays into one buffer with a view and accessor each."""

    def __init__(self):
        self.chunks, self.views, self.accessors, self.size = [], [], [], 0

    def add(self, array: np.ndarray, kind: str, with_bounds: bool = False) -> int:
        data = np.ascontiguousarray(array, dtype="<f4")
        raw = data.tobytes()
        self.views.append({"buffer": 0, "byteOffset": self.size, "byteLength": len(raw)})
        self.chunks.append(raw)
        self.size += len(raw)  # float32 data keeps every view 4-byte aligned
        accessor = {"bufferView": len(self.views) - 1, "componentType": _FLOAT, "count": int(data.shape[0]),
                    "type": kind}
        if with_bounds:
            flat = data.reshape(data.shape[0], -1)
            accessor["min"] = [float(v) for v in flat.min(0)]
            accessor["max"] = [float(v) for v in flat.max(0)]
        self.accessors.append(accessor)
        return len(self.accessors) - 1


def gltf_document(motion: Motion) -> tuple[dict, bytes]:
    """The glTF JSON (without the buffer's URI) and the binary buffer of ``motion``."""
    if motion.n_frames == 0:
        raise ValueError("cannot write a glTF file of a motion with no frames")
    if not (np.isfinite(motion.rotations).all() and np.isfinite(motion.root_translation).all()):
        raise ValueError("the motion holds NaN or infinite values")
    J, T = len(motion.joint_names), motion.n_frames
    offsets = world_to_gltf(motion.offsets)
    rest = np.zeros((J, 3))
    for j, p in enumerate(motion.parents):
        rest[j] = offsets[j] + (rest[p] if p >= 0 else 0.0)
    nodes = []
    for j, name in enumerate(motion.joint_names):
        node = {"name": name, "translation": [float(v) for v in offsets[j]]}
        kids = [int(c) for c in np.flatnonzero(motion.parents == j)]
        if kids:
            node["children"] = kids
        nodes.append(node)
    buf = _Buffer()
    inverse_bind = np.tile(np.eye(4), (J, 1, 1))
    inverse_bind[:, :3, 3] = -rest
    # glTF matrices are column-major: write each matrix transposed.
    ibm = buf.add(np.swapaxes(inverse_bind, 1, 2).reshape(J, 16), "MAT4")
    times = buf.add((np.arange(T) / motion.fps)[:, None], "SCALAR", with_bounds=True)
    q = motion.rotations
    q_gltf = np.concatenate([world_to_gltf(q[..., 1:]), q[..., :1]], axis=-1)  # x, y, z, w
    samplers, channels = [], []
    for j in range(J):
        samplers.append({"input": times, "output": buf.add(q_gltf[:, j], "VEC4"), "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": j, "path": "rotation"}})
    roots = [int(r) for r in np.flatnonzero(motion.parents < 0)]
    for r in roots:
        samplers.append({"input": times, "output": buf.add(world_to_gltf(motion.root_translation), "VEC3"),
                         "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": r, "path": "translation"}})
    doc = {
        "asset": {"version": "2.0", "generator": "mocap",
                  "extras": {"axes": "Y up, +Z forward (world x, y, z written as x, z, -y)", "units": "metres",
                             "fps": motion.fps}},
        "scene": 0,
        "scenes": [{"nodes": roots}],
        "nodes": nodes,
        "skins": [{"name": "Armature", "joints": list(range(J)), "skeleton": roots[0], "inverseBindMatrices": ibm}],
        "animations": [{"name": "Take", "samplers": samplers, "channels": channels}],
        "buffers": [{"byteLength": buf.size}],
        "bufferViews": buf.views,
        "accessors": buf.accessors,
    }
    return doc, b"".join(buf.chunks)


def write_gltf(motion: Motion, path: str | os.PathLike) -> Path:
    """Write ``motion`` as ``.glb`` (binary) or ``.gltf`` (JSON, embedded buffer), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".glb", ".gltf"):
        raise SettingsError(f"a glTF file name must end in .glb or .gltf, got {path.name!r}")
    doc, binary = gltf_document(motion)
    if suffix == ".gltf":
        doc["buffers"][0]["uri"] = "data:application/octet-stream;base64," + base64.b64encode(binary).decode()
        with atomic_write(path, newline="\n") as f:
            json.dump(doc, f, separators=(",", ":"))
        return path
    text = json.dumps(doc, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)  # chunks are 4-byte aligned: JSON pads with spaces, BIN with zeros
    binary += b"\0" * (-len(binary) % 4)
    total = 12 + 8 + len(text) + 8 + len(binary)
    with atomic_write(path, "wb") as f:
        f.write(struct.pack("<4sII", b"glTF", 2, total))
        f.write(struct.pack("<I4s", len(text), b"JSON") + text)
        f.write(struct.pack("<I4s", len(binary), b"BIN\0") + binary)
    return path

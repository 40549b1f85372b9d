"""glTF / GLB: the container, the node tree and the animation read back by hand, following the
glTF 2.0 specification (little-endian chunks, column-major matrices, x y z w quaternions, Y up),
reproduce our joint positions; Blender's importer is exercised in test_retarget_blender.py."""

import base64
import json
import struct

import numpy as np
import pytest

from exporters.gltf import write_gltf
from mocap.retarget import forward_kinematics
from mocap.errors import SettingsError
from mocap.retarget import JOINT_NAMES, whole_body_motion
from mocap.synthetic import human_motion
from test_armature import keypoints3d


@pytest.fixture(scope="module")
def motion():
    return whole_body_motion(keypoints3d(human_motion(40, 30.0, seed=7), fps=30.0))


def _read_glb(path):
    data = path.read_bytes()
    magic, version, length = struct.unpack("<4sII", data[:12])
    assert (magic, version, length) == (b"glTF", 2, len(data))
    json_len, json_type = struct.unpack("<I4s", data[12:20])
    assert json_type == b"JSON" and json_len % 4 == 0
    doc = json.loads(data[20:20 + json_len])
    bin_len, bin_type = struct.unpack("<I4s", data[20 + json_len:28 + json_len])
    assert bin_type == b"BIN\0" and bin_len % 4 == 0
    return doc, data[28 + json_len:28 + json_len + bin_len]


def _accessor(doc, blob, index):
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}[acc["type"]]
    assert acc["componentType"] == 5126
    raw = blob[view["byteOffset"]:view["byteOffset"] + view["byteLength"]]
    return np.frombuffer(raw, dtype="<f4").reshape(acc["count"], width).astype(float)


def _quat_matrix(q):  # glTF order x, y, z, w
    x, y, z, w = np.moveaxis(q, -1, 0)
    return np.stack([np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
                     np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
                     np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1)], -2)


def _animated_positions(doc, blob):
    """World positions (T, J, 3) in glTF axes from nodes + animation channels."""
    nodes = doc["nodes"]
    anim = doc["animations"][0]
    T = doc["accessors"][anim["samplers"][0]["input"]]["count"]
    trans = np.array([np.tile(n.get("translation", [0, 0, 0]), (T, 1)) for n in nodes], dtype=float)
    rots = np.array([np.tile(n.get("rotation", [0, 0, 0, 1]), (T, 1)) for n in nodes], dtype=float)
    for ch in anim["channels"]:
        values = _accessor(doc, blob, anim["samplers"][ch["sampler"]]["output"])
        (trans if ch["target"]["path"] == "translation" else rots)[ch["target"]["node"]] = values
    parent = {c: i for i, n in enumerate(nodes) for c in n.get("children", [])}
    R = [None] * len(nodes)
    P = [None] * len(nodes)
    for j in range(len(nodes)):  # our writer lists parents first
        local = _quat_matrix(rots[j])
        if j in parent:
            p = parent[j]
            P[j] = P[p] + np.einsum("tij,tj->ti", R[p], trans[j])
            R[j] = R[p] @ local
        else:
            P[j], R[j] = trans[j], local
    return np.stack(P, axis=1), T


def test_glb_reproduces_our_joints_in_y_up(motion, tmp_path):
    doc, blob = _read_glb(write_gltf(motion, tmp_path / "take.glb"))
    assert doc["asset"]["version"] == "2.0"
    assert [n["name"] for n in doc["nodes"]] == list(JOINT_NAMES)
    assert doc["skins"][0]["joints"] == list(range(60)) and doc["scenes"][0]["nodes"] == [0]
    times = _accessor(doc, blob, doc["animations"][0]["samplers"][0]["input"])[:, 0]
    assert np.allclose(times, np.arange(40) / 30.0)
    assert doc["accessors"][doc["animations"][0]["samplers"][0]["input"]]["max"][0] == pytest.approx(39 / 30)
    pos, T = _animated_positions(doc, blob)
    ours = forward_kinematics(motion)
    x, y, z = np.moveaxis(ours, -1, 0)
    assert T == 40 and np.abs(pos - np.stack([x, z, -y], -1)).max() < 1e-5  # (x, y, z) -> (x, z, -y)
    # Inverse bind matrices undo each joint's rest position (column-major storage).
    ibm = _accessor(doc, blob, doc["skins"][0]["inverseBindMatrices"]).reshape(60, 4, 4).transpose(0, 2, 1)
    rest = np.array([n["translation"] for n in doc["nodes"]])
    for j, n in enumerate(doc["nodes"]):
        for c in n.get("children", []):
            rest[c] = rest[c] + rest[j]
    assert np.abs(ibm[:, :3, 3] + rest).max() < 1e-6


def test_gltf_text_embeds_the_same_buffer(motion, tmp_path):
    doc = json.loads(write_gltf(motion, tmp_path / "take.gltf").read_text())
    uri = doc["buffers"][0]["uri"]
    assert uri.startswith("data:application/octet-stream;base64,")
    blob = base64.b64decode(uri.split(",", 1)[1])
    pos, _ = _animated_positions(doc, blob)
    glb_doc, glb_blob = _read_glb(write_gltf(motion, tmp_path / "take.glb"))
    assert np.array_equal(pos, _animated_positions(glb_doc, glb_blob)[0])
    with pytest.raises(SettingsError, match=".glb or .gltf"):
        write_gltf(motion, tmp_path / "take.gtlf")

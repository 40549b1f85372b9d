"""The VMC protocol (sh-akira/VirtualMotionCaptureProtocol): frames for VSeeFace, Warudo, VMC4B ...

VMC is OSC over UDP. Each frame goes out as **one OSC bundle** (time tag "immediately") holding

* ``/VMC/Ext/Root/Pos`` ``"root"`` p.x p.y p.z q.x q.y q.z q.w: the model root, at the origin;
* one ``/VMC/Ext/Bone/Pos`` (string){name} p.x p.y p.z q.x q.y q.z q.w per bone: the bone's
  **local** pose (position and rotation relative to its parent), named after Unity's
  ``HumanBodyBones``; Hips carries the root translation;
* ``/VMC/Ext/OK`` 1 3 0 (model loaded, calibrated, normal mode) and ``/VMC/Ext/T`` (float) the
  sender's time in seconds since it started.

Arguments are OSC ``s``, ``f`` (float32) and ``i`` (int32), big-endian, as the OSC 1.0 spec says.

Bone names: our joints map to HumanBodyBones through the ``unity`` rig preset
(:mod:`mocap.retarget.rigs`), and a skeleton already named for another preset (mixamo, unreal,
rigify, unity) is mapped back through that preset first. Joints with no humanoid bone (finger
tips) are not sent. Our rest pose is a T-pose with identity rotations, which is the normalized
humanoid rest VMC receivers apply local rotations to.

Axes: Unity is left-handed, Y up, metres, a humanoid facing +Z with its right hand toward +X.
Ours is right-handed, Z up, facing -Y, left toward +X, so a point maps as
``(x, y, z) -> (-x, z, -y)``: the reflection ``M`` = [[-1, 0, 0], [0, 0, 1], [0, -1, 0]]
(det -1). A rotation ``R`` becomes ``M R M^T``, which for a quaternion (w, x, y, z) is
(w, x, -z, y): the vector part is an axial vector, so it maps by ``det(M) M``.
"""

from __future__ import annotations

import socket
import struct
import time

import numpy as np

from mocap.live.frames import LiveFrame, LiveSkeleton
from mocap.retarget import PRESETS

MARIONETTE_PORT = 39539  # VMC receivers (marionettes) listen here by default
_M = np.array([[-1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def to_unity_position(p) -> np.ndarray:
    """Our (..., 3) positions in Unity's frame."""
    return np.asarray(p, dtype=float) @ _M.T


def to_unity_quaternion(q) -> np.ndarray:
    """Our (..., 4) w,x,y,z rotations as Unity quaternions, in VMC's argument order x, y, z, w."""
    q = np.asarray(q, dtype=float)
    return np.stack([q[..., 1], -q[..., 3], q[..., 2], q[..., 0]], axis=-1)


def humanoid_names(joint_names) -> dict[int, str]:
    """Joint index -> HumanBodyBones name, for the joints that have one (see the module doc)."""
    unity = PRESETS["unity"].names
    ours = {}
    for preset in PRESETS.values():
        for our, theirs in preset.names.items():
            ours.setdefault(theirs, our)
    out = {}
    for j, name in enumerate(joint_names):
        our = name if name in unity else ours.get(name)
        if our in unity:
            out[j] = unity[our]
    return out


# --- OSC ----------------------------------------------------------------------------------------


def _osc_string(s: str) -> bytes:
    raw = s.encode("utf-8") + b"\0"
    return raw + b"\0" * (-len(raw) % 4)


def osc_message(address: str, *args) -> bytes:
    """One OSC message; arguments are str (s), float (f, float32) or int (i, int32)."""
    tags, data = ",", []
    for a in args:
        if isinstance(a, str):
            tags += "s"
            data.append(_osc_string(a))
        elif isinstance(a, (bool, int, np.integer)):
            tags += "i"
            data.append(struct.pack(">i", int(a)))
        else:
            tags += "f"
            data.append(struct.pack(">f", float(a)))
    return _osc_string(address) + _osc_string(tags) + b"".join(data)


def osc_bundle(messages, timetag: int = 1) -> bytes:
    """An OSC bundle of ``messages`` (time tag 1: immediately)."""
    return b"#bundle\0" + struct.pack(">Q", timetag) + b"".join(struct.pack(">i", len(m)) + m for m in messages)


class VMCSender:
    """Send :class:`LiveFrame` objects as VMC bundles over UDP (see the module doc)."""

    def __init__(self, host: str = "127.0.0.1", port: int = MARIONETTE_PORT):
        self.host, self.port = host, int(port)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self._start = time.monotonic()
        self._skeleton: LiveSkeleton | None = None
        self._bones: list[tuple[int, str, np.ndarray]] = []
        self.sent = self.dropped = 0

    def _bind(self, skeleton: LiveSkeleton) -> None:
        names = humanoid_names(skeleton.joint_names)
        offsets = to_unity_position(skeleton.offsets)
        self._bones = [(j, names[j], offsets[j]) for j in sorted(names)]
        self._root_index = int(np.flatnonzero(np.asarray(skeleton.parents) < 0)[0])
        self._skeleton = skeleton

    def bundle(self, skeleton: LiveSkeleton, frame: LiveFrame) -> bytes:
        """The bundle of one frame."""
        if skeleton is not self._skeleton:
            self._bind(skeleton)
        q = to_unity_quaternion(frame.rotations)
        root = to_unity_position(frame.root)
        messages = [osc_message("/VMC/Ext/Root/Pos", "root", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)]
        for j, name, offset in self._bones:
            p = root if j == self._root_index else offset
            messages.append(osc_message("/VMC/Ext/Bone/Pos", name, *p, *q[j]))
        messages.append(osc_message("/VMC/Ext/OK", 1, 3, 0))
        messages.append(osc_message("/VMC/Ext/T", time.monotonic() - self._start))
        return osc_bundle(messages)

    def send(self, skeleton: LiveSkeleton, frame: LiveFrame) -> bool:
        try:
            self._sock.sendto(self.bundle(skeleton, frame), (self.host, self.port))
        except (BlockingIOError, InterruptedError):
            self.dropped += 1
            return False
        except OSError:  # no route, or nobody listening (ICMP refused on some systems)
            self.dropped += 1
            return False
        self.sent += 1
        return True

    def close(self) -> None:
        self._sock.close()

    def describe(self) -> str:
        return f"VMC to {self.host}:{self.port}: {self.sent} frames sent, {self.dropped} dropped"

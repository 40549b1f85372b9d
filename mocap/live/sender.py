"""The add-on's stream: frames over TCP in the wire protocol of :mod:`blender_addon.protocol`.

:class:`StreamSender` never waits for the receiver. The socket is non-blocking; a frame that
finds the previous one still not fully written (the receiver, or the network, is slower than the
frames) is **dropped**, not queued, so what arrives is always recent. The skeleton message is never
dropped: it goes first on every (re)connection and whenever the skeleton changes. Without a
receiver, frames are dropped and a reconnection is tried at most once per ``retry`` seconds
(connecting waits at most ``connect_timeout``), so ``mocap live`` can start before Blender.
"""

from __future__ import annotations

import socket
import time

from blender_addon import protocol
from mocap.errors import SettingsError
from mocap.live.frames import LiveFrame, LiveSkeleton

SEND_BUFFER = 1 << 16


def parse_address(text: str, default_port: int = protocol.DEFAULT_PORT) -> tuple[str, int]:
    """``HOST:PORT`` (or ``HOST``, or ``:PORT``, or ``[v6]:PORT``) -> (host, port)."""
    text = str(text).strip()
    host, port = text, default_port
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        port = int(port)
    except ValueError:
        raise SettingsError(f"bad address {text!r}: the port must be a number (HOST:PORT)") from None
    if not 0 < port < 65536:
        raise SettingsError(f"bad address {text!r}: port {port} is not in 1..65535")
    return host or "127.0.0.1", port


class StreamSender:
    """Send :class:`LiveFrame` objects to the add-on's receiver; see the module doc."""

    def __init__(self, host: str = "127.0.0.1", port: int = protocol.DEFAULT_PORT, *, connect_timeout: float = 0.5,
                 retry: float = 1.0):
        self.host, self.port = host, int(port)
        self.connect_timeout, self.retry = connect_timeout, retry
        self.sent = self.dropped = self.connections = 0
        self._sock: socket.socket | None = None
        self._pending = b""
        self._sequence = 0
        self._skeleton: LiveSkeleton | None = None
        self._skeleton_payload = b""
        self._skeleton_id = 0
        self._needs_skeleton = True
        self._last_try = -1e9

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def _connect(self) -> bool:
        now = time.monotonic()
        if now - self._last_try < self.retry:
            return False
        self._last_try = now
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError:
            return False
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # A small send buffer: when the receiver stalls, frames are dropped here rather than
        # piling up (~20 frames of a 60-joint pose with keypoints) in the kernel.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        sock.setblocking(False)
        self._sock, self._pending, self._needs_skeleton = sock, b"", True
        self._sequence = 0
        self.connections += 1
        return True

    def _disconnect(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock, self._pending = None, b""

    def _peer_closed(self) -> bool:
        """Whether the receiver closed its end (it never writes to us, so anything readable is the end)."""
        try:
            return self._sock.recv(1) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True

    def _flush(self) -> bool:
        """Write what is pending; True when nothing is left."""
        while self._pending:
            try:
                n = self._sock.send(self._pending)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                self._disconnect()
                return False
            self._pending = self._pending[n:]
        return True

    def _next(self) -> int:
        self._sequence = (self._sequence + 1) & 0xFFFFFFFF
        return self._sequence

    def set_skeleton(self, skeleton: LiveSkeleton) -> None:
        if skeleton is self._skeleton:  # the same skeleton every frame: nothing to encode or compare
            return
        payload = protocol.skeleton_payload(skeleton.joint_names, skeleton.parents, skeleton.offsets,
                                            subject=skeleton.subject, keypoint_names=skeleton.keypoint_names)
        if payload != self._skeleton_payload:
            self._skeleton, self._skeleton_payload = skeleton, payload
            self._skeleton_id = protocol.skeleton_id(payload)
            self._needs_skeleton = True

    def send(self, skeleton: LiveSkeleton, frame: LiveFrame) -> bool:
        """Send one frame (after the skeleton, when due); False when it was dropped."""
        self.set_skeleton(skeleton)
        if self._sock is not None and self._peer_closed():
            self._disconnect()
        if self._sock is None and not self._connect():
            self.dropped += 1
            return False
        if not self._flush():  # the previous frame is still on its way: drop this one
            self.dropped += 1
            return False
        if self._needs_skeleton:
            s = self._skeleton
            self._pending = protocol.encode_skeleton(s.joint_names, s.parents, s.offsets, subject=s.subject,
                                                     keypoint_names=s.keypoint_names, sequence=self._next(),
                                                     timestamp=frame.timestamp, fps=frame.fps)
            self._needs_skeleton = False
        self._pending += protocol.encode_pose(self._skeleton_id, frame.root, frame.rotations, keypoints=frame.keypoints,
                                              subject=skeleton.subject, frame_index=frame.frame_index,
                                              sequence=self._next(), timestamp=frame.timestamp, fps=frame.fps)
        self._flush()
        if self._sock is None:  # the write failed: the receiver went away
            self.dropped += 1
            return False
        self.sent += 1
        return True

    def close(self, linger: float = 1.0) -> None:
        """Finish writing what is pending (at most ``linger`` seconds), then close."""
        end = time.monotonic() + linger
        while self._sock is not None and self._pending and time.monotonic() < end:
            if not self._flush():
                time.sleep(0.001)
        self._disconnect()

    def describe(self) -> str:
        return f"add-on stream to {self.host}:{self.port}: {self.sent} frames sent, {self.dropped} dropped"

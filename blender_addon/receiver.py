"""The live receiver's socket side: non-blocking, bounded per call, newest frame wins.

Pure standard library + numpy (no bpy), so it can be tested and benchmarked outside Blender;
:mod:`.live` drives it from a ``bpy.app.timers`` callback.

:meth:`Receiver.poll` accepts waiting connections, then reads every connection until its kernel
buffer is empty or the call's time budget (default 2 ms) is spent, decoding with
:class:`.protocol.StreamDecoder`. It returns every valid pose decoded, in arrival order, and the
newest per subject; the caller applies only the newest and may record the rest. Everything that
is not a valid frame is counted in :attr:`Receiver.counts`:

* the decoder's problems (:data:`.protocol.PROBLEMS`: garbage, oversized, bad_version,
  bad_checksum, truncated, malformed, unknown_kind; a connection closing inside a message is
  truncated);
* ``out_of_order``: a pose whose sequence number is not above the last one of its connection;
* ``unknown_skeleton``: a pose whose skeleton was never received, or whose joint or keypoint
  count differs from it;
* ``rejected_clients``: connections refused because ``max_clients`` are already open.

Binding: loopback by default. Another interface (``0.0.0.0``, a LAN address) is refused unless
``allow_remote`` is set, since anyone who can reach the port can drive the armature.
"""

from __future__ import annotations

import collections
import ipaddress
import socket
import time
from dataclasses import dataclass, field

from .protocol import DEFAULT_PORT, PROBLEMS, Header, Pose, ProtocolError, Skeleton, StreamDecoder

COUNTERS = PROBLEMS + ("out_of_order", "unknown_skeleton", "rejected_clients")
_READ_SIZE = 1 << 16


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Frame:
    """A valid pose with what it came with: its header, its skeleton and when it arrived
    (``time.time()`` of this machine)."""

    header: Header
    pose: Pose
    skeleton: Skeleton
    arrival: float

    @property
    def latency(self) -> float:
        """Seconds from the sender's capture timestamp to arrival (meaningful on one machine)."""
        return self.arrival - self.header.timestamp


@dataclass
class PollResult:
    frames: list = field(default_factory=list)  # every valid Frame this call, in arrival order
    newest: dict = field(default_factory=dict)  # subject -> newest Frame
    seconds: float = 0.0  # time the call took
    budget_spent: bool = False  # stopped reading because the budget ran out


class _Client:
    def __init__(self, sock: socket.socket, address):
        self.sock, self.address = sock, address
        self.decoder = StreamDecoder()
        self.last_sequence: int | None = None


class Receiver:
    """A TCP listener for :mod:`.protocol` streams; see the module doc."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, allow_remote: bool = False,
                 max_clients: int = 8, rate_window: float = 1.0):
        if not is_loopback(host) and not allow_remote:
            raise PermissionError(f"listening on {host} lets other machines drive Blender; "
                                  "enable 'Allow remote senders' to bind to a non-loopback interface")
        if not 0 <= int(port) <= 65535:
            raise ValueError(f"port must be 0..65535, got {port}")
        self.host, self.port, self.max_clients = host, int(port), max_clients
        self.counts = dict.fromkeys(COUNTERS, 0)
        self.frames_received = 0
        self.skeletons: dict[int, Skeleton] = {}  # id -> skeleton (the newest 64)
        self.last: Frame | None = None
        self._arrivals: collections.deque = collections.deque()
        self._rate_window = rate_window
        self._clients: list[_Client] = []
        self._server: socket.socket | None = None

    # -- lifecycle --

    def start(self) -> "Receiver":
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        server = socket.socket(family, socket.SOCK_STREAM)
        try:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind((self.host, self.port))
            server.listen(self.max_clients)
            server.setblocking(False)
        except OSError:
            server.close()
            raise
        self._server = server
        self.port = server.getsockname()[1]  # the real one when 0 asked for any free port
        return self

    def stop(self) -> None:
        for c in self._clients:
            c.sock.close()
        self._clients.clear()
        if self._server is not None:
            self._server.close()
            self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def n_clients(self) -> int:
        return len(self._clients)

    def __enter__(self):
        return self.start() if not self.running else self

    def __exit__(self, *exc):
        self.stop()

    # -- status --

    def rate(self, now: float | None = None) -> float:
        """Valid frames per second over the last ``rate_window`` seconds."""
        now = time.time() if now is None else now
        while self._arrivals and self._arrivals[0] < now - self._rate_window:
            self._arrivals.popleft()
        return len(self._arrivals) / self._rate_window

    def status(self, now: float | None = None) -> str:
        """One line: frames/s received, age of the last frame, its latency, problems counted."""
        now = time.time() if now is None else now
        if not self.running:
            return "stopped"
        where = f"{self.host}:{self.port}"
        if self.last is None:
            return f"listening on {where}, {self.n_clients} sender(s), no frames yet"
        problems = sum(v for k, v in self.counts.items() if k != "rejected_clients")
        return (f"{self.rate(now):.0f} fps, last frame {1000 * (now - self.last.arrival):.0f} ms ago "
                f"(latency {1000 * self.last.latency:.0f} ms), {self.frames_received} received, "
                f"{problems} bad")

    # -- reading --

    def _accept(self) -> None:
        while True:
            try:
                sock, address = self._server.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if len(self._clients) >= self.max_clients:
                self.counts["rejected_clients"] += 1
                sock.close()
                continue
            sock.setblocking(False)
            self._clients.append(_Client(sock, address))

    def _handle(self, client: _Client, items: list, result: PollResult, now: float) -> None:
        for item in items:
            if isinstance(item, ProtocolError):
                self.counts[item.kind] += 1
                continue
            header, body = item.header, item.body
            if client.last_sequence is not None and header.sequence <= client.last_sequence:
                self.counts["out_of_order"] += 1
                continue
            client.last_sequence = header.sequence
            if isinstance(body, Skeleton):
                self.skeletons[body.id] = body
                while len(self.skeletons) > 64:
                    self.skeletons.pop(next(iter(self.skeletons)))
                continue
            skeleton = self.skeletons.get(body.skeleton_id)
            if (skeleton is None or skeleton.subject != body.subject or len(skeleton.joint_names) != len(body.rotations)
                    or (body.keypoints is not None and len(body.keypoints) != len(skeleton.keypoint_names))):
                self.counts["unknown_skeleton"] += 1
                continue
            frame = Frame(header, body, skeleton, now)
            result.frames.append(frame)
            result.newest[body.subject] = frame
            self.frames_received += 1
            self._arrivals.append(now)
            self.last = frame

    def poll(self, budget: float = 0.002) -> PollResult:
        """Read what is waiting, within ``budget`` seconds; see the module doc."""
        start = time.perf_counter()
        result = PollResult()
        if self._server is None:
            return result
        self._accept()
        closed = []
        for client in list(self._clients):
            while True:
                if time.perf_counter() - start > budget:
                    result.budget_spent = True
                    break
                try:
                    data = client.sock.recv(_READ_SIZE)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    data = b""
                if not data:  # the sender closed (or reset) the connection
                    problem = client.decoder.close()
                    if problem is not None:
                        self.counts[problem.kind] += 1
                    closed.append(client)
                    break
                self._handle(client, client.decoder.feed(data), result, time.time())
            if result.budget_spent:
                break
        for client in closed:
            client.sock.close()
            self._clients.remove(client)
        result.seconds = time.perf_counter() - start
        return result

"""The live wire protocol (blender_addon.protocol) and the receiver's socket side (blender_addon.receiver),
outside Blender: exact round trips, a stream decoder that survives whatever arrives, and a receiver
on real loopback sockets that counts every kind of bad input and keeps the good frames."""

import socket
import struct
import time
import zlib

import numpy as np
import pytest

from blender_addon import protocol as P
from blender_addon.receiver import COUNTERS, Receiver, is_loopback

NAMES = ("root", "spine", "head", "arm")
PARENTS = np.array([-1, 0, 1, 1])
OFFSETS = np.array([[0, 0, 0.9], [0, 0, 0.2], [0, 0, 0.3], [0.2, 0, 0.25]])
KP_NAMES = ("a", "b", "c")


def skeleton_message(sequence=1, **kw):
    return P.encode_skeleton(NAMES, PARENTS, OFFSETS, keypoint_names=KP_NAMES, sequence=sequence, timestamp=10.0,
                             fps=60.0, **kw)


SKELETON_ID = P.skeleton_id(P.skeleton_payload(NAMES, PARENTS, OFFSETS, keypoint_names=KP_NAMES))


def pose_message(i, sequence=None, keypoints=True, skeleton=SKELETON_ID):
    rng = np.random.default_rng(i)
    q = rng.normal(size=(4, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    kp = rng.normal(size=(3, 3)) if keypoints else None
    if kp is not None:
        kp[1] = np.nan
    return P.encode_pose(skeleton, [i * 0.01, 0, 1], q, keypoints=kp, frame_index=100 + i,
                         sequence=2 + i if sequence is None else sequence, timestamp=10.0 + i / 60, fps=60.0), q, kp


def test_skeleton_and_pose_round_trip():
    msg = P.StreamDecoder().feed(skeleton_message())
    assert len(msg) == 1 and isinstance(msg[0], P.Message)
    h, s = msg[0].header, msg[0].body
    assert (h.version, h.kind, h.sequence, h.timestamp, h.fps) == (1, P.KIND_SKELETON, 1, 10.0, 60.0)
    assert s.joint_names == NAMES and s.keypoint_names == KP_NAMES and np.array_equal(s.parents, PARENTS)
    assert np.abs(s.offsets - OFFSETS).max() < 1e-7 and s.id == SKELETON_ID
    assert np.allclose(s.rest_positions()[3], [0.2, 0, 1.35])
    data, q, kp = pose_message(5)
    (m,) = P.StreamDecoder().feed(data)
    pose = m.body
    assert m.header.kind == P.KIND_POSE and m.header.sequence == 7 and abs(m.header.timestamp - (10 + 5 / 60)) < 1e-12
    assert pose.skeleton_id == SKELETON_ID and pose.frame_index == 105 and pose.subject == 0
    assert np.abs(pose.rotations - q).max() < 1e-7 and np.abs(pose.root - [0.05, 0, 1]).max() < 1e-7
    assert np.isnan(pose.keypoints[1]).all() and np.abs(pose.keypoints[[0, 2]] - kp[[0, 2]]).max() < 1e-6
    # The header is the documented 32 bytes; the CRC covers header bytes 0-27 and the payload.
    assert P.HEADER.size == 32 and data[:4] == b"MOCP"
    assert struct.unpack_from("<I", data, 28)[0] == zlib.crc32(data[32:], zlib.crc32(data[:28]))


def test_encoder_refuses_what_a_receiver_would_reject():
    with pytest.raises(ValueError, match="parents"):
        P.encode_skeleton(NAMES, [0, 0, 1, 1], OFFSETS)
    with pytest.raises(ValueError, match="bytes of UTF-8"):
        P.encode_skeleton(("x" * 64,), [-1], [[0, 0, 0]])
    with pytest.raises(ValueError, match="1 to 512 joints"):
        P.encode_skeleton(tuple(f"j{i}" for i in range(513)), np.arange(-1, 512), np.zeros((513, 3)))


def test_decoder_reassembles_any_chunking():
    stream = skeleton_message() + b"".join(pose_message(i)[0] for i in range(20))
    rng = np.random.default_rng(1)
    for sizes in ([1] * len(stream), rng.integers(1, 200, size=len(stream))):
        dec, out, pos = P.StreamDecoder(), [], 0
        for n in sizes:
            if pos >= len(stream):
                break
            out += dec.feed(stream[pos:pos + int(n)])
            pos += int(n)
        assert [type(m) for m in out] == [P.Message] * 21
        assert [m.body.frame_index for m in out[1:]] == list(range(100, 120))
        assert dec.close() is None


def _bad_payload_message(kind, payload, version=P.VERSION, sequence=50):
    head = P.HEADER.pack(P.MAGIC, version, kind, 0, len(payload), sequence, 0.0, 0.0, 0)[:28]
    return head + struct.pack("<I", zlib.crc32(payload, zlib.crc32(head))) + payload


def bad_packets():
    """Every kind of bad input, in an order where each is recognised for what it is (the truncated
    message is cut short by the next, valid-CRC message); returns (parts, expected problem counts)."""
    wrong_version = _bad_payload_message(P.KIND_POSE, b"\0" * 40, version=7)
    oversized = P.HEADER.pack(P.MAGIC, 1, P.KIND_POSE, 0, P.MAX_MESSAGE, 0, 0.0, 0.0, 0)
    corrupted = bytearray(pose_message(99, sequence=90)[0])
    corrupted[40] ^= 0xFF
    truncated = pose_message(98, sequence=91)[0][:-30]
    malformed = _bad_payload_message(P.KIND_POSE, b"\x01\x00" * 10)  # counts that do not fit the length
    payload = bytearray(pose_message(97, sequence=92)[0][32:])
    payload[20:24] = struct.pack("<f", float("nan"))  # a NaN root translation
    nan_pose = _bad_payload_message(P.KIND_POSE, bytes(payload), sequence=93)
    unknown = _bad_payload_message(9, b"hello")
    garbage = b"\x00garbage, not a message at all\xff" * 3
    parts = [garbage, wrong_version, oversized, bytes(corrupted), truncated, malformed, nan_pose, unknown]
    expected = {"garbage": 1, "bad_version": 1, "oversized": 1, "bad_checksum": 1, "truncated": 1, "malformed": 2,
                "unknown_kind": 1}
    return parts, expected


def burst():
    """The bad packets between valid frames; returns (bytes, expected problem counts)."""
    bad, expected = bad_packets()
    good = [pose_message(i)[0] for i in range(8)]
    parts = [skeleton_message(), good[0]]
    for k, b in enumerate(bad):
        parts.append(b)
        if k != 4:  # the truncated message is followed straight by the malformed one
            parts.append(good.pop(1) if len(good) > 2 else b"")
    parts += good[1:]
    return b"".join(parts), expected


def test_decoder_survives_a_burst_of_bad_input_and_keeps_every_valid_message():
    data, expected = burst()
    for chunk in (len(data), 7):
        dec, out = P.StreamDecoder(), []
        for a in range(0, len(data), chunk):
            out += dec.feed(data[a:a + chunk])
        frames = [m.body.frame_index for m in out if isinstance(m, P.Message) and m.header.kind == P.KIND_POSE]
        assert frames == list(range(100, 108)), chunk
        counts = {}
        for e in out:
            if isinstance(e, P.ProtocolError):
                counts[e.kind] = counts.get(e.kind, 0) + 1
        # Bytes skipped while searching for the next message count once per stretch.
        assert counts.pop("garbage", 0) >= 1
        assert counts == {k: v for k, v in expected.items() if k != "garbage"}, chunk
        assert len(dec._buf) < P.MAX_MESSAGE


def test_decoder_never_buffers_more_than_one_message():
    dec = P.StreamDecoder()
    rng = np.random.default_rng(0)
    for _ in range(40):  # 40 MB of random bytes with a magic now and then
        block = bytearray(rng.integers(0, 256, size=1 << 20, dtype=np.uint8).tobytes())
        block[1000:1004] = P.MAGIC
        dec.feed(bytes(block))
        assert len(dec._buf) <= P.MAX_MESSAGE + (1 << 20)
    assert dec.bytes_skipped > 30 * (1 << 20)


def _connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _poll_until(rx, cond, timeout=3.0):
    frames = []
    end = time.time() + timeout
    while time.time() < end:
        frames += rx.poll().frames
        if cond(frames):
            break
        time.sleep(0.002)
    return frames


def test_receiver_counts_bad_input_on_a_real_socket_and_applies_the_valid_frames():
    data, expected = burst()
    with Receiver("127.0.0.1", 0) as rx:
        s = _connect(rx.port)
        s.sendall(data)
        # Out of order (sequence below the last), a pose of a skeleton never sent, and a pose
        # whose keypoint count does not match its skeleton.
        s.sendall(pose_message(50, sequence=3)[0] + pose_message(51, sequence=200, skeleton=12345)[0])
        q = np.tile([1.0, 0, 0, 0], (4, 1))
        s.sendall(P.encode_pose(SKELETON_ID, [0, 0, 0], q, keypoints=np.zeros((5, 3)), sequence=201, frame_index=1))
        s.sendall(pose_message(60, sequence=300)[0])
        frames = _poll_until(rx, lambda f: any(x.pose.frame_index == 160 for x in f))
        # A second sender disconnects in the middle of a frame.
        s2 = _connect(rx.port)
        s2.sendall(skeleton_message() + pose_message(0)[0][:50])
        s2.close()
        _poll_until(rx, lambda f: rx.counts["truncated"] >= 2)
        s.close()
        assert [f.pose.frame_index for f in frames] == list(range(100, 108)) + [160]
        assert all(f.skeleton.joint_names == NAMES for f in frames)
        want = dict.fromkeys(COUNTERS, 0)
        want.update(expected, out_of_order=1, unknown_skeleton=2)
        want["truncated"] += 1  # the disconnecting sender
        got = dict(rx.counts)
        assert got.pop("garbage") >= 1 and want.pop("garbage")
        assert got == want
        assert rx.frames_received == 9


def test_receiver_drains_a_backlog_within_its_budget_and_gives_the_newest():
    with Receiver("127.0.0.1", 0) as rx:
        s = _connect(rx.port)
        s.sendall(skeleton_message() + b"".join(pose_message(i)[0] for i in range(300)))
        time.sleep(0.2)
        newest, polls = None, 0
        while newest is None or newest.pose.frame_index < 399:
            r = rx.poll(budget=0.002)
            polls += 1
            # A poll stops reading once its budget is spent (it may finish the read in hand).
            assert r.seconds < 0.05
            if r.newest:
                newest = r.newest[0]
                assert newest is r.frames[-1]
            assert polls < 1000
        assert rx.frames_received == 300
        s.close()


def test_receiver_binds_loopback_unless_remote_is_allowed():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    with pytest.raises(PermissionError, match="Allow remote senders"):
        Receiver("0.0.0.0", 0)
    rx = Receiver("0.0.0.0", 0, allow_remote=True).start()
    assert rx.running and rx.port > 0
    rx.stop()


def test_receiver_refuses_clients_beyond_its_limit():
    with Receiver("127.0.0.1", 0, max_clients=2) as rx:
        socks = [_connect(rx.port) for _ in range(3)]
        _poll_until(rx, lambda f: rx.counts["rejected_clients"] >= 1, timeout=1.0)
        assert rx.n_clients == 2 and rx.counts["rejected_clients"] == 1
        for s in socks:
            s.close()

"""Recording: video files standing in for cameras, a real SIGINT, real local stream servers."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from mocap.errors import OutputError
from mocap.record import read_timestamps, record
from mocap.sync import sync_session
from mocap.video import VideoReader

SIZE = (160, 120)


def _frame(t: int, shade: int = 0) -> np.ndarray:
    """Frame t (< 320) carries its number in two flat blocks, 16 and 12 grey levels a step, which
    survive compression."""
    img = np.full((SIZE[1], SIZE[0], 3), shade, np.uint8)
    img[:40, :40] = (t % 16) * 16
    img[:40, 60:100] = (t // 16) * 12
    return img


def _number(frame: np.ndarray) -> int:
    low = int(round(frame[8:32, 8:32].mean() / 16))
    high = int(round(frame[8:32, 68:92].mean() / 12))
    return high * 16 + low


def _shown(t: int, repeat=()) -> int:
    """The image frame t shows: frames in ``repeat`` show the image before the run again."""
    while t in repeat:
        t -= 1
    return t


def _write_video(path, n_frames, fps=30, repeat=()):
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, SIZE)
    for t in range(n_frames):
        vw.write(_frame(_shown(t, repeat), shade=40))
    vw.release()
    return path


def _numbers(video) -> list[int]:
    return [_number(f) for _, f in VideoReader(video).frames()]


@pytest.fixture(scope="module")
def camera_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cameras")
    # Camera b repeats three frames (a camera delivering the same image again): 3 duplicates.
    return (_write_video(folder / "a.avi", 90), _write_video(folder / "b.avi", 90, repeat=(30, 31, 32)),
            _write_video(folder / "long.avi", 300))


def _cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "mocap.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120, **kwargs)


def test_two_files_as_cameras_for_three_seconds(camera_files, tmp_path):
    a, b, _ = camera_files
    result = record(tmp_path / "s", [a, b], duration=3.0, progress=False)
    assert not result.interrupted and [c.name for c in result.cameras] == ["a", "b"]
    starts = []
    for cam in result.cameras:
        assert cam.frames == 90 and cam.dropped == 0 and cam.size == SIZE and cam.fps == 30
        assert cam.video == tmp_path / "s" / "videos" / f"{cam.name}.mp4"
        expected = [_shown(t, () if cam.name == "a" else (30, 31, 32)) for t in range(90)]
        assert _numbers(cam.video) == expected  # every frame, in order
        t = read_timestamps(cam.timestamps)  # frames 0..89, strictly increasing (checked on reading)
        assert len(t) == 90
        # Played at its own rate. (A grab the busy machine delayed shows as a long step and a
        # short one: the source keeps a few frames for a late reader, as a camera driver does.)
        assert abs(np.median(np.diff(t)) / 1e6 - 1000 / 30) < 2
        assert abs((t[-1] - t[0]) / 1e9 - 89 / 30) < 0.1
        starts.append(t[0])
    assert result.cameras[0].duplicated == 0 and result.cameras[1].duplicated == 3
    assert abs(starts[0] - starts[1]) < 30e6  # one clock, one start: within a frame
    summary = json.loads(result.summary.read_text())
    assert [c["frames"] for c in summary["cameras"]] == [90, 90]
    assert [c["duplicated"] for c in summary["cameras"]] == [0, 3]
    assert not [p for p in (tmp_path / "s" / "videos").iterdir() if p.name.startswith(".")]  # no leftovers
    # The recording synchronizes from its own timestamps: both started together.
    sync = sync_session(tmp_path / "s")
    assert sync.method == "timestamps" and abs(sync.camera("b").offset) < 0.5 and sync.camera("b").confidence > 0.5
    assert sync.start_frames == {"a": 0, "b": 0}


def test_sigint_after_one_second_leaves_playable_files(camera_files, tmp_path):
    _, _, long = camera_files
    videos = tmp_path / "s" / "videos"
    proc = subprocess.Popen([sys.executable, "-m", "mocap.cli", "record", tmp_path / "s", "--cameras", long, long,
                             "--names", "left", "right", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (videos.is_dir() and any(p.name.startswith(".left") for p in videos.iterdir())):
        time.sleep(0.05)  # recording has begun once the first frame's file is open
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped by Ctrl-C" in out
    for name in ("left", "right"):
        frames = _numbers(videos / f"{name}.mp4")
        t = read_timestamps(videos / f"{name}_timestamps.csv")
        assert frames == list(range(len(frames))) and len(t) == len(frames)
        assert 20 <= len(frames) <= 60  # about one second at 30 fps
        assert VideoReader(videos / f"{name}.mp4").info.n_frames == len(frames)
    assert not [p for p in videos.iterdir() if p.name.startswith(".")]


def test_size_and_fps(camera_files, tmp_path):
    a, _, _ = camera_files
    result = record(tmp_path / "s", [a], names=["small"], fps=60, size=(80, 60), duration=0.5, progress=False)
    cam = result.cameras[0]
    info = VideoReader(cam.video).info
    assert (info.width, info.height) == (80, 60) and cam.fps == 60
    assert 24 <= cam.frames <= 31  # half a second of a file played at 60 fps
    assert abs(np.median(np.diff(read_timestamps(cam.timestamps))) / 1e6 - 1000 / 60) < 2
    with pytest.raises(OutputError, match="already holds a recording"):
        record(tmp_path / "s", [a], names=["small"], duration=0.2, progress=False)


def test_device_index_that_does_not_open(tmp_path):
    out = _cli("record", tmp_path / "s", "--cameras", "57", "--duration", "1")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("mocap: error: 57: camera device does not open")
    assert not list((tmp_path / "s" / "videos").iterdir())


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for c in held:
        c.close()
    server.close()


def test_stream_that_never_delivers(silent_server, tmp_path):
    url = f"http://127.0.0.1:{silent_server}/video"
    started = time.time()
    out = _cli("record", tmp_path / "s", "--cameras", url, "--timeout", "1.5", "--duration", "2")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"{url}: the stream did not deliver within 1.5 s" in out.stderr
    assert time.time() - started < 30
    assert not list((tmp_path / "s" / "videos").iterdir())


class _MJPEGServer:
    """A real HTTP MJPEG stream (multipart/x-mixed-replace) at 30 fps. Its first connection ends
    after ``first`` frames; the next is answered only after ``pause`` seconds (the camera is
    away), then streams until the client leaves."""

    def __init__(self, first=30, pause=0.7):
        self.first, self.pause = first, pause
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.server.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn, self.connections), daemon=True).start()

    def _serve(self, conn, number):
        try:
            conn.recv(4096)
            if number > 1:
                time.sleep(self.pause)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n")
            t = 0
            while not self.stop.is_set() and (number > 1 or t < self.first):
                jpg = cv2.imencode(".jpg", _frame(t))[1].tobytes()
                conn.sendall(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpg) + jpg
                             + b"\r\n")
                t += 1
                time.sleep(1 / 30)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.server.close()


def test_camera_failing_mid_recording_is_reported_and_the_others_go_on(camera_files, tmp_path):
    _, _, long = camera_files
    server = _MJPEGServer(first=30, pause=0.7)
    try:
        result = record(tmp_path / "s", [long, f"http://127.0.0.1:{server.port}/cam.mjpg"], names=["file", "net"],
                        fps=30, duration=2.5, timeout=3, progress=False)
    finally:
        server.close()
    file_cam, net = result.cameras
    assert file_cam.frames == 75 and file_cam.dropped == 0 and not file_cam.failures  # went on, every frame
    assert len(net.failures) == 1 and net.failures[0].startswith("no frame at ")
    assert "delivering again at" in net.failures[0]
    lost = float(net.failures[0].split("no frame at ")[1].split(" s")[0])
    assert 0.6 < lost < 1.6  # the stream ended after its first second
    t = read_timestamps(net.timestamps)
    gap = np.diff(t).max() / 1e9
    assert gap > 0.6  # the outage shows in its timestamps ...
    assert net.dropped >= 15  # ... and counts as dropped frames (0.7 s or more at 30 fps)
    assert net.frames == len(t) == VideoReader(net.video).info.n_frames

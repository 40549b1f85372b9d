"""The camera layer both `mocap record` and `mocap live` stand on: specs told apart, the open
time-out against a real local server that accepts and never sends, a real MJPEG stream stamped
at the middle of its grabs, and a real video file played at its rate with its own frame numbers."""

import time

import cv2
import numpy as np
import pytest

from mocap.cameras import Camera, Clock, VideoFile, default_name, kind_of, open_all, open_source
from mocap.errors import InputFileError
from test_record import _frame, _MJPEGServer, _number, silent_server  # noqa: F401 (a fixture)


def test_specs_are_told_apart_and_named():
    kinds = {"0": "device", "12": "device", "/dev/video2": "device", "rtsp://10.0.0.5:554/stream": "stream",
             "http://127.0.0.1:8080/video": "stream", "srt+udp://host:9000": "stream", "left.mp4": "file",
             "clips/cam1.avi": "file", "C:/takes/a.mp4": "file", "odd:/name.mp4": "file"}
    assert {spec: kind_of(spec) for spec in kinds} == kinds
    assert [default_name(s, i) for i, s in enumerate(["0", "/dev/video2", "rtsp://h/stream", "rtsp://h2/stream",
                                                      "clips/cam1.avi"])] == ["cam0", "cam2", "stream2", "stream3",
                                                                              "cam1"]
    with pytest.raises(InputFileError, match="^nope.mp4: not a camera index, a stream URL or an existing video"):
        open_source("nope.mp4")


def test_a_stream_that_accepts_and_never_sends_fails_in_its_time_out(silent_server, tmp_path):  # noqa: F811
    urls = [f"http://127.0.0.1:{silent_server}/{name}" for name in ("a", "b")]
    started = time.monotonic()
    with pytest.raises(InputFileError) as err:
        open_source(urls[0], timeout=1.0)
    one = time.monotonic() - started
    assert str(err.value).startswith(f"{urls[0]}: the stream did not deliver within 1 s")
    assert 0.9 < one < 6
    # Opened together with a good source: the silent stream's error, within its time-out (OpenCV's
    # FFmpeg backend opens one stream at a time: two silent ones would cost two).
    clip = tmp_path / "ok.avi"
    _write_clip(clip, 5)
    started = time.monotonic()
    with pytest.raises(InputFileError, match=f"^{urls[1]}: the stream did not deliver within 2 s"):
        open_all([clip, urls[1]], timeout=2.0)
    both = time.monotonic() - started
    print(f"\nsilent stream: time-out 1 s failed in {one:.2f} s; with a file, time-out 2 s: {both:.2f} s")
    assert 1.9 < both < 7


def test_stream_frames_are_numbered_and_stamped_at_the_middle_of_their_grab():
    server = _MJPEGServer(first=10_000)
    try:
        camera = open_source(f"http://127.0.0.1:{server.port}/cam.mjpg", timeout=3)
        assert isinstance(camera, Camera) and camera.kind == "stream" and camera.name == "stream0"
        frames, windows = [], []
        for _ in range(8):
            before = time.monotonic_ns()
            frames.append(camera.grab())
            windows.append((before, time.monotonic_ns()))
        camera.close()
    finally:
        server.close()
    assert [f.index for f in frames] == list(range(8))
    shown = [_number(f.image) for f in frames]
    assert np.all(np.diff(shown) >= 1)  # the server's frames, in order, none twice
    # The first frame was grabbed while opening; every later one inside the call that returned it.
    assert all(lo <= f.t_ns <= hi for f, (lo, hi) in zip(frames[1:], windows[1:]))
    steps = np.diff([f.t_ns for f in frames[1:]]) / 1e6
    assert abs(np.median(steps) - 1000 / 30) < 8  # a 30 fps stream


def _write_clip(path, n, fps=25.0):
    """``n`` frames, each showing its number."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (160, 120))
    for t in range(n):
        w.write(_frame(t))
    w.release()
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return _write_clip(tmp_path_factory.mktemp("clip") / "side.avi", 20)


def test_a_video_file_plays_at_its_rate_with_its_own_frame_numbers(clip):
    video = open_source(clip)
    assert isinstance(video, VideoFile) and video.name == "side" and video.fps == 25.0
    unix = time.time() + 0.05
    clock = Clock.at(unix)
    video.start(clock)
    assert video.due() < 0  # not started yet
    got, due = [], []
    while True:  # every frame, each when it is due
        time.sleep(max(0.0, (video.due_ns(video.next_index) - time.monotonic_ns()) / 1e9))
        due.append(video.due())
        if (frame := video.read_at(video.next_index)) is None:
            break
        got.append(frame)
    assert video.ended and [f.index for f in got] == [_number(f.image) for f in got] == list(range(20))
    # Frame k is due, and stamped, at start + k / 25 s, exactly; on the Unix clock to the last bit.
    assert [f.t_ns - clock.ns for f in got] == [k * 40_000_000 for k in range(20)]
    assert [clock.unix_of(f.t_ns) for f in got] == [unix + k / 25 for k in range(20)]
    lag = np.array(due[:20]) - np.arange(20)  # the frame due when frame k's time came: k (k + 1 if slow)
    assert lag.min() >= 0 and np.median(lag) == 0
    video.close()

    # At another rate, a reader that skips ahead, one behind, and a loop that goes on counting.
    fast = open_source(clip, fps=50, loop=True).start(Clock.at().after(-0.5))
    assert fast.fps == 50 and 25 <= fast.due() < 40
    frame = fast.read_at(fast.due())
    assert frame.index >= 25 and _number(frame.image) == frame.index - 20  # the second time through
    assert frame.t_ns == fast.due_ns(frame.index) == fast.clock.ns + frame.index * 20_000_000
    assert fast.read_at(frame.index - 1) is None and not fast.ended  # never back
    fast.slip(1.0)
    assert fast.due_ns(frame.index) == frame.t_ns + 1_000_000_000
    fast.close()

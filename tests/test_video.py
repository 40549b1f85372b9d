"""The streaming video reader: frame ranges and strides, parallel cameras, bad files."""

import warnings

import cv2
import numpy as np
import pytest

from mocap.errors import InputFileError
from mocap.video import VideoReader, find_videos, read_synchronized


def _write_video(path, n_frames, size=(64, 48), fps=25):
    """An MJPG AVI whose frame t has brightness 8 t in its top-left block (readable back)."""
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert vw.isOpened()
    for t in range(n_frames):
        img = np.zeros((size[1], size[0], 3), np.uint8)
        img[:16, :16] = (8 * t) % 256
        vw.write(img)
    vw.release()
    return path


def _frame_number(frame):
    return int(round(frame[2:14, 2:14].mean() / 8))


def test_reads_info_range_and_stride(tmp_path):
    r = VideoReader(_write_video(tmp_path / "camA.avi", 20))
    assert (r.info.width, r.info.height, r.info.n_frames, r.info.fps) == (64, 48, 20, 25.0)
    assert r.name == "camA"
    got = [(i, _frame_number(f)) for i, f in r.frames(start=3, stop=15, stride=4)]
    assert got == [(3, 3), (7, 7), (11, 11)]
    assert [i for i, _ in r.frames()] == list(range(20))


def test_parallel_cameras_stay_in_step(tmp_path):
    readers = [VideoReader(_write_video(tmp_path / f"c{k}.avi", 12)) for k in range(3)]
    steps = list(read_synchronized(readers, start=1, stop=10, stride=3))
    assert [i for i, _ in steps] == [1, 4, 7]
    for i, frames in steps:
        assert [_frame_number(f) for f in frames] == [i, i, i]


def test_shorter_camera_gives_none(tmp_path):
    readers = [VideoReader(_write_video(tmp_path / "long.avi", 6)), VideoReader(_write_video(tmp_path / "short.avi", 3))]
    steps = list(read_synchronized(readers))
    assert len(steps) == 6
    assert all(f[1] is None for _, f in steps[3:]) and all(f[1] is not None for _, f in steps[:3])


def test_real_video_streams(pose2sim_demo):
    r = VideoReader(pose2sim_demo / "videos" / "cam03.mp4")
    assert (r.info.width, r.info.height, r.info.fps) == (1088, 1920, 60.0)
    frames = list(r.frames(stop=3))
    assert [i for i, _ in frames] == [0, 1, 2] and frames[0][1].shape == (1920, 1088, 3)


def test_missing_empty_and_garbage_files(tmp_path):
    with pytest.raises(InputFileError, match="not found") as e:
        VideoReader(tmp_path / "nope.mp4")
    assert "nope.mp4" in str(e.value)
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(InputFileError, match="empty"):
        VideoReader(tmp_path / "empty.mp4")
    (tmp_path / "text.mp4").write_bytes(b"hello, I am not a video" * 100)
    with pytest.raises(InputFileError, match="not a readable video") as e:
        VideoReader(tmp_path / "text.mp4")
    assert "text.mp4" in str(e.value)


def test_truncated_video(tmp_path, pose2sim_demo):
    # a real mp4 cut to its first 20 kB: its index (moov) is at the end, so nothing decodes
    data = (pose2sim_demo / "videos" / "cam01.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[:20000])
    with pytest.raises(InputFileError, match="not a readable video"):
        VideoReader(tmp_path / "cut.mp4")
    # an AVI cut in the middle still opens, ends early with a warning naming the file
    full = _write_video(tmp_path / "full.avi", 30).read_bytes()
    (tmp_path / "half.avi").write_bytes(full[: len(full) // 2])
    r = VideoReader(tmp_path / "half.avi")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        n = sum(1 for _ in r.frames(stop=30))
    assert 0 < n < 30
    assert any("half.avi" in str(x.message) and "truncated" in str(x.message) for x in w)


def test_find_videos(tmp_path):
    (tmp_path / "videos").mkdir()
    _write_video(tmp_path / "videos" / "b.avi", 2)
    _write_video(tmp_path / "videos" / "a.avi", 2)
    (tmp_path / "videos" / "notes.txt").write_text("x")
    assert [p.name for p in find_videos(tmp_path)] == ["a.avi", "b.avi"]
    assert [p.name for p in find_videos(tmp_path / "videos")] == ["a.avi", "b.avi"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="no video files"):
        find_videos(tmp_path / "empty")

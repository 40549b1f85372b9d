"""Synchronization applied by `mocap run`: synthetic sessions whose cameras started 0, 7 and 13 frames
late, through the real 2D path (MJPG videos of a moving point, the rtmw backend with test models
that find it) or OpenPose JSON (motion sync). Every camera must be read from its own first
synchronized frame: its 2D at each step is the point's projection at that step's time, and the 3D
is the point's path; `frame_index` holds the reference camera's frame numbers. Reruns do nothing;
a new sync (by `mocap sync`, or another [sync] method) reruns the 2D and what follows."""

import shutil

import numpy as np
import pytest

import calibration
from mocap.data import Keypoints2D, Keypoints3D
from mocap.pipeline import run_session
from mocap.sync import load_sync
from mocap.sync.synthetic import write_blob_session, write_synthetic_sync
from mocap.video import FrameTable, VideoReader, read_synchronized
from sessions import manifest, mocap, snapshot, tiny_videos, write_settings

STARTS = (0, 7, 13)  # camera c's frame f is master frame STARTS[c] + f: offsets 0, -7, -13 against cam01
STEPS = np.arange(13, 40)  # the frames of cam01 every camera has (cam03 starts 13 frames late)


def run(root, **kwargs):
    lines = []
    result = run_session(root, progress=False, log=lines.append, **kwargs)
    return result, lines


def image_error(root, truth, shift=0):
    """(C, T) pixels between each camera's 2D at each step and the point's projection at the master
    frame of that step (plus ``shift`` frames)."""
    kp = Keypoints2D.load(root / "output" / "pose2d.npz")
    group = calibration.load_calibration(root / "calibration" / "calibration.toml")
    uv = group.project(truth.point[:, None, None])[:, :, 0, 0]  # (C, master frames, 2); cam01's frame = master
    frames = np.clip(kp.frame_index + shift, 0, len(truth.point) - 1)
    return np.linalg.norm(kp.xy[:, :, 0, 0] - uv[:, frames], axis=-1)


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """A blob session with recorded timestamps, run once: auto picks the timestamps."""
    truth = write_blob_session(tmp_path_factory.mktemp("blob") / "s", STARTS, n_frames=40)
    result, lines = run(truth.folder)
    return truth, result, lines


def test_every_camera_is_read_from_its_own_first_synchronized_frame(synced):
    truth, result, lines = synced
    root = truth.folder
    sync = load_sync(root)
    assert sync.origin == "mocap run" and sync.method == "timestamps"
    assert [c.frame_offset for c in sync.cameras] == [0, -7, -13]
    assert sync.start_frames == {"cam01": 13, "cam02": 6, "cam03": 0}
    pose2d = next(line for line in lines if line.startswith("pose2d"))
    assert "synchronized to cam01 (timestamps, auto: used timestamps): cam02 -7, cam03 -13" in pose2d
    kp = Keypoints2D.load(root / "output" / "pose2d.npz")
    assert np.array_equal(kp.frame_index, STEPS) and kp.fps == 30.0 and kp.n_cameras == 3
    err = image_error(root, truth)
    assert err.max() < 1.5, err.max(axis=1)  # every camera sees the point where it is at that step
    assert np.median(image_error(root, truth, shift=1)[1:]) > 3 * np.median(err)  # one frame off shows
    kp3d = Keypoints3D.load(root / "output" / "pose3d.npz")
    assert np.array_equal(kp3d.frame_index, STEPS)
    e3 = np.linalg.norm(kp3d.xyz[:, 0, 0] - truth.point[STEPS], axis=-1)
    assert np.median(e3) < 0.01 and e3.max() < 0.02, e3
    assert "sync.toml" in manifest(root, "pose2d")["outputs"].__repr__()


def test_a_rerun_does_nothing(synced):
    truth, _, _ = synced
    before = snapshot(truth.folder / "output")
    result, lines = run(truth.folder)
    assert result.up_to_date and lines[-1] == "nothing to do: every stage is up to date"
    assert snapshot(truth.folder / "output") == before


def test_a_new_sync_reruns_the_2d_and_what_follows(synced, tmp_path):
    truth, _, _ = synced
    root = tmp_path / "s"
    shutil.copytree(truth.folder, root)
    reference = Keypoints2D.load(root / "output" / "pose2d.npz")
    # `mocap sync` with an offset one frame off for cam02: the run uses that file as it is.
    done = mocap("sync", root, "--offset", "cam02=-6", "--offset", "cam03=-13")
    assert done.returncode == 0, done.stderr
    result, lines = run(root)
    assert result.ran[:2] == ("pose2d", "triangulate")
    pose2d = next(line for line in lines if line.startswith("pose2d"))
    assert "input changed: output/sync.toml" in pose2d and "as `mocap sync` wrote it" in pose2d
    assert load_sync(root).start_frames["cam02"] == 7
    err = image_error(root, truth)
    assert np.median(err[1]) > 3 * np.median(err[[0, 2]])  # cam02 now one frame late
    assert run(root)[0].up_to_date
    # Deleting it: synchronized by [sync] again (auto: timestamps), as before.
    (root / "output" / "sync.toml").unlink()
    result, lines = run(root)
    assert "pose2d" in result.ran and load_sync(root).origin == "mocap run"
    again = Keypoints2D.load(root / "output" / "pose2d.npz")
    assert np.array_equal(again.xy, reference.xy, equal_nan=True) and np.array_equal(again.frame_index, STEPS)
    # Without timestamps (nor sound) auto takes the videos as they are, says so, and drops sync.toml.
    for csv in (root / "videos").glob("*_timestamps.csv"):
        csv.unlink()
    result, lines = run(root)
    assert "auto found nothing to synchronize with" in next(line for line in lines if line.startswith("pose2d"))
    assert not (root / "output" / "sync.toml").exists()
    kp = Keypoints2D.load(root / "output" / "pose2d.npz")
    assert np.array_equal(kp.frame_index, np.arange(40))


@pytest.fixture(scope="module")
def silent(tmp_path_factory):
    """The sync tests' synthetic person, no timestamps nor sound: OpenPose JSON of each camera's
    own frames as the 2D input, [sync] method = "motion"."""
    from mocap.io import write_openpose_json

    truth = write_synthetic_sync(tmp_path_factory.mktemp("silent") / "s", STARTS, n_frames=90, audio=False, seed=1)
    root = truth.folder
    for csv in (root / "videos").glob("*_timestamps.csv"):
        csv.unlink()
    write_openpose_json(Keypoints2D.load(root / "output" / "pose2d.npz"), root / "openpose", "body_25")
    (root / "output" / "pose2d.npz").unlink()  # output/ is the runner's
    write_settings(root, {"pose2d": {"backend": "openpose-json"}, "sync": {"method": "motion"},
                          "report": {"enabled": False}})
    return truth


def test_motion_sync_puts_the_2d_on_one_timeline(silent):
    from mocap.synthetic import human_motion

    root = silent.folder
    result, lines = run(root)
    sync = load_sync(root)
    assert sync.method == "motion" and [c.frame_offset for c in sync.cameras] == [0, -7, -13]
    kp = Keypoints2D.load(root / "output" / "pose2d.npz")
    assert np.array_equal(kp.frame_index, np.arange(13, 90)) and kp.fps == 30.0
    truth = human_motion(90 + 13, 30.0, seed=1)  # master frames = cam01's
    kp3d = Keypoints3D.load(root / "output" / "pose3d.npz")
    err = np.linalg.norm(kp3d.xyz[:, 0, :17] - truth[kp3d.frame_index, :17], axis=-1)
    assert np.nanmedian(err) < 0.02, np.nanmedian(err)
    assert run(root)[0].up_to_date
    # [sync] method = "none": the same keypoints, unsynchronized, triangulate badly.
    write_settings(root, {"pose2d": {"backend": "openpose-json"}, "sync": {"method": "none"},
                          "report": {"enabled": False}})
    result, lines = run(root)
    pose2d = next(line for line in lines if line.startswith("pose2d"))
    assert 'settings changed: [sync] method "motion" -> "none"' in pose2d
    assert not (root / "output" / "sync.toml").exists()
    kp3d = Keypoints3D.load(root / "output" / "pose3d.npz")
    assert np.array_equal(kp3d.frame_index, np.arange(90))
    off = np.linalg.norm(kp3d.xyz[:, 0, :17] - truth[kp3d.frame_index, :17], axis=-1)
    assert np.nanmedian(off) > 5 * np.nanmedian(err)


def test_a_frame_table_reads_each_camera_at_its_own_frames(tmp_path):
    paths = tiny_videos(tmp_path, ("a", "b"), frames=12)  # camera i, frame t: grey level 40 i + 5 t
    table = FrameTable(np.array([5, 6, 7, 8]), np.array([[5, 6, 7, 8], [0, -1, 2, 11]]))
    got = list(read_synchronized([VideoReader(p) for p in paths], table=table))
    assert [step for step, _ in got] == [5, 6, 7, 8]
    levels = [[None if f is None else int(np.median(f)) for f in frames] for _, frames in got]
    assert levels == [[25, 40], [30, None], [35, 50], [40, 95]]
    with pytest.raises(ValueError, match="increase"):
        FrameTable(np.array([0, 1]), np.array([[3, 2]]))


def test_motion_sync_of_videos_reuses_the_2d_of_the_unsynchronized_videos(tmp_path):
    """[sync] method = "motion" on videos: the 2D runs once, over every frame of each video, and
    those keypoints are put on the timeline (apply_sync). A lone point gives motion sync nothing to
    go on: its low confidence is a warning naming each camera."""
    from mocap.pipeline import parts
    from mocap.sync import apply_sync

    truth = write_blob_session(tmp_path / "s", (0, 3), n_frames=24, timestamps=False)
    root = truth.folder
    with open(root / "session.toml", "a") as f:
        f.write('\n[sync]\nmethod = "motion"\n')
    run(root)
    found = sorted((root / "output" / parts.PARTS).glob("*.npz"))
    assert len(found) == 2
    unsynchronized = [Keypoints2D.load(p) for p in found]
    assert all(np.array_equal(k.frame_index, np.arange(24)) for k in unsynchronized)  # every frame, once
    sync = load_sync(root)
    raw = parts.stack_cameras(sorted(unsynchronized, key=lambda k: k.camera_names[0]))
    kp = Keypoints2D.load(root / "output" / "pose2d.npz")
    expected = apply_sync(raw, sync, steps=sync.steps())
    assert np.array_equal(kp.xy, expected.xy, equal_nan=True) and np.array_equal(kp.frame_index, expected.frame_index)
    warned = manifest(root, "pose2d")["warnings"]
    assert any(w.startswith("sync: cam02: low confidence") for w in warned), warned

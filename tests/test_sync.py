"""Synchronization: each method on synthetic sessions with known offsets, motion sync on the real
demo keypoints, sync.toml, the common timeline, and bad input through the command line."""

import dataclasses
import shutil
import subprocess
import sys

import numpy as np
import pytest

from mocap.data import Keypoints2D
from mocap.errors import InputFileError, SettingsError
from mocap.sync import apply_sync, load_sync, sync_session
from mocap.sync.correlate import PairLag, combine_pairs, gcc_phat, masked_ncc, pick_peak
from mocap.sync.motion import motion_offsets
from mocap.sync.synthetic import write_synthetic_sync

STARTS = (0, 7, 13)  # camera c starts STARTS[c] frames late: offsets 0, -7, -13 against camera 0


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return write_synthetic_sync(tmp_path_factory.mktemp("sync") / "s", STARTS, n_frames=90)


@pytest.fixture(scope="module")
def silent_session(tmp_path_factory):
    """The same scene without sound tracks or timestamps: only motion can synchronize it."""
    truth = write_synthetic_sync(tmp_path_factory.mktemp("silent") / "s", STARTS, n_frames=90, audio=False, seed=1)
    for csv in (truth.folder / "videos").glob("*_timestamps.csv"):
        csv.unlink()
    return truth


def _copy(session, tmp_path, drop=()):
    folder = tmp_path / "copy"
    shutil.copytree(session.folder, folder)
    for pattern in drop:
        for p in folder.glob(pattern):
            p.unlink()
    return folder


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "mocap.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("method", ["timestamps", "audio", "motion"])
def test_each_method_recovers_known_offsets(session, method):
    result = sync_session(session.folder, method)
    found = np.array([c.offset for c in result.cameras])
    assert np.all(np.abs(found - session.offsets) < 1.0), found  # within one frame (the bar)
    assert np.all(np.abs(found - session.offsets) < 0.25), found  # and in fact well within
    assert [c.frame_offset for c in result.cameras] == [0, -7, -13]
    assert all(c.confidence >= 0.5 for c in result.cameras) and not result.warnings
    # The common range: camera 0 must skip the 13 frames camera 2 missed; each video starts there.
    assert (result.first_frame, result.stop_frame) == (13, 90)
    assert result.start_frames == {"cam01": 13, "cam02": 6, "cam03": 0}
    back = load_sync(session.folder)
    assert back.method == method and back.start_frames == result.start_frames
    assert np.allclose([c.offset for c in back.cameras], found, atol=1e-3)


def test_auto_says_what_it_used_and_falls_back(session, silent_session, tmp_path):
    assert sync_session(session.folder).method == "timestamps"
    no_csv = _copy(session, tmp_path, drop=["videos/*_timestamps.csv"])
    result = sync_session(no_csv)
    assert result.method == "audio" and "not timestamps" in result.note and result.requested == "auto"
    result = sync_session(silent_session.folder)
    assert result.method == "motion"
    assert "has no audio track" in result.note and "cam01.mp4" in result.note
    assert [c.frame_offset for c in result.cameras] == [0, -7, -13]


def test_timestamps_give_drift_and_dropped_frames(tmp_path):
    truth = write_synthetic_sync(tmp_path / "s", (0, 5), n_frames=150, audio=False, drift_ppm=(0, 3000),
                                 dropped=[(), (60, 61, 62)], seed=2)
    result = sync_session(truth.folder, "timestamps", min_confidence=0.5)
    cam = result.camera("cam02")
    assert abs(cam.offset + 5) < 0.1
    assert abs(cam.drift_ppm - 3000) < 500  # 1 ms grab jitter over 5 s
    assert cam.dropped == ((59, 3),)  # after its frame 59, three frame periods have no frame
    assert any("cam02: 3 dropped frame(s)" in w for w in result.warnings)
    # Timeline step k shows camera 2's own frame k - 5, except where it dropped frames; from
    # the gap on, its later frames are three fewer (the drift adds under half a frame here).
    steps = np.arange(5, 80)
    frames = result.source_frames("cam02", steps)
    own = steps - 5
    assert np.all(frames[own < 60] == own[own < 60])
    assert np.all(frames[(own >= 60) & (own <= 62)] == -1)
    assert np.all(frames[own > 62] == own[own > 62] - 3)


def test_apply_sync_puts_keypoints_on_the_common_timeline(session):
    result = sync_session(session.folder, "timestamps")
    raw = Keypoints2D.load(session.folder / "output" / "pose2d.npz")
    synced = apply_sync(raw, result)
    assert synced.frame_index[0] == 13 and synced.frame_index[-1] == 89 and synced.n_frames == 77
    for c, start in enumerate((13, 6, 0)):  # each camera's own frames from its first synchronized one
        np.testing.assert_array_equal(synced.xy[c], raw.xy[c, start:start + 77])
    again, _ = motion_offsets(synced)  # once aligned, motion finds nothing left to shift
    assert np.all(np.abs(again) < 0.5)


def _still_then_moving(n_frames=150, fps=30.0, seed=3):
    from mocap.synthetic import camera_ring, human_motion, observe

    xyz = human_motion(n_frames, fps, seed=seed)
    xyz[: n_frames // 2] = xyz[n_frames // 2]  # the person stands still for the first half
    group = camera_ring(3, seed=seed)
    return observe(group, xyz[:, None], noise_px=1.0, dropout=0.3, fps=fps, seed=seed)


def test_motion_is_robust_to_stillness_and_missing_keypoints():
    kp = _still_then_moving()
    starts = (0, 9, 4)
    n = kp.n_frames - max(starts)
    xy = np.stack([kp.xy[c, s:s + n] for c, s in enumerate(starts)])
    score = np.stack([kp.score[c, s:s + n] for c, s in enumerate(starts)])
    xy[1, 50:70], score[1, 50:70] = np.nan, 0.0  # camera 2 loses the person for 20 frames
    offsets, confidence = motion_offsets(dataclasses.replace(kp, xy=xy, score=score, swapped=None,
                                                             frame_index=None))
    assert np.all(np.rint(offsets) == -np.array(starts)), offsets
    assert np.all(confidence > 0.5)


def _demo_keypoints(pose2sim_demo):
    from mocap.io import read_openpose_json

    folders = sorted((pose2sim_demo / "pose2d_openpose_body25b").glob("cam*_json"))
    return read_openpose_json(folders, layout="body_25b", fps=60, progress=False)


def _shifted(kp, starts):
    n = kp.n_frames - max(starts)
    return dataclasses.replace(kp, xy=np.stack([kp.xy[c, s:s + n] for c, s in enumerate(starts)]),
                               score=np.stack([kp.score[c, s:s + n] for c, s in enumerate(starts)]),
                               swapped=None, frame_index=None)


def test_motion_sync_on_real_demo_keypoints(pose2sim_demo):
    kp = _demo_keypoints(pose2sim_demo)
    found, confidence = motion_offsets(kp)
    print("demo offsets (frames, against cam01):", dict(zip(kp.camera_names, np.round(found, 2))),
          "confidence", np.round(confidence, 2))
    assert np.all(np.abs(found) < 0.5) and np.all(confidence > 0.5)  # the demo is in sync
    runs = [(0, 7, 13, 4), (11, 0, 5, 9), (3, 12, 0, 8), (14, 3, 9, 0)]
    truths = [starts[0] - np.array(starts) for starts in runs]
    shifted = [motion_offsets(_shifted(kp, starts))[0] for starts in runs]
    residual = np.array([found] + [o - t for o, t in zip(shifted, truths)])  # each camera's own sub-frame offset
    own = residual.mean(0)
    print("sub-frame offsets over the runs:", np.round(own, 2), "spread", np.round(np.ptp(residual, 0), 2))
    assert np.all(np.abs(residual - own) < 0.35)  # the same sub-frame offset whatever the cut
    # Whole frames: exactly the shift for every camera whose own sub-frame offset is clear of a
    # half frame. (cam03 sits about 0.4 frame from cam01, so its whole frame is a toss-up.)
    clear = np.abs(own - np.rint(own)) < 0.3
    assert clear.sum() >= 3
    for o, t in zip(shifted, truths):
        assert np.all(np.rint(o)[clear] == t[clear] + np.rint(own)[clear]), (o, t)
        assert np.all(np.abs(np.rint(o) - t) <= 1)


# --- the pure parts --------------------------------------------------------------------------


def test_masked_ncc_is_pearson_over_the_overlap_at_every_lag():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=40), rng.normal(size=30)
    x[[3, 10, 11]] = np.nan
    y[[0, 7]] = np.nan
    lags, rho, overlap = masked_ncc(x, y)
    for lag, r, n in zip(lags, rho, overlap):
        t = np.arange(len(x))
        t = t[(t + lag >= 0) & (t + lag < len(y))]
        a, b = x[t], y[t + lag]
        ok = np.isfinite(a) & np.isfinite(b)
        assert n == ok.sum()
        if ok.sum() >= 3:
            assert abs(r - np.corrcoef(a[ok], b[ok])[0, 1]) < 1e-9


def test_gcc_phat_and_peak_find_a_fractional_delay():
    rng = np.random.default_rng(1)
    x = rng.normal(size=4000)
    y = np.concatenate([np.zeros(250), x])[:4000] + 0.3 * rng.normal(size=4000)  # y = x delayed 250
    lags, value = gcc_phat(x, y)
    peak = pick_peak(lags, value)
    assert abs(peak.lag - 250) < 0.1 and peak.confidence > 0.8


def test_combine_pairs_drops_a_pair_that_disagrees():
    pairs = [PairLag(0, 1, 5.0, 0.9), PairLag(0, 2, -3.0, 0.9), PairLag(1, 2, -8.1, 0.8), PairLag(0, 3, 2.0, 0.9),
             PairLag(1, 3, 20.0, 0.95), PairLag(2, 3, 5.0, 0.9)]  # (1, 3) is wrong: should be -3
    offsets, confidence = combine_pairs(4, pairs)
    assert np.allclose(offsets, [0, 5, -3, 2], atol=0.1)
    assert np.all(confidence >= 0.8)


# --- bad input -------------------------------------------------------------------------------


def test_audio_asked_of_a_video_without_sound(silent_session):
    out = _cli("sync", silent_session.folder, "--method", "audio")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "cam01.mp4 has no audio track" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_offsets_longer_than_the_clip(session, tmp_path):
    out = _cli("sync", session.folder, "--offset", "cam02=500", "-o", tmp_path / "s.toml")
    assert out.returncode == 2 and "share no frame" in out.stderr and "cam02" in out.stderr
    out = _cli("sync", session.folder, "--max-offset", "10", "-o", tmp_path / "s.toml")
    assert out.returncode == 2 and "longer than the clip" in out.stderr and "10 s" in out.stderr
    assert not (tmp_path / "s.toml").exists()


def test_nothing_to_sync_with_and_broken_files(silent_session, tmp_path):
    folder = _copy(silent_session, tmp_path, drop=["output/pose2d.npz"])
    out = _cli("sync", folder)
    assert out.returncode == 2 and "nothing to synchronize with" in out.stderr and "has no audio track" in out.stderr
    for name in ("cam02", "cam03"):
        (folder / "videos" / f"{name}_timestamps.csv").write_text("frame,timestamp_ns\n0,100\n1,200\n")
    (folder / "videos" / "cam01_timestamps.csv").write_text("frame,timestamp_ns\n0,100\n1,oops\n")
    with pytest.raises(InputFileError, match="cam01_timestamps.csv.*line 3"):
        sync_session(folder, "timestamps")
    with pytest.raises(SettingsError, match="not one of the session's cameras"):
        sync_session(folder, "manual", reference="cam09")
    bad = tmp_path / "sync.toml"
    bad.write_text("version = 1\nmethod = 'audio'\nreference = 'a'\nfps = 30.0\nfirst_frame = 0\n"
                   "stop_frame = 5\n[cameras.a]\noffset = 'x'\n")
    with pytest.raises(InputFileError, match="'offset' must be float"):
        load_sync(bad)


def test_cli_prints_offsets_and_writes_sync_toml(session, tmp_path):
    out = _cli("sync", session.folder, "--method", "audio", "-o", tmp_path / "sync.toml")
    assert out.returncode == 0, out.stderr
    assert "cam03: offset -13.00 frames -> -13, starts at frame 0" in out.stdout
    assert load_sync(tmp_path / "sync.toml").method == "audio"

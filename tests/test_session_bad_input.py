"""Every bad input of `mocap init` / `mocap run`, through a real process: one clean line naming the
file or key (exit 2, no traceback), and nothing already written lost or left half-written."""

import pytest

from sessions import (
    assert_user_error, demo_session, manifest, mocap, snapshot, synthetic_calibration, tiny_videos, write_settings,
)


def _session(root, names=("cam01", "cam02"), calibration=True, **video_options):
    for sub in ("videos", "calibration", "output"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    tiny_videos(root / "videos", names, **video_options)
    if calibration:
        synthetic_calibration(root / "calibration" / "calibration.toml", names)
    return root


def test_missing_or_empty_videos_folder(tmp_path):
    root = tmp_path / "s"
    root.mkdir()
    assert_user_error(mocap("run", root), f"{root}/videos", "folder not found", "one video per camera")
    (root / "videos").mkdir()
    (root / "videos" / "notes.txt").write_text("not a video")
    assert_user_error(mocap("run", root), f"{root}/videos", "holds no video", ".mp4")
    assert_user_error(mocap("run", tmp_path / "nowhere"), "nowhere", "session folder not found")


def test_videos_of_different_frame_rates_stop_before_anything_runs(tmp_path):
    root = _session(tmp_path / "s", fps={"cam01": 30.0, "cam02": 25.0})
    assert_user_error(mocap("run", root), "different frame rates", "cam01 30 fps", "cam02 25 fps",
                      "16.7% slower", "Nothing was run")
    assert not any((root / "output").glob("*.manifest.json"))


def test_videos_of_different_lengths_say_by_how_much_and_what_the_run_did(tmp_path):
    root = _session(tmp_path / "s", frames={"cam01": 7, "cam02": 5})
    result = mocap("run", root, "--only", "calibration")
    assert result.returncode == 0, result.stderr
    assert ("warning: the videos have different lengths: cam01 7 frames, cam02 5 frames; using the first 5 frames "
            "of each (cam01 loses its last 2)") in result.stdout


def test_cameras_that_do_not_match_the_calibration(tmp_path):
    root = _session(tmp_path / "a", names=("cam01", "cam02", "cam03"), calibration=False)
    synthetic_calibration(root / "calibration" / "calibration.toml", ("cam01", "cam02", "cam04"))
    assert_user_error(mocap("run", root), "calibration/calibration.toml", "has no camera cam03",
                      "videos/ holds cam01, cam02, cam03", "the calibration has cam01, cam02, cam04")
    assert manifest(root, "calibration")["status"] == "failed"
    assert not (root / "output" / "calibration.toml").exists()

    root = _session(tmp_path / "b", names=("cam01", "cam02"), calibration=False)
    synthetic_calibration(root / "calibration" / "calibration.toml", ("cam01", "cam02", "cam03"))
    assert_user_error(mocap("run", root), "has cameras cam03 that videos/ lacks", "[session] cameras")

    # Names that differ altogether, in equal numbers: matched by position, with a warning naming both lists.
    root = _session(tmp_path / "c", names=("left", "right"), calibration=False)
    synthetic_calibration(root / "calibration" / "calibration.toml", ("cam_0", "cam_1"))
    result = mocap("run", root, "--only", "calibration")
    assert result.returncode == 0, result.stderr
    assert ("the calibration's camera names (cam_0, cam_1) differ from the videos' (left, right); matching them "
            "by position: cam_0 = left, cam_1 = right") in result.stdout
    from calibration import load_calibration

    assert load_calibration(root / "output" / "calibration.toml").names == ["left", "right"]


@pytest.mark.parametrize("text, fragments", [
    ('[filter\nsmoother = "none"\n', ["session.toml", "not valid TOML", "line 1"]),
    ('[filter]\nsmoothing = "none"\n', ["session.toml", "[filter] has no setting 'smoothing'", "smoother"]),
    ('[triangulate]\nmin_score = "high"\n', ["session.toml", '[triangulate] min_score = "high"',
                                             "expected a number >= 0 and <= 1"]),
])
def test_invalid_session_toml(tmp_path, text, fragments):
    root = _session(tmp_path / "s")
    (root / "session.toml").write_text(text)
    assert_user_error(mocap("run", root), *fragments)
    assert not any((root / "output").iterdir())


def test_no_calibration_at_all(tmp_path):
    root = _session(tmp_path / "s", calibration=False)
    assert_user_error(mocap("run", root), f"{root}/calibration", "no calibration", "calibration.toml",
                      "Qualisys .qca.txt", "board pictures")
    (root / "calibration" / "a.toml").write_text("")
    (root / "calibration" / "b.qca.txt").write_text("")
    assert_user_error(mocap("run", root), "several calibration files (a.toml, b.qca.txt)", "[calibration] file")


def test_init_refuses_to_replace_a_session(tmp_path):
    root = tmp_path / "s"
    assert mocap("init", root).returncode == 0
    (root / "session.toml").write_text('[filter]\nsmoother = "none"\n')
    assert_user_error(mocap("init", root), "session.toml", "already holds a session.toml", "--force")
    assert (root / "session.toml").read_text() == '[filter]\nsmoother = "none"\n'
    assert_user_error(mocap("init", tmp_path / "t", "--videos", tmp_path / "missing.mp4"), "missing.mp4",
                      "file not found")


@pytest.mark.realdata
def test_a_stage_failing_midway_keeps_earlier_outputs_and_says_it_did_not_finish(pose2sim_demo, tmp_path):
    tables = {"pose2d": {"backend": "openpose-json", "json_layout": "body_25b"}, "report": {"enabled": False}}
    root = demo_session(tmp_path / "s", pose2sim_demo, tables, openpose=True)
    assert mocap("run", root).returncode == 0
    before = snapshot(root / "output")
    write_settings(root, {**tables, "filter": {"butterworth_cutoff": 40.0}})  # above 30 Hz, half of 60 fps
    result = mocap("run", root)
    assert_user_error(result, "[filter] butterworth_cutoff = 40 Hz must be below half the frame rate (30 Hz at 60 fps)")
    assert "filter" in result.stdout and "failed:" in result.stdout
    after = snapshot(root / "output")
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert changed == ["filter.manifest.json"]  # every output as it was
    m = manifest(root, "filter")
    assert m["status"] == "failed" and "butterworth_cutoff" in m["error"]
    # The export stage fails midway (its C3D target is a folder): the BVH it wrote first is not published.
    write_settings(root, {**tables, "export": {"formats": ["bvh", "c3d"]}})
    (root / "output" / "motion.bvh").write_text("the user's own edit\n")
    (root / "output" / "markers.c3d").unlink()
    (root / "output" / "markers.c3d").mkdir()
    result = mocap("run", root)
    assert_user_error(result, "markers.c3d")
    assert (root / "output" / "motion.bvh").read_text() == "the user's own edit\n"
    assert manifest(root, "export")["status"] == "failed"
    assert manifest(root, "filter")["status"] == "done"  # it ran again, fine this time
    assert not (root / "output" / ".work").exists() or not any((root / "output" / ".work").iterdir())

"""The runner on the real demo (its 4 videos, Qualisys calibration and OpenPose JSON as the 2D input):
caching by content, reruns of what a setting changes and of nothing else, forcing, stale outputs,
frame numbers through every stage, and a `kill -9` during triangulation."""

import json
import shutil
import signal
import time

import numpy as np
import pytest

from mocap.data import Keypoints2D, Keypoints3D, Motion
from mocap.pipeline import run_session
from sessions import demo_session, manifest, mocap, mocap_process, same_outputs, snapshot, write_settings

pytestmark = pytest.mark.realdata
QUICK = {"report": {"frames": 1}}
ALL = ("calibration", "pose2d", "triangulate", "filter", "retarget", "export", "report")


def run(root, **kwargs):
    lines = []
    result = run_session(root, progress=False, log=lines.append, **kwargs)
    return result, lines


@pytest.fixture(scope="module")
def reference(pose2sim_demo, tmp_path_factory):
    """One uninterrupted run of the demo session."""
    root = demo_session(tmp_path_factory.mktemp("reference"), pose2sim_demo, QUICK)
    result, _ = run(root)
    assert result.ran == ALL
    return root


def test_first_run_hands_off_through_the_contracts(reference):
    out = reference / "output"
    kp2d = Keypoints2D.load(out / "pose2d.npz")
    assert kp2d.fps == 60 and list(kp2d.image_sizes[:, 0]) == [1080, 1080, 1088, 1088]  # the videos' own sizes
    kp3d = Keypoints3D.load(out / "pose3d.npz")
    assert kp3d.fps == 60 and kp3d.n_frames == 100 and np.array_equal(kp3d.frame_index, np.arange(100))
    warnings = manifest(reference, "triangulate")["warnings"]
    assert any("cam01" in w and "rescaling" in w for w in warnings)
    assert any("cam02" in w and "rescaling" in w for w in warnings)
    assert not any("cam03" in w or "cam04" in w for w in warnings)
    for name in ("calibration.toml", "pose3d.trc", "pose3d_filtered.npz", "foot_contacts.npz", "motion.npz",
                 "motion.bvh", "markers.trc", "markers.c3d", "report.html"):
        assert (out / name).is_file(), name
    for stage in ALL:
        m = manifest(reference, stage)
        assert m["status"] == "done" and m["seconds"] >= 0 and m["outputs"], stage
    assert not (out / ".work").exists()


def test_second_run_does_nothing_and_says_so(reference):
    before = snapshot(reference / "output")
    result, lines = run(reference)
    assert result.up_to_date and result.ran == ()
    assert lines[-1] == "nothing to do: every stage is up to date"
    assert snapshot(reference / "output") == before


def test_a_setting_reruns_its_stage_and_the_later_ones_only(reference, tmp_path):
    root = tmp_path / "s"
    shutil.copytree(reference, root, symlinks=True)
    pose2d = snapshot(root / "output")["pose2d.npz"]
    write_settings(root, {**QUICK, "pose2d": {"backend": "openpose-json", "json_layout": "body_25b"},
                          "triangulate": {"max_reprojection_error": 25.0}})
    result, lines = run(root)
    assert result.ran == ("triangulate", "filter", "retarget", "export", "report")
    assert "settings changed: [triangulate] max_reprojection_error 15.0 -> 25.0" in lines[2]
    assert snapshot(root / "output")["pose2d.npz"] == pose2d
    # A setting that changes nothing downstream stops the cascade where the files come out equal.
    write_settings(root, {**QUICK, "pose2d": {"backend": "openpose-json", "json_layout": "body_25b"},
                          "triangulate": {"max_reprojection_error": 25.0}, "export": {"formats": ["bvh", "trc"]}})
    result, _ = run(root)
    assert result.ran == ("export", "report")
    assert not (root / "output" / "markers.c3d").exists()  # no longer made: removed
    assert "removed outputs it no longer makes: output/markers.c3d" in manifest(root, "export")["warnings"]


def test_from_and_only_force_stages(reference, tmp_path):
    root = tmp_path / "s"
    shutil.copytree(reference, root, symlinks=True)
    result, _ = run(root, from_stage="retarget")
    assert result.ran == ("retarget", "export", "report")
    result, lines = run(root, only="filter")
    assert result.ran == ("filter",) and len(result.stages) == 1
    assert "forced (--only)" in lines[0]
    result, lines = run(root, dry_run=True)
    # filter's outputs came out the same: only the report, which shows the stages' times, is due
    assert [s.status for s in result.stages] == ["up to date"] * 6 + ["would run"]
    assert "input changed: output/filter.manifest.json" in lines[-1]
    (root / "output" / "motion.bvh").unlink()
    result, lines = run(root)
    assert result.ran == ("export", "report") and "output removed or changed: output/motion.bvh" in lines[5]
    from mocap.errors import SettingsError

    with pytest.raises(SettingsError, match="no such stage; the stages are calibration, pose2d"):
        run(root, only="triangulation")


def test_outputs_a_stage_no_longer_makes_are_removed(reference, tmp_path):
    root = tmp_path / "s"
    shutil.copytree(reference, root, symlinks=True)
    base = {**QUICK, "pose2d": {"backend": "openpose-json", "json_layout": "body_25b"}}
    write_settings(root, {**base, "triangulate": {"persons": "all"}, "retarget": {"person": "all"}})
    run(root)
    kp3d = Keypoints3D.load(root / "output" / "pose3d.npz")
    assert kp3d.n_persons >= 2  # the subject and the bystander
    extra = [f"pose3d_p{p}.trc" for p in range(1, kp3d.n_persons)] + \
        [f"{stem}_p1.{ext}" for stem, ext in (("motion", "npz"), ("motion", "bvh"), ("markers", "trc"),
                                              ("pose3d_filtered", "trc"))]
    assert all((root / "output" / name).is_file() for name in extra)
    write_settings(root, {**base, "triangulate": {"persons": 1}, "retarget": {"person": "all"}})
    run(root)
    assert not any((root / "output" / name).exists() for name in extra)
    assert Keypoints3D.load(root / "output" / "pose3d.npz").n_persons == 1


def test_frame_numbers_survive_every_stage_with_start_and_stride(reference, tmp_path):
    root = tmp_path / "s"
    shutil.copytree(reference, root, symlinks=True)
    write_settings(root, {"report": {"enabled": False},
                          "pose2d": {"backend": "openpose-json", "json_layout": "body_25b", "start": 10, "stop": 90,
                                     "stride": 2}})
    run(root)
    frames = np.arange(10, 90, 2)
    out = root / "output"
    for kp in (Keypoints2D.load(out / "pose2d.npz"), Keypoints3D.load(out / "pose3d.npz"),
               Keypoints3D.load(out / "pose3d_filtered.npz"), Motion.load(out / "motion.npz")):
        assert np.array_equal(kp.frame_index, frames) and kp.fps == 30.0
    with np.load(out / "foot_contacts.npz") as contacts:
        assert contacts["contacts"].shape[0] == len(frames)
    assert not (out / "report.html").exists()  # [report] enabled = false: the old report is removed


def test_kill_during_triangulation_then_rerun_equals_an_uninterrupted_run(reference, pose2sim_demo, tmp_path):
    for attempt in range(3):
        root = demo_session(tmp_path / f"k{attempt}", pose2sim_demo, QUICK)
        process = mocap_process("run", root)
        status = root / "output" / "triangulate.manifest.json"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if json.loads(status.read_text())["status"] == "running":
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        process.communicate()
        if manifest(root, "triangulate")["status"] == "running":
            break  # killed inside the stage, as meant
    else:
        pytest.fail("could not kill the run while it triangulated")
    assert not (root / "output" / "pose3d.npz").exists() and (root / "output" / "pose2d.npz").is_file()
    result = mocap("run", root)
    assert result.returncode == 0, result.stderr
    assert "did not finish last time" in result.stdout
    assert same_outputs(reference / "output", root / "output") == []


def test_mocap_report_rebuilds_the_report_alone(reference, tmp_path):
    root = tmp_path / "s"
    shutil.copytree(reference, root, symlinks=True)
    before = snapshot(root / "output")
    result = mocap("report", root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {root.resolve() / 'output' / 'report.html'}"
    after = snapshot(root / "output")
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert "report.html" in changed and "report.manifest.json" in changed
    assert not {k for k in changed if not k.startswith("report")}  # nothing else touched

"""End to end on the real Pose2Sim demo, as a user does it: `mocap init`, the 4 videos and the Qualisys
calibration copied in, `mocap run` with the offline backend (MediaPipe), from videos to a BVH.

The pipeline runs once for the whole test session (100 frames of 4 cameras); every check hangs on
that run and on cheap reruns. Also: a `kill -9` during pose2d, then a rerun, gives the outputs of an
uninterrupted run (12 frames)."""

import html.parser
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mocap.data import Keypoints2D, Keypoints3D
from sessions import CAMS, manifest, mocap, mocap_process, same_outputs, snapshot, stage_lines, write_settings

pytest.importorskip("mediapipe")
pytestmark = pytest.mark.realdata


@pytest.fixture(scope="session")
def demo_run(pose2sim_demo, tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e") / "session"
    result = mocap("init", root)
    assert result.returncode == 0, result.stderr
    for cam in CAMS:
        shutil.copy(pose2sim_demo / "videos" / f"{cam}.mp4", root / "videos")
    shutil.copy(pose2sim_demo / "calibration" / "Calib.qca.txt", root / "calibration")
    result = mocap("run", root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root, result


def test_every_stage_ran_with_one_line_and_its_time(demo_run):
    root, result = demo_run
    lines = stage_lines(result.stdout)
    assert list(lines) == ["calibration", "pose2d", "triangulate", "filter", "retarget", "export", "report"]
    for line in lines.values():
        assert " s  first run." in line, line
    assert "imported calibration/Calib.qca.txt: 4 cameras (cam01, cam02, cam03, cam04)" in lines["calibration"]
    assert "(mediapipe on cpu)" in lines["pose2d"]


def test_pose3d_at_60_fps_with_the_resampled_cameras_rescaled(demo_run):
    root, _ = demo_run
    from calibration import load_calibration

    out = root / "output"
    kp2d = Keypoints2D.load(out / "pose2d.npz")
    kp3d = Keypoints3D.load(out / "pose3d.npz")
    assert kp3d.fps == 60.0 and kp3d.n_frames == 100 and np.array_equal(kp3d.frame_index, np.arange(100))
    group = load_calibration(out / "calibration.toml")
    assert group.names == list(CAMS) and group.sizes[0] == (1088, 1920)
    assert [tuple(s) for s in kp2d.image_sizes] == [(1080, 1920), (1080, 1920), (1088, 1920), (1088, 1920)]
    warnings = manifest(root, "triangulate")["warnings"]
    assert [w.split(":")[0] for w in warnings if "rescaling" in w] == ["camera cam01", "camera cam02"]
    # The 3D is what triangulation gives from the videos' own sizes (cam01/cam02 rescaled 1080 -> 1088),
    # not what the OpenPose-JSON detour gave (the calibration's sizes: no rescale).
    import dataclasses

    from mocap.triangulate import triangulate

    same = triangulate(group, kp2d).xyz[:, 0]
    detour = triangulate(group, dataclasses.replace(kp2d, image_sizes=np.array(group.sizes))).xyz[:, 0]
    assert np.allclose(same, kp3d.xyz[:, 0], equal_nan=True, atol=1e-9)
    shift = np.nanmedian(np.linalg.norm(detour - kp3d.xyz[:, 0], axis=-1))
    assert 0.002 < shift < 0.05, shift  # millimetres to centimetres: the 4-8 px of the resampling


def test_bone_lengths_are_human(demo_run):
    root, _ = demo_run
    from mocap.skeleton import INDEX

    xyz = Keypoints3D.load(root / "output" / "pose3d_filtered.npz").xyz[:, 0]

    def length(a, b):
        return float(np.nanmedian(np.linalg.norm(xyz[:, INDEX[a]] - xyz[:, INDEX[b]], axis=-1)))

    for side in ("left", "right"):
        assert 0.33 < length(f"{side}_hip", f"{side}_knee") < 0.50
        assert 0.32 < length(f"{side}_knee", f"{side}_ankle") < 0.50
        assert 0.22 < length(f"{side}_shoulder", f"{side}_elbow") < 0.36
        assert 0.19 < length(f"{side}_elbow", f"{side}_wrist") < 0.32
    assert 0.28 < length("left_shoulder", "right_shoulder") < 0.45


BLENDER = r"""
import json, sys
import bpy
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_anim.bvh(filepath=sys.argv[1], update_scene_fps=True, update_scene_duration=True)
scene = bpy.context.scene
arm = next(o for o in scene.objects if o.type == "ARMATURE")
start, end = arm.animation_data.action.frame_range
print(json.dumps({"fps": scene.render.fps / scene.render.fps_base, "frames": int(round(end - start)) + 1,
                  "bones": len(arm.pose.bones)}))
"""


@pytest.mark.blender
def test_blender_imports_the_bvh_with_100_frames_at_60_fps(demo_run, tmp_path):
    pytest.importorskip("bpy")
    root, _ = demo_run
    script = tmp_path / "import_bvh.py"
    script.write_text(BLENDER)
    out = subprocess.run([sys.executable, str(script), str(root / "output" / "motion.bvh")], capture_output=True,
                         text=True, timeout=300, env=dict(os.environ, HOME=str(tmp_path)))
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info == {"fps": 60.0, "frames": 100, "bones": 60}


class _Images(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.text = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        if tag in ("link", "script"):
            raise AssertionError(f"the report fetches a {tag}")

    def handle_data(self, data):
        self.text.append(data)


def test_report_is_static_and_complete(demo_run):
    import cv2

    root, _ = demo_run
    page = root / "output" / "report.html"
    parser = _Images()
    parser.feed(page.read_text(encoding="utf-8"))
    text = " ".join(parser.text)
    assert len(parser.images) >= 4 + 4 * 3  # plots, and 3 frames per camera
    for src in parser.images:
        assert "://" not in src and not src.startswith("/")
        file = page.parent / src
        assert file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", src
        assert cv2.imread(str(file)) is not None, src
    for cam in CAMS:
        assert text.count(cam) >= 4, cam  # calibration, detection, frames
    for title in ("Stages", "Calibration", "Detection", "Reprojection error over time", "Bone-length stability",
                  "3D trajectories", "Frames", "Settings", "Versions"):
        assert title in text, title
    assert "QTM average residual" in text and "mediapipe" in text


def test_rerun_does_nothing_then_a_filter_change_reruns_filter_and_later_only(demo_run):
    root, _ = demo_run
    before = snapshot(root / "output")
    result = mocap("run", root)
    assert result.returncode == 0, result.stderr
    assert "nothing to do: every stage is up to date" in result.stdout
    assert all(line.endswith("up to date") for line in stage_lines(result.stdout).values())
    assert snapshot(root / "output") == before

    text = (root / "session.toml").read_text()
    assert "\nbutterworth_cutoff = 6.0\n" in text
    (root / "session.toml").write_text(text.replace("\nbutterworth_cutoff = 6.0\n", "\nbutterworth_cutoff = 4.0\n"))
    result = mocap("run", root)
    assert result.returncode == 0, result.stderr
    lines = stage_lines(result.stdout)
    ran = [stage for stage, line in lines.items() if not line.endswith("up to date")]
    assert ran == ["filter", "retarget", "export", "report"]
    assert "settings changed: [filter] butterworth_cutoff 6.0 -> 4.0" in lines["filter"]
    after = snapshot(root / "output")
    for name in ("pose2d.npz", "pose3d.npz", "calibration.toml", "pose2d.manifest.json"):
        assert after[name] == before[name], name
    for name in ("pose3d_filtered.npz", "motion.bvh"):
        assert after[name] != before[name], name


def _wait_for(path, status, process, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if json.loads(path.read_text())["status"] == status:
                return True
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    return False


def test_kill_during_pose2d_then_rerun_equals_an_uninterrupted_run(pose2sim_demo, tmp_path):
    from sessions import demo_session

    tables = {"pose2d": {"stop": 12, "openpose": "body_25"}, "filter": {"smoother": "none"},
              "report": {"enabled": False}}
    reference = demo_session(tmp_path / "reference", pose2sim_demo, tables, openpose=False)
    assert mocap("run", reference).returncode == 0
    root = demo_session(tmp_path / "killed", pose2sim_demo, tables, openpose=False)
    process = mocap_process("run", root)
    assert _wait_for(root / "output" / "pose2d.manifest.json", "running", process)
    time.sleep(1.0)  # inside the 2D estimation
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert manifest(root, "pose2d")["status"] == "running"
    assert not (root / "output" / "pose2d.npz").exists() and not (root / "output" / "openpose").exists()
    result = mocap("run", root)
    assert result.returncode == 0, result.stderr
    assert "did not finish last time" in stage_lines(result.stdout)["pose2d"]
    assert same_outputs(reference / "output", root / "output") == []
    # A shorter run leaves no JSON frame of the longer one behind.
    write_settings(root, {**tables, "pose2d": {"stop": 8, "openpose": "body_25"}})
    assert mocap("run", root).returncode == 0
    assert sorted(p.name for p in (root / "output" / "openpose" / "cam01_json").iterdir()) == \
        [f"cam01_{i:012d}_keypoints.json" for i in range(8)]


def test_a_single_camera_session_is_lifted_into_the_calibrations_world(pose2sim_demo, tmp_path):
    """One camera (cam01 of the demo, with its Qualisys camera): the lift stage takes triangulate's slot."""
    from mocap.data import SOURCE_LIFTED
    from mocap.skeleton import INDEX
    from sessions import demo_session

    tables = {"session": {"cameras": ["cam01"]}, "pose2d": {"stop": 12}, "filter": {"smoother": "none"},
              "report": {"enabled": False}}
    root = demo_session(tmp_path / "single", pose2sim_demo, tables, openpose=False)
    result = mocap("run", root)
    assert result.returncode == 0, result.stderr
    lines = stage_lines(result.stdout)
    assert "triangulate" not in lines and "lifted from cam01" in lines["lift"] and "(floor)" in lines["lift"]
    kp = Keypoints3D.load(root / "output" / "pose3d.npz")
    seen = np.isfinite(kp.xyz[..., 0])
    assert kp.world_frame == "floor" and kp.camera_names == ("cam01",) and seen[:, 0, :17].mean() > 0.8
    assert (kp.source[seen] == SOURCE_LIFTED).all() and (kp.n_views[seen] == 1).all()
    thigh = np.nanmedian(np.linalg.norm(kp.xyz[:, 0, INDEX["left_hip"]] - kp.xyz[:, 0, INDEX["left_knee"]], axis=-1))
    assert 0.3 < thigh < 0.55, thigh
    assert (root / "output" / "lifted.npz").is_file() and (root / "output" / "motion.bvh").is_file()
    assert "nothing to do" in mocap("run", root).stdout


def test_triangulate_fills_from_lifting_when_asked(pose2sim_demo, tmp_path):
    """[triangulate] fill_with_lifting: the lifting backend runs over every video (the 2D stage's
    frames) into lifted.npz, and keypoints fewer than two cameras agreed on are filled from it."""
    from mocap.data import SOURCE_LIFTED
    from mocap.lift import LiftedViews
    from sessions import demo_session

    tables = {"pose2d": {"stop": 6}, "triangulate": {"fill_with_lifting": True}, "filter": {"smoother": "none"},
              "report": {"enabled": False}}
    root = demo_session(tmp_path / "fill", pose2sim_demo, tables, openpose=False)
    result = mocap("run", root)
    assert result.returncode == 0, result.stderr
    line = stage_lines(result.stdout)["triangulate"]
    filled = int(line.rsplit("; ", 1)[1].split()[0])
    views = LiftedViews.load(root / "output" / "lifted.npz")
    assert views.keypoints.camera_names == CAMS and views.keypoints.n_frames == 6
    kp = Keypoints3D.load(root / "output" / "pose3d.npz")
    assert (kp.source == SOURCE_LIFTED).sum() == filled

"""`mocap batch`: three small synthetic sessions (blob videos through the real 2D path, cameras
started at different frames), one broken. The local process pool (through the command line) and a
real local Ray cluster give the same outputs as `mocap run`, the per-camera 2D jobs merge into what
one pass over all the videos gives, the broken session is reported while the others finish, and a
rerun skips the finished sessions. Without Ray, --ray says how to install it."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from mocap.data import Keypoints2D
from mocap.pipeline import run_session
from mocap.sync.synthetic import write_blob_session
from sessions import REPO, same_outputs, snapshot

SESSIONS = {"walk": (0, 4), "jump": (3, 0), "broken": (0, 2)}


def make_sessions(root, models):
    for i, (name, starts) in enumerate(SESSIONS.items()):
        write_blob_session(root / name, starts, n_frames=24, seed=i, models=models)
    (root / "broken" / "videos" / "cam02.avi").write_bytes(b"not a video at all")  # a user's bad file
    return root


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, models):
    """The good sessions as `mocap run` makes them."""
    root = make_sessions(tmp_path_factory.mktemp("reference"), models)
    for name in ("walk", "jump"):
        run_session(root / name, progress=False, log=None)
    return root


def mocap_env(**extra):
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), **extra)


@pytest.fixture(scope="module")
def local(tmp_path_factory, models):
    """`mocap batch` on a local pool of 2 processes, through the command line, twice."""
    root = make_sessions(tmp_path_factory.mktemp("local"), models)
    first = subprocess.run([sys.executable, "-m", "mocap.cli", "--quiet", "batch", str(root), "--workers", "2"],
                           capture_output=True, text=True, env=mocap_env(), timeout=300)
    return root, first


def test_the_local_pool_runs_every_session_and_reports_the_broken_one(local, reference):
    root, first = local
    assert first.returncode == 1, first.stdout + first.stderr  # a session failed
    table = first.stdout[first.stdout.index("session  "):].splitlines()
    rows = {line.split()[0]: line for line in table[1:-1]}
    assert set(rows) == set(SESSIONS)
    for name in ("walk", "jump"):
        assert "calibration, pose2d, triangulate, filter, retarget, export, report" in rows[name]
        assert same_outputs(reference / name / "output", root / name / "output") == []
    assert "broken/videos/cam02.avi" in rows["broken"] and "not a readable video" in rows["broken"]
    assert table[-1].startswith("2 of 3 session(s) ok, 1 failed") and "a local pool of 2 process(es)" in table[-1]


def test_a_rerun_skips_the_finished_sessions(local):
    from mocap.api import batch

    root, _ = local
    before = {name: snapshot(root / name / "output") for name in ("walk", "jump")}
    result = batch([root], workers=2, progress=False, log=None)
    by_name = {o.folder.name: o for o in result.sessions}
    assert by_name["walk"].status == by_name["jump"].status == "up to date" and by_name["walk"].jobs == 0
    assert by_name["broken"].status == "failed"
    assert {name: snapshot(root / name / "output") for name in ("walk", "jump")} == before


def test_per_camera_jobs_merge_into_one_pass_over_all_videos(reference):
    """The 2D stage's jobs (one per camera, run anywhere) equal estimate_videos over every video at once."""
    from mocap.pose2d import make_backend
    from mocap.pose2d.run import estimate_videos
    from mocap.session import open_session
    from mocap.sync import load_sync

    root = reference / "walk"
    kp = Keypoints2D.load(root / "output" / "pose2d.npz")
    sync = load_sync(root)
    s = open_session(root).settings()["pose2d"]
    backend = make_backend("rtmw", s["model"], s["detector"], "cpu")
    videos = [root / "videos" / f"{n}.avi" for n in kp.camera_names]
    whole = estimate_videos(videos, backend, frames=sync.frame_table(kp.camera_names, kp.frame_index),
                            progress=False)
    for name in ("xy", "score", "swapped", "frame_index", "image_sizes"):
        assert np.array_equal(getattr(whole, name), getattr(kp, name), equal_nan=True), name
    assert sync.start_frames == {"cam01": 4, "cam02": 0}  # cam02 started 4 frames late


def test_a_real_local_ray_cluster_gives_the_same_outputs(tmp_path, models, reference):
    ray = pytest.importorskip("ray")
    from mocap.api import batch

    root = make_sessions(tmp_path, models)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        result = batch([root / name for name in SESSIONS], ray="auto", progress=False, log=None)
    finally:
        ray.shutdown()
    assert result.pool == "a Ray cluster of 2 CPU(s)"
    by_name = {o.folder.name: o for o in result.sessions}
    for name in ("walk", "jump"):
        assert by_name[name].error is None and by_name[name].jobs == 2  # one 2D job per camera
        assert same_outputs(reference / name / "output", root / name / "output") == []
    assert "not a readable video" in by_name["broken"].error


def test_without_ray_the_message_says_how_to_install_it(tmp_path, reference):
    shim = tmp_path / "no_ray"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text("import sys\nsys.modules['ray'] = None  # `import ray` fails\n")
    session = tmp_path / "walk"
    shutil.copytree(reference / "walk", session)
    env = mocap_env()
    env["PYTHONPATH"] = str(shim) + os.pathsep + env["PYTHONPATH"]
    out = subprocess.run([sys.executable, "-m", "mocap.cli", "batch", str(session), "--ray", "auto"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert 'Ray, which is not installed here: pip install "mocap[cluster]"' in out.stderr

import json
import os
from pathlib import Path

import pytest


def shared_folder() -> Path | None:
    """``../shared`` beside the checkout (or $MOCAP_SHARED): real data and models from outside."""
    candidates = [os.environ.get("MOCAP_SHARED"), Path(__file__).resolve().parents[2] / "shared"]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c)
    return None


@pytest.fixture(scope="session")
def pose2sim_demo() -> Path:
    shared = shared_folder()
    folder = shared / "data" / "pose2sim_demo" if shared else None
    if folder is None or not folder.is_dir():
        pytest.skip("real data ../shared/data/pose2sim_demo is not here (set MOCAP_SHARED to the shared folder)")
    return folder


def write_openpose_folder(folder: Path, frames: list[list[list[float]]], prefix: str = "cam") -> Path:
    """One OpenPose JSON file per frame; ``frames[t]`` lists each person's flat pose_keypoints_2d."""
    folder.mkdir(parents=True, exist_ok=True)
    for t, people in enumerate(frames):
        data = {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": list(p)} for p in people]}
        (folder / f"{prefix}_{t:012d}_keypoints.json").write_text(json.dumps(data))
    return folder


@pytest.fixture(scope="session")
def pose2sim_subject(pose2sim_demo, tmp_path_factory):
    """The real demo's subject triangulated once for the whole run: (xyz (T, 133, 3), fps)."""
    from mocap.api import triangulate_openpose

    folders = sorted((pose2sim_demo / "pose2d_openpose_body25b").glob("cam*_json"))
    out = triangulate_openpose(pose2sim_demo / "calibration" / "Calib.qca.txt", folders,
                               tmp_path_factory.mktemp("pose2sim_subject"), layout="body_25b", fps=60, persons=1, progress=False)
    return out.keypoints.xyz[:, 0], 60.0


@pytest.fixture(scope="session")
def keypoint_samples() -> Path:
    """``../shared/data/keypoint_samples``: hand and face images with ground truth (see its README)."""
    shared = shared_folder()
    folder = shared / "data" / "keypoint_samples" if shared else None
    if folder is None or not folder.is_dir():
        pytest.skip("real data ../shared/data/keypoint_samples is not here (set MOCAP_SHARED to the shared folder)")
    return folder


@pytest.fixture(scope="session")
def shared_detector() -> Path:
    """The real RTMDet-nano person detector (mmdeploy export) in ``../shared/models``."""
    shared = shared_folder()
    path = shared / "models" / "rtmdet_nano_person" / "end2end.onnx" if shared else None
    if path is None or not path.is_file():
        pytest.skip("the shared detector ../shared/models/rtmdet_nano_person is not here")
    return path


@pytest.fixture(scope="session")
def _demo_mediapipe_run(pose2sim_demo):
    pytest.importorskip("mediapipe")
    from mocap.pose2d.mediapipe_backend import MediaPipeBackend
    from mocap.pose2d.run import estimate_videos

    backend = MediaPipeBackend(world=True)
    videos = sorted((pose2sim_demo / "videos").glob("cam*.mp4"))
    try:
        kp, world = estimate_videos(videos, backend, progress=False, world=True)
        streams = backend.stream_names
    finally:
        backend.close()
    return kp, world, streams


@pytest.fixture(scope="session")
def demo_pose2d_mediapipe(_demo_mediapipe_run):
    """The offline backend on the 4 real demo videos, all 100 frames, once per run: MediaPipe Pose
    on the whole frame (no detector: video mode, one tracker per camera), face and hand crops,
    person slots and repaired left/right labels. A Keypoints2D (4 cameras, 100 frames)."""
    return _demo_mediapipe_run[0]


@pytest.fixture(scope="session")
def demo_pose2d_mediapipe_world(_demo_mediapipe_run):
    """The same run's metric world points (4, 100, P, 133, 3), metres, in the same slots."""
    return _demo_mediapipe_run[1]

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
                               tmp_path_factory.mktemp("pose2sim_subject"), layout="body_25b", fps=60, progress=False)
    return out.keypoints.xyz[:, 0], 60.0

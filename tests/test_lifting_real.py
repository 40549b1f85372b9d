"""MediaPipe's world landmarks on the real Pose2Sim demo's cam01 alone, placed with its Qualisys
camera, against the subject triangulated from all 4 views' OpenPose keypoints."""

import warnings

import numpy as np
import pytest

from lifting import similarity
from mocap.api import load_calibration
from mocap.lift import estimate_lifted, lift_camera, make_lifting_backend
from mocap.skeleton import INDEX

STRIDE = 2  # every other frame of the 100: the test is about placement, not about MediaPipe's speed


@pytest.fixture(scope="module")
def cam01_views(pose2sim_demo):
    pytest.importorskip("mediapipe")
    backend = make_lifting_backend("mediapipe")
    try:
        return estimate_lifted([pose2sim_demo / "videos" / "cam01.mp4"], backend, stride=STRIDE, progress=False)
    finally:
        backend.close()


def _errors(xyz, truth, points):
    """Median distance (m) raw, after one similarity over the whole clip, and after one per frame."""
    a, b = xyz[:, points], truth[:, points]
    raw = np.linalg.norm(a - b, axis=-1)
    whole = similarity(a.reshape(1, -1, 3), b.reshape(1, -1, 3))
    clip = np.linalg.norm(whole.apply(a.reshape(1, -1, 3)) - b.reshape(1, -1, 3), axis=-1)
    frame = similarity(a, b)
    per_frame = np.linalg.norm(frame.apply(a) - b, axis=-1)
    return np.nanmedian(raw), np.nanmedian(clip), np.nanmedian(per_frame)


def test_cam01_alone_is_near_the_four_camera_body(cam01_views, pose2sim_demo, pose2sim_subject):
    truth = pose2sim_subject[0][::STRIDE]
    group = load_calibration(pose2sim_demo / "calibration" / "Calib.qca.txt")
    assert np.isfinite(cam01_views.rel[0, :, 0, :17]).all(-1).mean() > 0.9  # MediaPipe saw the body
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # cam01's video is 1080 wide, its calibration 1088
        placed = lift_camera(cam01_views, "cam01", group["cam01"], world_frame="floor")
        free = lift_camera(cam01_views, "cam01", group["cam01"], world_frame="z_up", height=1.65)
    body = [k for k in range(23) if np.isfinite(truth[:, k]).any() and np.isfinite(placed.keypoints.xyz[:, 0, k]).any()]
    assert len(body) >= 17
    raw, clip, per_frame = _errors(placed.keypoints.xyz[:, 0], truth, body)
    free_errors = _errors(free.keypoints.xyz[:, 0], truth, body)
    print(f"\ncam01 MediaPipe world landmarks vs 4-view OpenPose (median mm), floor known, height measured "
          f"{placed.placement.height[0]:.2f} m: raw {1000 * raw:.0f}, one similarity for the clip {1000 * clip:.0f}, "
          f"one per frame {1000 * per_frame:.0f}; floor unknown, height 1.65 given: "
          + ", ".join(f"{1000 * e:.0f}" for e in free_errors))
    assert placed.placement.height_source == "floor" and 1.4 < placed.placement.height[0] < 1.9
    assert per_frame < 0.08
    assert clip < 0.12 and raw < 0.15
    xyz = placed.keypoints.xyz[:, 0]
    for side in ("left", "right"):
        thigh = np.nanmedian(np.linalg.norm(xyz[:, INDEX[f"{side}_hip"]] - xyz[:, INDEX[f"{side}_knee"]], axis=-1))
        shank = np.nanmedian(np.linalg.norm(xyz[:, INDEX[f"{side}_knee"]] - xyz[:, INDEX[f"{side}_ankle"]], axis=-1))
        assert 0.33 < thigh < 0.52 and 0.32 < shank < 0.50, (side, thigh, shank)
    # the hands' world landmarks came with the body (most frames), hung from its wrists
    for side in ("left", "right"):
        hand = xyz[:, INDEX[f"{side}_hand_wrist"]:INDEX[f"{side}_hand_wrist"] + 21]
        found = np.isfinite(hand[..., 0]).all(-1)
        assert found.mean() > 0.5
        gap = np.linalg.norm(hand[found, 0] - xyz[found, INDEX[f"{side}_wrist"]], axis=-1)
        assert np.median(gap) < 0.03

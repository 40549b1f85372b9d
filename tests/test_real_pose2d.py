"""The offline backend on the real Pose2Sim demo (4 phones, 1080x1920, 100 frames), once per run
(the ``demo_pose2d_mediapipe`` fixture: MediaPipe Pose, whole frame, video mode, face and hand
crops), against the OpenPose BODY_25B keypoints that come with the demo.

The subject is OpenPose's detection with the most confident body points in each frame; ours is
the slot closest to it. Measured (mediapipe 0.10.21; printed by the tests):

* body within 30 px (median over body and feet) of OpenPose's: cam01 99 %, cam02 97 % (67 %
  before the left/right repair: MediaPipe mirrors the whole body in frames 41-74), cam03 100 %,
  cam04 100 %;
* hands where OpenPose sees that wrist (confidence > 0.5), left / right: cam01 74 / 77 %, cam02
  95 / 77 %, cam03 90 / 43 % (the right hand is behind the hip in those 21 frames), cam04
  95 / 93 %. Most misses are hands the hand model does not see: blurred fists seen edge-on;
* faces: none. In cam01 and cam02, the only views where the head faces the camera (OpenPose's
  eyes and nose confident), the face is mosaicked for anonymity; cam03 and cam04 see the back of
  the head. The face model says so (presence below 0.5) rather than placing a face;
* after triangulation the hands' median reprojection error is 0.7x the body's.
"""

import warnings

import numpy as np
import pytest

from mocap.io import read_openpose_json
from mocap.pose2d.swaps import exchange_limbs
from mocap.skeleton import FACE, INDEX, LEFT_HAND, RIGHT_HAND, SWAP_TESTED

pytestmark = pytest.mark.realdata

# measured floors (see the module docstring); the target is 0.85 for every hand
HAND_FLOORS = {("cam01", "left"): 0.70, ("cam01", "right"): 0.72, ("cam02", "left"): 0.88,
               ("cam02", "right"): 0.72, ("cam03", "left"): 0.85, ("cam03", "right"): 0.35,
               ("cam04", "left"): 0.88, ("cam04", "right"): 0.85}


@pytest.fixture(scope="module")
def openpose(pose2sim_demo, demo_pose2d_mediapipe):
    folders = [pose2sim_demo / "pose2d_openpose_body25b" / f"{c}_json" for c in demo_pose2d_mediapipe.camera_names]
    return read_openpose_json(folders, layout="body_25b", fps=60, progress=False)


def _subject(kp, op, c, xy=None, score=None):
    """Per frame: OpenPose's subject (index), our slot nearest to it, and that slot's median body
    distance to it (px); ``xy``, ``score`` (T, P, 133, ...) replace camera c's keypoints."""
    xy = kp.xy[c] if xy is None else xy
    score = kp.score[c] if score is None else score
    T = kp.n_frames
    subj = np.argmax((op.score[c, :, :, :23] > 0.3).sum(-1), 1)
    ref = op.xy[c, np.arange(T), subj, :23]
    ref_ok = op.score[c, np.arange(T), subj, :23] > 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        d = np.linalg.norm(xy[:, :, :23] - ref[:, None], axis=-1)
        d = np.where(ref_ok[:, None] & (score[:, :, :23] > 0.3), d, np.nan)
        med = np.nanmedian(d, -1)
    med = np.where(np.isfinite(med), med, np.inf)
    return subj, med.argmin(1), med.min(1)


def test_video_mode_one_tracker_per_camera(_demo_mediapipe_run):
    kp, _, streams = _demo_mediapipe_run
    assert streams == sorted(kp.camera_names)  # one tracking Pose per camera, through estimate_videos
    assert kp.n_frames == 100 and np.array_equal(kp.frame_index, np.arange(100)) and kp.fps == 60
    assert kp.n_persons == 1  # whole frame: one person per camera, one slot


def test_repaired_body_matches_openpose_left_right_included(demo_pose2d_mediapipe, openpose):
    kp = demo_pose2d_mediapipe
    for c, cam in enumerate(kp.camera_names):
        subj, ours, dist = _subject(kp, openpose, c)
        raw_xy, raw_score = exchange_limbs(kp.xy[c], kp.score[c], kp.swapped[c])  # the detector's labels
        raw = _subject(kp, openpose, c, raw_xy, raw_score)[2]
        print(f"\n{cam}: body within 30 px of OpenPose in {np.mean(dist < 30):.0%} of frames "
              f"({np.mean(raw < 30):.0%} before the left/right repair), median {np.median(dist):.1f} px")
        assert np.mean(dist < 30) >= 0.95
        # the same way round: where the match holds, the arms' own labels match better than exchanged
        T = np.arange(kp.n_frames)
        ok = dist < 30
        left, right = (list(s) for s in SWAP_TESTED["arm"])
        ours_xy = kp.xy[c, T, ours]
        ref = openpose.xy[c, T, subj]
        same = np.nanmean(np.linalg.norm(ours_xy[:, left] - ref[:, left], axis=-1), 1)
        crossed = np.nanmean(np.linalg.norm(ours_xy[:, left] - ref[:, right], axis=-1), 1)
        assert np.mean((same < crossed)[ok]) > 0.97
    cam02 = kp.camera_names.index("cam02")
    arm = kp.swapped[cam02, :, 0, 0]
    assert arm[45:60].all() and not arm[:40].any() and not arm[85:].any()
    assert not kp.swapped[kp.camera_names.index("cam04")].any()


def test_hands_found_where_openpose_sees_the_wrist(demo_pose2d_mediapipe, openpose):
    kp = demo_pose2d_mediapipe
    rates = {}
    for c, cam in enumerate(kp.camera_names):
        subj, ours, _ = _subject(kp, openpose, c)
        T = np.arange(kp.n_frames)
        for side, part in (("left", LEFT_HAND), ("right", RIGHT_HAND)):
            seen = openpose.score[c, T, subj, INDEX[f"{side}_wrist"]] > 0.5
            found = (kp.score[c, T, ours][:, part] > 0).any(-1)
            rates[cam, side] = (found[seen].mean(), int(seen.sum()))
            # scores are the model's hand presence, not a blanket 1
            s = kp.score[c, T, ours][:, part][found]
            assert np.all(s >= 0.5) and np.all(s <= 1.0) and s.std() > 0.01
    print("\nhands found where OpenPose sees the wrist:",
          ", ".join(f"{cam} {side} {r:.0%} of {n}" for (cam, side), (r, n) in rates.items()))
    for key, (rate, n) in rates.items():
        assert rate >= HAND_FLOORS[key], key
    pooled = sum(r * n for r, n in rates.values()) / sum(n for _, n in rates.values())
    assert pooled >= 0.84


def test_mosaicked_faces_are_not_made_up(demo_pose2d_mediapipe, openpose):
    """The demo's faces are mosaicked where they face the camera: the face model must not claim one."""
    kp = demo_pose2d_mediapipe
    facing = 0
    for c, cam in enumerate(kp.camera_names):
        subj, ours, _ = _subject(kp, openpose, c)
        T = np.arange(kp.n_frames)
        looks = (openpose.score[c, T, subj][:, [INDEX["nose"], INDEX["left_eye"], INDEX["right_eye"]]] > 0.5).all(1)
        facing += looks.sum()
        if cam in ("cam03", "cam04"):
            assert not looks.any()  # seen from behind
        assert (kp.score[c, :, :, FACE] > 0).mean() < 0.05
    assert facing > 100  # cam01 and cam02 face the camera in about half their frames


def test_hands_reproject_no_worse_than_twice_the_body(demo_pose2d_mediapipe, pose2sim_demo):
    from mocap.api import load_calibration, match_cameras
    from mocap.triangulate import triangulate

    kp = demo_pose2d_mediapipe
    group = match_cameras(load_calibration(pose2sim_demo / "calibration" / "Calib.qca.txt"), kp.camera_names,
                          "Calib.qca.txt")
    kp3 = triangulate(group, kp)
    err = kp3.reproj_error[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        body, hands = np.nanmedian(err[:, :17]), np.nanmedian(err[:, 91:133])
        triangulated = np.isfinite(kp3.xyz[:, 0, 91:133, 0]).mean()
    print(f"\nreprojection: body {body:.1f} px, hands {hands:.1f} px ({hands / body:.2f}x); "
          f"hand points triangulated in {triangulated:.0%} of frames")
    assert hands <= 2 * body
    assert triangulated > 0.8


def test_world_landmarks_are_metric_hip_centred_with_hands_on_the_wrists(demo_pose2d_mediapipe_world,
                                                                          demo_pose2d_mediapipe):
    world = demo_pose2d_mediapipe_world
    kp = demo_pose2d_mediapipe
    assert world.shape == kp.xy.shape[:-1] + (3,)
    w = world[:, :, 0]
    present = np.isfinite(w[..., INDEX["left_hip"], 0])
    assert present.mean() > 0.95
    mid_hip = (w[..., INDEX["left_hip"], :] + w[..., INDEX["right_hip"], :]) / 2
    assert np.nanmax(np.abs(mid_hip)) < 0.05  # MediaPipe's origin: between the hips
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for a, b, lo, hi in (("left_elbow", "left_wrist", 0.18, 0.35), ("left_hip", "left_knee", 0.3, 0.55)):
            length = np.nanmedian(np.linalg.norm(w[..., INDEX[a], :] - w[..., INDEX[b], :], axis=-1))
            assert lo < length < hi, (a, b, length)
    for side, part in (("left", LEFT_HAND), ("right", RIGHT_HAND)):
        hand = w[..., part, :]
        has = np.isfinite(hand[..., 0, 0])
        assert has.mean() > 0.5
        np.testing.assert_allclose(hand[has][:, 0], w[..., INDEX[f"{side}_wrist"], :][has], atol=1e-9)
        span = np.linalg.norm(hand[has][:, 12] - hand[has][:, 0], axis=-1)  # wrist to middle fingertip
        assert 0.08 < np.median(span) < 0.25
    assert np.isnan(w[..., FACE, :]).all()

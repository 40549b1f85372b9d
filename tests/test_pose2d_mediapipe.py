"""The mediapipe backend on real frames of the Pose2Sim demo: the subject's body keypoints must
agree with the OpenPose BODY_25B ones; the output has 133 keypoints with NaN where unknown.

Measured (frame 30, person crops from the RTMDet-nano detector): median distance of the subject's
body + feet keypoints to OpenPose's, per camera, about 14, 20, 12 and 15 px on 1080x1920 frames
(person about 900 px tall): the two estimators place joints differently by that much."""

import numpy as np
import pytest

from mocap.io import read_openpose_json
from mocap.skeleton import INDEX

pytest.importorskip("mediapipe")

CAMS = ["cam01", "cam02", "cam03", "cam04"]
T = 30


@pytest.fixture(scope="module")
def scene(pose2sim_demo):
    from mocap.video import VideoReader, read_synchronized

    op = read_openpose_json([pose2sim_demo / "pose2d_openpose_body25b" / f"{c}_json" for c in CAMS],
                            layout="body_25b", progress=False)
    readers = [VideoReader(pose2sim_demo / "videos" / f"{c}.mp4") for c in CAMS]
    _, frames = next(read_synchronized(readers, T, T + 1))
    return op, frames


def _subject_median(poses, op, c):
    """Median px distance of body+feet points of the detected person closest to OpenPose's subject."""
    score = op.score[c, T, :, :23]
    subject = int(np.argmax((score > 0.3).sum(1)))
    ref = np.where((score[subject] > 0.3)[:, None], op.xy[c, T, subject, :23], np.nan)
    d = np.linalg.norm(poses.xy[:, :23] - ref[None], axis=-1)
    with np.errstate(all="ignore"):
        med = np.array([np.nanmedian(row) if np.isfinite(row).any() else np.inf for row in d])
    return med.min(), int(med.argmin())


def test_person_crops_agree_with_openpose(scene, pose2sim_demo):
    from mocap.pose2d.detector import PersonDetector
    from mocap.pose2d.mediapipe_backend import MediaPipeBackend

    op, frames = scene
    det = PersonDetector(pose2sim_demo.parents[1] / "models" / "rtmdet_nano_person" / "end2end.onnx", device="cpu")
    backend = MediaPipeBackend(det)
    try:
        results = backend.process(frames)
    finally:
        backend.close()
    medians = []
    for c, poses in enumerate(results):
        assert poses.xy.shape[1:] == (133, 2) and poses.score.shape[1:] == (133,)
        med, p = _subject_median(poses, op, c)
        medians.append(med)
        # feet: heel and big toe from MediaPipe; small toes unknown -> NaN with score 0
        for name in ("left_small_toe", "right_small_toe"):
            assert np.isnan(poses.xy[p, INDEX[name]]).all() and poses.score[p, INDEX[name]] == 0
        assert np.isfinite(poses.xy[p, INDEX["left_heel"]]).all()
        missing = np.isnan(poses.xy[p, :, 0])
        assert np.all(poses.score[p, missing] == 0)
    print("median body distance to OpenPose per camera (px):", np.round(medians, 1))
    assert max(medians) < 30, medians
    # the bystander of cam01 and cam02 is a second person
    assert len(results[0]) >= 2 and len(results[1]) >= 2


def test_whole_frame_video_mode(scene):
    from mocap.pose2d.mediapipe_backend import MediaPipeBackend

    op, frames = scene
    backend = MediaPipeBackend()
    try:
        results = backend.process(frames[2:], streams=["cam03", "cam04"])
    finally:
        backend.close()
    for k, poses in enumerate(results):
        assert len(poses) == 1
        med, _ = _subject_median(poses, op, 2 + k)
        assert med < 30


def test_detect_every_n_frames_tracks_in_between(pose2sim_demo):
    """Detector on frames 0 and 3 only; frames 1, 2, 4, 5 use boxes around the tracked keypoints.
    The subject's body keypoints stay within a few pixels of the detect-every-frame run."""
    from mocap.pose2d.detector import PersonDetector
    from mocap.pose2d.mediapipe_backend import MediaPipeBackend
    from mocap.pose2d.run import estimate_videos

    det = PersonDetector(pose2sim_demo.parents[1] / "models" / "rtmdet_nano_person" / "end2end.onnx", device="cpu")
    video = pose2sim_demo / "videos" / "cam03.mp4"
    runs = {}
    for every in (1, 3):
        backend = MediaPipeBackend(det)
        seen = det.images_seen
        try:
            runs[every] = estimate_videos([video], backend, stop=6, batch_frames=1, detect_every=every, progress=False)
        finally:
            backend.close()
        runs[every, "detector"] = det.images_seen - seen
    assert runs[1, "detector"] == 6 and runs[3, "detector"] == 2
    a, b = runs[1].xy[0, :, 0, :17], runs[3].xy[0, :, 0, :17]
    assert runs[3].n_persons == 1 and np.isfinite(b).all()
    assert np.nanmedian(np.linalg.norm(a - b, axis=-1)) < 5


def test_world_points_need_a_backend_that_gives_them(pose2sim_demo):
    from mocap.errors import SettingsError
    from mocap.pose2d.mediapipe_backend import MediaPipeBackend
    from mocap.pose2d.run import estimate_videos

    backend = MediaPipeBackend(hands=False, face=False)
    with pytest.raises(SettingsError, match="MediaPipeBackend\\(world=True\\)"):
        estimate_videos([pose2sim_demo / "videos" / "cam03.mp4"], backend, stop=2, progress=False, world=True)
    backend.close()

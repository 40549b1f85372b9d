"""The rtmw path against rtmlib 0.0.16 (the runtime Pose2Sim and most RTMW users run), on real
demo frames, with the same ONNX files: the real RTMDet-nano person detector and a random-weight
network of RTMW's signature built here (every output depends on every pixel, so a different
crop, normalisation or channel order changes the answer; real RTMW weights cannot be had here).

Our detector's boxes, crops, normalisation and SimCC decoding must give rtmlib's boxes within
0.5 px and its keypoints within 0.5 px, scores within 1e-3. Measured: boxes, crops and keypoints
identical to the last bit, scores within 3e-7 (float32 rounding of the network input).

Conventions that differ and are bridged here (see the report of issue 12):

* channel order: RTMW is trained on RGB (mmpose's ``bgr_to_rgb``); rtmlib's ``RTMPose`` feeds the
  image's channels as given, so it is given the RGB frame, ours the BGR frame with ``to_rgb``;
* the detector letterboxes with a rounded resize (mmdet), rtmlib truncates: the same for these
  1080x1920 frames.
"""

import numpy as np
import pytest

rtmlib = pytest.importorskip("rtmlib")

FRAMES = (0, 49, 98)


@pytest.fixture(scope="module")
def frames(pose2sim_demo):
    from mocap.video import VideoReader

    out = []
    for cam in ("cam01", "cam02", "cam03", "cam04"):
        reader = VideoReader(pose2sim_demo / "videos" / f"{cam}.mp4")
        out += [f for t, f in reader.frames(stride=FRAMES[1]) if t in FRAMES]
    return out


@pytest.fixture(scope="module")
def pose_net(tmp_path_factory):
    from mocap.pose2d.testmodels import random_simcc_model

    path = tmp_path_factory.mktemp("rtmw") / "random_rtmw.onnx"
    random_simcc_model(path, input_size=(192, 256), n_keypoints=133)
    return path


def test_boxes_keypoints_and_scores_match_rtmlib(frames, pose_net, shared_detector):
    from mocap.pose2d.detector import PersonDetector
    from mocap.pose2d.rtmw import RTMWBackend, SimCCPoseModel

    det = rtmlib.RTMDet(str(shared_detector), model_input_size=(320, 320), backend="onnxruntime", device="cpu")
    pose = rtmlib.RTMPose(str(pose_net), model_input_size=(192, 256), backend="onnxruntime", device="cpu")
    ours = RTMWBackend(SimCCPoseModel(pose_net, input_size=(192, 256), device="cpu"),
                       PersonDetector(shared_detector, input_size=(320, 320), device="cpu"))
    results = ours.process(frames)  # one batched call: detector, crops of all frames, one pose batch
    n_people, worst = 0, {"box": 0.0, "xy": 0.0, "score": 0.0}
    for frame, got in zip(frames, results):
        boxes = det(frame)
        assert len(got) == len(boxes) >= 1
        worst["box"] = max(worst["box"], np.abs(got.boxes[:, :4] - boxes).max())
        xy, score = pose(np.ascontiguousarray(frame[..., ::-1]), boxes)  # rtmlib: RGB in, as RTMW was trained
        worst["xy"] = max(worst["xy"], np.linalg.norm(got.xy - xy, axis=-1).max())
        worst["score"] = max(worst["score"], np.abs(got.score - score).max())
        n_people += len(boxes)
        # same boxes given by hand: the pose stage alone
        alone = ours.process([frame], [boxes])[0]
        assert np.linalg.norm(alone.xy - xy, axis=-1).max() < 0.5
    print(f"\nrtmlib vs ours on {len(frames)} real frames, {n_people} people: largest box difference "
          f"{worst['box']:.2g} px, keypoint {worst['xy']:.2g} px, score {worst['score']:.2g}")
    assert n_people >= len(frames) + 4  # the subject in every frame, the bystander in cam01 / cam02
    assert worst["box"] < 0.5 and worst["xy"] < 0.5 and worst["score"] < 1e-3


def test_the_check_would_catch_a_wrong_convention(frames, pose_net):
    """The random network is sensitive enough: BGR instead of RGB, or the min instead of the mean
    of the two axes' maxima, or half a pixel of crop shift, each break the comparison."""
    from mocap.pose2d.crops import boxes_to_center_scale, crop_matrices, normalize_batch, warp_crops
    from mocap.pose2d.rtmw import RTMPOSE_MEAN, RTMPOSE_STD, SimCCPoseModel
    from mocap.pose2d.simcc import decode_simcc

    pose = rtmlib.RTMPose(str(pose_net), model_input_size=(192, 256), backend="onnxruntime", device="cpu")
    model = SimCCPoseModel(pose_net, input_size=(192, 256), device="cpu")
    frame = frames[0]
    box = np.array([[300.0, 500.0, 800.0, 1700.0]])
    ref_xy, ref_score = pose(np.ascontiguousarray(frame[..., ::-1]), box)
    center, scale = boxes_to_center_scale(box, (192, 256))

    def run(image, to_rgb=True, shift=0.0, rule="mean"):
        m = crop_matrices(center, scale, (192, 256))
        m[:, 0, 2] += shift
        x = normalize_batch(warp_crops(image, m, (192, 256)), RTMPOSE_MEAN, RTMPOSE_STD, to_rgb)
        sx, sy = model(x)
        xy, score = decode_simcc(sx, sy, 2.0, score=rule)
        return (xy - np.array([96.0, 128.0])) * (scale / (192, 256))[:, None] + center[:, None], score

    xy, score = run(frame)
    assert np.abs(xy - ref_xy).max() < 0.5 and np.abs(score - ref_score).max() < 1e-3
    for wrong in (run(frame, to_rgb=False), run(frame, shift=0.5), run(frame, rule="min")):
        assert np.linalg.norm(wrong[0] - ref_xy, axis=-1).max() > 0.5 or np.abs(wrong[1] - ref_score).max() > 1e-3

"""Monocular lifting: backend speed, fill-in against gap interpolation, single-camera placement.

1. **Speed** (CPU), frames/s of each lifting backend on the Pose2Sim demo's cam01 (1080x1920):

   * ``rtmw3d``: the person detector and a batched RTMW3D-signature model. With ``rtmw3d-x`` in the
     model cache (``mocap models pull rtmw3d-x``) that model runs; otherwise the blob test model at
     RTMW3D's input size (288x384, 3 outputs) stands in, which times our detector/crop/batch/decode
     path without the network. The peer is rtmlib 0.0.16's ``RTMPose3d`` on the same model and the
     same boxes (one crop per ONNX call), and the table says how its depth differs from ours (it
     divides by half the crop height, 384 / 2, instead of the model's depth bins).
   * ``mediapipe``: MediaPipe Pose with its world landmarks, and its hands (mocap's offline backend).

2. **Fill-in** on a synthetic scene (4 cameras, 240 frames): a hand, a foot and a forearm each seen
   by one camera only for 1.3-1.5 s; lifted 3D from a simulated monocular model with realistic
   errors (``mocap.synthetic.monocular``). Filled points against the truth, beside what Pose2Sim and
   FreeMoCap do with such gaps (interpolate them: linear and cubic, any gap length).

3. **Placement**: each demo camera alone (MediaPipe world landmarks, Qualisys camera, floor z = 0)
   against the subject triangulated from all four views' OpenPose keypoints: median error raw,
   after one similarity for the whole clip, and after one per frame.

    python bench/lifting.py [--frames 100] [--skip-speed] [--skip-placement]

Timings are noisy when other work shares the CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

DEMO = Path(os.environ.get("MOCAP_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data" / "pose2sim_demo"
DETECTOR = DEMO.parents[1] / "models" / "rtmdet_nano_person"


def _frames(n):
    from mocap.video import VideoReader

    return [f for _, f in VideoReader(DEMO / "videos" / "cam01.mp4").frames(stop=n)]


def speed(n_frames: int) -> None:
    from mocap.lift import make_lifting_backend
    from mocap.models import installed
    from mocap.pose2d.detector import PersonDetector
    from mocap.pose2d.rtmw3d import RTMW3DBackend, SimCC3DPoseModel
    from mocap.pose2d.testmodels import blob_simcc3d_model

    frames = _frames(n_frames)
    det = PersonDetector(DETECTOR / "end2end.onnx", input_size=(320, 320), mean=(103.53, 116.28, 123.675),
                         std=(57.375, 57.12, 58.395), to_rgb=False, device="cpu")
    real = installed("rtmw3d-x")
    tmp = tempfile.mkdtemp()
    model_path = real.onnx_path if real else blob_simcc3d_model(Path(tmp) / "rtmw3d_sig.onnx", input_size=(288, 384))
    label = "rtmw3d-x" if real else "RTMW3D-signature test model (no network)"
    backend = RTMW3DBackend(SimCC3DPoseModel(model_path, device="cpu"), det)
    boxes = det(frames)
    t = time.perf_counter()
    ours = [backend.process(frames[i:i + 4], boxes[i:i + 4]) for i in range(0, len(frames), 4)]
    t_ours = time.perf_counter() - t
    rows = [(f"mocap rtmw3d pose stage ({label})", len(frames) / t_ours, "")]
    try:
        from rtmlib import RTMPose3d

        peer = RTMPose3d(str(model_path), model_input_size=(288, 384), backend="onnxruntime", device="cpu")
        t = time.perf_counter()
        theirs = [peer(f, bboxes=[list(b[:4]) for b in bx]) for f, bx in zip(frames, boxes)]
        t_peer = time.perf_counter() - t
        rows.append(("rtmlib RTMPose3d, same model and boxes", len(frames) / t_peer,
                     f"ours {t_peer / t_ours:.2f}x its speed"))
        # the same model outputs through both decoders: what the depth means differs
        from lifting import decode_simcc_depth

        outputs = backend.infer(backend.preprocess(frames[:4], [np.asarray(b) for b in boxes[:4]]))
        ours_z = decode_simcc_depth(outputs[2])
        peer_z = peer.postprocess(list(outputs), np.zeros(2), np.ones(2))[0][..., 2]
        slope, offset = np.polyfit(ours_z.ravel(), peer_z.ravel(), 1)
        n_bins = outputs[2].shape[-1]
        print(f"same model outputs, two decoders: rtmlib's depth = {slope:.3f} x ours {offset:+.3f} m. Ours is "
              f"mmpose's codec, z = (2 bin / {n_bins} - 1) z_range; rtmlib's is (bin / 2 / 192 - 1) z_range, "
              f"half the crop height (384) where the depth bins belong")
    except Exception as exc:  # the peer is optional
        rows.append((f"rtmlib RTMPose3d: not run ({type(exc).__name__})", float("nan"), ""))
    t = time.perf_counter()
    for i in range(0, len(frames), 4):
        det(frames[i:i + 4])
    rows.append(("person detector alone (rtmdet-nano, batch 4)", len(frames) / (time.perf_counter() - t), ""))
    try:
        mp = make_lifting_backend("mediapipe")
        t = time.perf_counter()
        for f in frames:
            mp.process([f], None, streams=["cam01"])
        rows.append(("mocap mediapipe world landmarks + hands", len(frames) / (time.perf_counter() - t), ""))
        mp.close()
    except Exception as exc:
        rows.append((f"mediapipe: not run ({type(exc).__name__}: {exc})", float("nan"), ""))
    print(f"\nSpeed on CPU, {len(frames)} frames of cam01 (1080x1920)")
    print(f"{'backend':62s} {'frames/s':>9s}  peer")
    for name, fps, note in rows:
        print(f"{name:62s} {fps:9.1f}  {note}")


def fill_in_table() -> None:
    from lifting import fill_in
    from mocap.filters import fill_gaps
    from mocap.skeleton import INDEX, LEFT_HAND, RIGHT_HAND
    from mocap.synthetic import synthetic_session
    from mocap.synthetic.monocular import monocular_views, occlude
    from mocap.triangulate import triangulate

    hidden_parts = (([INDEX["left_wrist"]] + list(range(LEFT_HAND.start, LEFT_HAND.stop)), slice(30, 75), 0),
                    ([INDEX["right_ankle"], 20, 21, 22], slice(100, 140), 2),
                    ([INDEX["right_elbow"], INDEX["right_wrist"]] + list(range(RIGHT_HAND.start, RIGHT_HAND.stop)),
                     slice(160, 200), 1))
    rows = []
    for seed in (3, 4, 5):
        group, kp, truth = synthetic_session(240, seed=seed)
        hidden = np.zeros(truth.shape[:3], bool)
        for points, frames, cam in hidden_parts:
            kp = occlude(kp, points, frames, cam)
            hidden[frames, :, points] = True
        kp3d = triangulate(group, kp)
        lifted = monocular_views(group, truth, seed=seed + 10)
        t = time.perf_counter()
        result = fill_in(kp3d, lifted, kp.score)
        t_fill = time.perf_counter() - t
        got = hidden & (result.keypoints.source == 2)
        err = lambda x: np.linalg.norm(x - truth, axis=-1)[got]  # noqa: E731
        loose = fill_in(kp3d, lifted, kp.score, anchor=False).keypoints.xyz
        rows.append((seed, got.sum(), err(result.keypoints.xyz), err(loose), err(fill_gaps(kp3d.xyz, max_gap=10 ** 6)),
                     err(fill_gaps(kp3d.xyz, max_gap=10 ** 6, method="cubic")),
                     t_fill))
    print("\nFill-in of keypoints one camera saw (synthetic, 4 cameras, 240 frames; median / mean error, mm)")
    print(f"{'scene':>5s} {'points':>6s} {'lifted':>12s} {'no anchor':>12s} {'linear interp':>14s} "
          f"{'cubic interp':>13s} {'ratio':>6s} {'fill ms':>8s}")
    for seed, n, a, b, c, d, t in rows:
        cell = lambda e: f"{1000 * np.nanmedian(e):5.0f} / {1000 * np.nanmean(e):4.0f}"  # noqa: E731
        print(f"{seed:5d} {n:6d} {cell(a):>12s} {cell(b):>12s} {cell(c):>14s} {cell(d):>13s} "
              f"{np.nanmedian(c) / np.median(a):5.1f}x {1000 * t:8.1f}")
    print("ratio: linear interpolation's median error over the fill-in's (Pose2Sim / FreeMoCap interpolate)")


def placement_table(n_frames: int) -> None:
    from lifting import similarity
    from mocap.api import load_calibration, triangulate_openpose
    from mocap.lift import estimate_lifted, lift_camera, make_lifting_backend

    group = load_calibration(DEMO / "calibration" / "Calib.qca.txt")
    folders = sorted((DEMO / "pose2d_openpose_body25b").glob("cam*_json"))
    with tempfile.TemporaryDirectory() as tmp:
        truth = triangulate_openpose(DEMO / "calibration" / "Calib.qca.txt", folders, tmp, layout="body_25b", fps=60,
                                     persons=1, progress=False).keypoints.xyz[:n_frames, 0]
    body = [k for k in range(23) if np.isfinite(truth[:, k]).any()]
    print(f"\nSingle-camera placement on the demo, MediaPipe world landmarks, against the 4-camera OpenPose body "
          f"({n_frames} frames; median mm over {len(body)} body points)")
    print(f"{'camera':7s} {'floor':6s} {'height m':>14s} {'raw':>5s} {'clip sim':>9s} {'frame sim':>10s} "
          f"{'thigh':>6s} {'shank':>6s} {'2D on subject':>14s}")
    for cam in group.names:
        backend = make_lifting_backend("mediapipe")
        views = estimate_lifted([DEMO / "videos" / f"{cam}.mp4"], backend, stop=n_frames, progress=False)
        backend.close()
        # frames whose 2D body lies on the subject (a single-person 2D backend may follow the bystander)
        xy = views.keypoints.xy[0, :, 0] * group[cam].size / views.keypoints.image_sizes[0]
        n = min(len(xy), len(truth))
        miss = np.nanmedian(np.linalg.norm(group[cam].project(truth[:n])[:, :17] - xy[:n, :17], axis=-1), -1)
        on_subject = np.mean(miss < 40)
        for world_frame, height in (("floor", None), ("z_up", None), ("z_up", 1.65)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                out = lift_camera(views, cam, group[cam], world_frame=world_frame, height=height)
            x = out.keypoints.xyz[:, 0]
            n = min(len(x), len(truth))
            a, b = x[:n, body], truth[:n, body]
            raw = np.nanmedian(np.linalg.norm(a - b, axis=-1))
            one = similarity(a.reshape(1, -1, 3), b.reshape(1, -1, 3))
            clip = np.nanmedian(np.linalg.norm(one.apply(a.reshape(1, -1, 3)) - b.reshape(1, -1, 3), axis=-1))
            per = np.nanmedian(np.linalg.norm(similarity(a, b).apply(a) - b, axis=-1))
            thigh = np.nanmedian(np.linalg.norm(x[:, 11] - x[:, 13], axis=-1))
            shank = np.nanmedian(np.linalg.norm(x[:, 13] - x[:, 15], axis=-1))
            h = f"{out.placement.height[0]:.2f} {out.placement.height_source}"
            print(f"{cam:7s} {'known' if world_frame == 'floor' else 'no':6s} {h:>14s} {1000 * raw:5.0f} "
                  f"{1000 * clip:9.0f} {1000 * per:10.0f} {thigh:6.3f} {shank:6.3f} {on_subject:14.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-placement", action="store_true")
    args = parser.parse_args()
    if not DEMO.is_dir():
        print(f"the Pose2Sim demo is not at {DEMO}: speed and placement need it (set MOCAP_SHARED)")
        args.skip_speed = args.skip_placement = True
    if not args.skip_speed:
        speed(min(args.frames, 40))
    fill_in_table()
    if not args.skip_placement:
        placement_table(args.frames)


if __name__ == "__main__":
    main()

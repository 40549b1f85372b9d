"""Benchmark of the 2D stage: our batched ``rtmw`` path against rtmlib, and the offline backend.

Both top-down pipelines get the same ONNX files: the real RTMDet-nano person detector
(``../shared/models/rtmdet_nano_person``) and a **stand-in network of RTMW's size** built here with
random weights (RTMW's signature, 256x192 input, 133 keypoints, SimCC x2 outputs; a plain conv
stack of about RTMW-l's compute, printed), so the comparison is about the pipeline, not the
weights (real RTMW weights are not available here; rtmlib equivalence is tested in
``tests/test_pose2d_rtmlib.py``).
Frames come from the 4 Pose2Sim demo videos (1080x1920, a subject and a bystander in two views).

* ours: :func:`mocap.pose2d.run.estimate_videos` (parallel decoding, all crops of
  ``--batch-frames`` time steps x 4 cameras in one pose batch, vectorised pre/post-processing);
* rtmlib 0.0.16 (if installed): ``RTMDet`` + ``RTMPose`` per frame as its README shows (one pose
  inference per box), frames decoded with OpenCV one camera after the other.

Then the offline backend (``mediapipe``: MediaPipe Pose on the whole frame, one tracker per
camera) on the 4 demo videos, with and without the face and hand crops, side by side: frames per
second and the share of frames in which each part (person, face, left hand, right hand) is found.

Reported: frames per second (one "frame" = one image of one camera), per-frame pre/post-processing
time and model time of the pose stage. Usage::

    python bench/pose2d.py [--frames 8] [--device cpu|cuda|auto] [--mediapipe-frames 100] [--width 1.5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"


def build_pose_net(path: Path, width: float = 1.5) -> float:
    """The stand-in pose network (RTMW's signature and about its compute, random weights); GFLOPs."""
    from mocap.pose2d.testmodels import RTMW_SIZED_PLAN, random_simcc_model

    return random_simcc_model(path, input_size=(192, 256), plan=RTMW_SIZED_PLAN, width=width, hidden=256)


def bench_ours(videos, pose_path, det_path, frames, device, batch_frames):
    from mocap.pose2d.detector import PersonDetector
    from mocap.pose2d.rtmw import RTMWBackend, SimCCPoseModel
    from mocap.pose2d.run import estimate_videos

    backend = RTMWBackend(SimCCPoseModel(pose_path, device=device),
                          PersonDetector(det_path, input_size=(320, 320), device=device))
    estimate_videos(videos, backend, stop=2, batch_frames=2, progress=False)  # warm-up (and ORT's first-run cost)
    backend.timings = dict.fromkeys(backend.timings, 0.0)
    t = time.perf_counter()
    kp = estimate_videos(videos, backend, stop=frames, batch_frames=batch_frames, progress=False)
    total = time.perf_counter() - t
    n = kp.n_cameras * kp.n_frames
    crops = int((kp.score > 0).any(-1).sum())
    return dict(fps=n / total, n=n, crops=crops, provider=backend.provider,
                pre=backend.timings["preprocess"] / n, post=backend.timings["postprocess"] / n,
                model=backend.timings["infer"] / n, det=backend.timings["detect"] / n)


def bench_rtmlib(videos, pose_path, det_path, frames, device):
    try:
        from rtmlib import RTMDet, RTMPose
    except ImportError:
        return None
    import cv2

    det = RTMDet(str(det_path), model_input_size=(320, 320), backend="onnxruntime", device=device)
    pose = RTMPose(str(pose_path), model_input_size=(192, 256), backend="onnxruntime", device=device)
    caps = [cv2.VideoCapture(str(v)) for v in videos]
    imgs0 = [c.read()[1] for c in caps]
    for img in imgs0[:2]:  # warm-up
        pose(img, det(img))
    for c in caps:
        c.set(cv2.CAP_PROP_POS_FRAMES, 0)
    t_pre = t_model = t_post = 0.0
    n = 0
    t0 = time.perf_counter()
    for _ in range(frames):
        for c in caps:
            ok, img = c.read()
            if not ok:
                continue
            boxes = det(img)
            for box in boxes:  # what RTMPose.__call__ does, timed per stage
                a = time.perf_counter()
                x, center, scale = pose.preprocess(img, box)
                b = time.perf_counter()
                out = pose.inference(x)
                d = time.perf_counter()
                pose.postprocess(out, center, scale)
                e = time.perf_counter()
                t_pre, t_model, t_post = t_pre + b - a, t_model + d - b, t_post + e - d
            n += 1
    total = time.perf_counter() - t0
    return dict(fps=n / total, n=n, pre=t_pre / n, post=t_post / n, model=t_model / n)


def bench_mediapipe(videos, frames, crops: bool):
    """The offline backend on all cameras (whole frame, video mode): fps and found rate per part."""
    try:
        from mocap.pose2d.mediapipe_backend import MediaPipeBackend
    except ImportError:
        return None
    from mocap.pose2d.run import estimate_videos
    from mocap.skeleton import BODY, FACE, LEFT_HAND, RIGHT_HAND

    backend = MediaPipeBackend(hands=crops, face=crops)
    estimate_videos(videos, backend, stop=3, progress=False)  # warm-up: graphs and models loaded
    backend.close()
    t = time.perf_counter()
    kp = estimate_videos(videos, backend, stop=frames, progress=False)
    total = time.perf_counter() - t
    backend.close()
    found = {part: float((kp.score[..., sl] > 0).any(-1).any(-1).mean())
             for part, sl in (("person", BODY), ("face", FACE), ("left hand", LEFT_HAND), ("right hand", RIGHT_HAND))}
    return dict(fps=kp.n_cameras * kp.n_frames / total, n=kp.n_cameras * kp.n_frames, found=found)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=8, help="time steps per camera")
    ap.add_argument("--batch-frames", type=int, default=4)
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto (ours); rtmlib gets cpu or cuda")
    ap.add_argument("--width", type=float, default=1.5, help="channel multiplier of the random pose net")
    ap.add_argument("--mediapipe-frames", type=int, default=100, help="time steps per camera for the offline "
                    "backend (0: skip it)")
    args = ap.parse_args(argv)
    demo = SHARED / "data" / "pose2sim_demo" / "videos"
    det = SHARED / "models" / "rtmdet_nano_person" / "end2end.onnx"
    videos = sorted(demo.glob("cam0*.mp4"))
    with tempfile.TemporaryDirectory() as tmp:
        pose = Path(tmp) / "pose_bench.onnx"
        gflops = build_pose_net(pose, args.width)
        print(f"pose net: a stand-in network of RTMW's size (its signature: 1x3x256x192 -> SimCC 133x384 and "
              f"133x512; random weights, {gflops:.2f} GFLOPs per crop): it times the pipeline, not real weights; "
              f"detector RTMDet-nano (real); {len(videos)} cameras x {args.frames} frames")
        ours = bench_ours(videos, pose, det, args.frames, args.device, args.batch_frames)
        rt = bench_rtmlib(videos, pose, det, args.frames, "cuda" if args.device == "cuda" else "cpu")
    rows = [("mocap rtmw (batched)", ours)] + ([("rtmlib 0.0.16", rt)] if rt else [])
    print(f"{'pipeline':24s} {'fps':>7s} {'pre ms/frame':>13s} {'post ms/frame':>14s} {'model ms/frame':>15s} "
          f"{'pre+post / model':>17s}")
    for name, r in rows:
        print(f"{name:24s} {r['fps']:7.2f} {1e3 * r['pre']:13.2f} {1e3 * r['post']:14.2f} {1e3 * r['model']:15.1f} "
              f"{(r['pre'] + r['post']) / r['model']:17.1%}")
    print(f"(ours ran on {ours['provider']}; {ours['crops']} person crops in {ours['n']} frames; "
          f"detector {1e3 * ours['det']:.1f} ms/frame)")
    if rt:
        print(f"throughput ratio ours / rtmlib: {ours['fps'] / rt['fps']:.2f}x")
    else:
        print("rtmlib is not installed: `pip install --no-deps rtmlib==0.0.16` to compare")
    if args.mediapipe_frames:
        runs = [(name, bench_mediapipe(videos, args.mediapipe_frames, crops)) for name, crops in
                (("pose only", False), ("pose + face/hand crops", True))]
        if runs[0][1] is None:
            print("mediapipe is not installed")
            return
        parts = list(runs[0][1]["found"])
        print(f"\noffline backend (MediaPipe, whole frame, video mode, CPU), {len(videos)} cameras x "
              f"{args.mediapipe_frames} frames; found = share of frames with the part:")
        print(f"{'mediapipe':24s} {'fps':>7s} " + " ".join(f"{p:>11s}" for p in parts))
        for name, r in runs:
            print(f"{name:24s} {r['fps']:7.2f} " + " ".join(f"{r['found'][p]:11.0%}" for p in parts))
        print(f"crops cost: {runs[0][1]['fps'] / runs[1][1]['fps']:.2f}x the time of the pose alone")


if __name__ == "__main__":
    main()

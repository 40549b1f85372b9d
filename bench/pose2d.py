"""Benchmark of the 2D stage: our batched ``rtmw`` path against rtmlib, and the mediapipe backend.

Both top-down pipelines get the same ONNX files: the real RTMDet-nano person detector
(``../shared/models/rtmdet_nano_person``) and a pose network of realistic size built here with
random weights (RTMPose signature, 256x192 input, 133 keypoints, SimCC x2 outputs; a plain
conv stack whose compute is printed), so the comparison is about the pipeline, not the weights.
Frames come from the 4 Pose2Sim demo videos (1080x1920, a subject and a bystander in two views).

* ours: :func:`mocap.pose2d.run.estimate_videos` (parallel decoding, all crops of
  ``--batch-frames`` time steps x 4 cameras in one pose batch, vectorised pre/post-processing);
* rtmlib 0.0.16 (if installed): ``RTMDet`` + ``RTMPose`` per frame as its README shows (one pose
  inference per box), frames decoded with OpenCV one camera after the other.

Reported: frames per second (one "frame" = one image of one camera), per-frame pre/post-processing
time and model time of the pose stage. Usage::

    python bench/pose2d.py [--frames 8] [--device cpu|cuda|auto] [--mediapipe-frames 8] [--width 1.0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"


def build_pose_net(path: Path, width: float = 1.0, input_size=(192, 256), k=133, seed=0) -> float:
    """A conv network with the RTMPose signature and random weights; returns its GFLOPs per crop."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w_in, h_in = input_size
    # (out channels, stride) per 3x3 conv: stem, then stages at 1/4, 1/8, 1/16, 1/32
    plan = [(32, 2), (64, 2), (64, 1), (64, 1), (128, 2), (128, 1), (128, 1), (256, 2), (256, 1), (256, 1),
            (256, 1), (512, 2), (512, 1), (512, 1), (512, 1)]
    nodes, inits, flops = [], [], 0.0
    x, c, h, w = "input", 3, h_in, w_in
    for i, (co, s) in enumerate(plan):
        co = max(8, int(co * width))
        wt = (rng.standard_normal((co, c, 3, 3)) * np.sqrt(2 / (9 * c))).astype(np.float32)
        inits += [numpy_helper.from_array(wt, f"w{i}"), numpy_helper.from_array(np.zeros(co, np.float32), f"b{i}")]
        h, w = (h + s - 1) // s, (w + s - 1) // s
        nodes += [helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                   strides=[s, s]), helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
        flops += 2 * co * c * 9 * h * w
        x, c = f"r{i}", co
    # head: 1x1 conv to K maps (h x w = 8 x 6), flatten, hidden 256, then SimCC x / y classifiers
    hidden = 256
    inits += [numpy_helper.from_array((rng.standard_normal((k, c, 1, 1)) / np.sqrt(c)).astype(np.float32), "wk"),
              numpy_helper.from_array(np.array([0, k, h * w], np.int64), "shape"),
              numpy_helper.from_array((rng.standard_normal((h * w, hidden)) / np.sqrt(h * w)).astype(np.float32), "head_w1"),
              numpy_helper.from_array((rng.standard_normal((hidden, 2 * w_in)) / 16).astype(np.float32), "wx"),
              numpy_helper.from_array((rng.standard_normal((hidden, 2 * h_in)) / 16).astype(np.float32), "wy")]
    nodes += [helper.make_node("Conv", [x, "wk"], ["kmap"]), helper.make_node("Reshape", ["kmap", "shape"], ["flat"]),
              helper.make_node("MatMul", ["flat", "head_w1"], ["hid0"]), helper.make_node("Relu", ["hid0"], ["hid"]),
              helper.make_node("MatMul", ["hid", "wx"], ["simcc_x"]), helper.make_node("MatMul", ["hid", "wy"], ["simcc_y"])]
    flops += 2 * (k * c * h * w + k * h * w * hidden + k * hidden * 2 * (w_in + h_in))
    graph = helper.make_graph(nodes, "pose_bench", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, h_in, w_in])],
                              [helper.make_tensor_value_info("simcc_x", TensorProto.FLOAT, ["N", k, 2 * w_in]),
                               helper.make_tensor_value_info("simcc_y", TensorProto.FLOAT, ["N", k, 2 * h_in])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return flops / 1e9


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


def bench_mediapipe(video, frames):
    try:
        from mocap.pose2d.mediapipe_backend import MediaPipeBackend
    except ImportError:
        return None
    from mocap.pose2d.run import estimate_videos

    backend = MediaPipeBackend()
    estimate_videos([video], backend, stop=2, progress=False)
    t = time.perf_counter()
    kp = estimate_videos([video], backend, stop=frames, progress=False)
    backend.close()
    return dict(fps=kp.n_frames / (time.perf_counter() - t), n=kp.n_frames)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=8, help="time steps per camera")
    ap.add_argument("--batch-frames", type=int, default=4)
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto (ours); rtmlib gets cpu or cuda")
    ap.add_argument("--width", type=float, default=1.5, help="channel multiplier of the random pose net")
    ap.add_argument("--mediapipe-frames", type=int, default=8)
    args = ap.parse_args(argv)
    demo = SHARED / "data" / "pose2sim_demo" / "videos"
    det = SHARED / "models" / "rtmdet_nano_person" / "end2end.onnx"
    videos = sorted(demo.glob("cam0*.mp4"))
    with tempfile.TemporaryDirectory() as tmp:
        pose = Path(tmp) / "pose_bench.onnx"
        gflops = build_pose_net(pose, args.width)
        print(f"pose net: random weights, 256x192 input, {gflops:.2f} GFLOPs per crop; detector RTMDet-nano; "
              f"{len(videos)} cameras x {args.frames} frames")
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
        mp = bench_mediapipe(videos[2], args.mediapipe_frames)
        print(f"mediapipe backend (Holistic, whole frame, CPU): {mp['fps']:.2f} fps over {mp['n']} frames"
              if mp else "mediapipe is not installed")


if __name__ == "__main__":
    main()

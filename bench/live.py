"""Live streaming: the Blender receiver on loopback, and ``mocap live`` on the real videos, on CPU.

1. **Receiver in Blender** (headless ``bpy``, the built extension installed): a ``mocap live
   --replay`` process streams the synthetic person retargeted onto the 60-joint whole-body armature
   (with its 133 keypoints) at 60 fps for ``--seconds``; Blender calls the receiver's tick in a loop,
   as its timer would. Measured: the tick's duration when it applies a frame (target: under 2 ms
   for a 60-joint armature), frames/s received and applied, and the latency from the frame's
   timestamp (when it was due to be sent) to the pose applied (target at 60 fps: p99 under 20 ms).
   Then a flood (the sender at 1000 fps) gives the frames/s one receiver sustains.
2. **Peer policy, same data**: a receiver that reads one message per 1/60 s tick (what Rokoko's
   Blender receiver does with its UDP datagrams), re-implemented on our decoder, against ours
   (drain everything, apply the newest), both outside Blender with the sender at 60 and 90 fps:
   latency median / p99, as a ratio.
3. **``mocap live`` with the 4 Pose2Sim demo videos as cameras** (MediaPipe Holistic on CPU):
   end-to-end frames/s and the median / p90 time of every stage.
4. **The 3D stage's per-frame steps**, on the synthetic person (133 keypoints, 60 fps, 5 % of the
   points missing): the one-euro filter (:class:`mocap.live.smoothing.OneEuroStream`) and the
   retargeting onto the 60-joint armature (:class:`mocap.live.retarget.LiveRetargeter`, after its
   calibration frames), median and p90 per frame.

    python bench/live.py [--seconds 10] [--camera-frames 12] [--no-blender] [--no-cameras] [--steps-only]

The machine is shared by several helpers: timings are noisy (the lead re-measures at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

from blender_addon.protocol import StreamDecoder  # noqa: E402
from blender_addon.receiver import Receiver  # noqa: E402
from mocap.data import Keypoints3D  # noqa: E402
from mocap.synthetic import human_motion  # noqa: E402

BLENDER = r"""
import json, subprocess, sys, time
import bpy
import numpy as np
zip_path, take, root, seconds, out = sys.argv[1:6]
bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
bpy.ops.wm.read_homefile(use_empty=True)
live = sys.modules["bl_ext.user_default.mocap.live"]
result = {}
for name, fps in (("60 fps", 60), ("flood", 1000)):
    s = live.start(bpy.context.scene, host="127.0.0.1", port=0)
    sender = subprocess.Popen([sys.executable, "-m", "mocap.cli", "--quiet", "live", "--replay", take, "--loop",
                               "--fps", str(fps), "--duration", seconds, "--send", f"127.0.0.1:{s.receiver.port}"],
                              cwd=root)
    ticks, latency, applied, first = [], [], 0, None
    while sender.poll() is None:
        t0 = time.perf_counter()
        live.tick()
        dt = time.perf_counter() - t0
        if s.counts["frames_applied"] > applied:
            now = time.time()
            if applied:  # the first frame builds the armature
                ticks.append(dt)
                latency.append(now - s.receiver.last.header.timestamp)
            first = first or now
            applied = s.counts["frames_applied"]
        time.sleep(0.001)  # Blender's timer interval is 4 ms; this is tighter, for latency
    span = time.time() - first
    c = s.counters()
    result[name] = dict(ticks=ticks, latency=latency, received=c["frames_received"] / span,
                        applied=c["frames_applied"] / span, bones=len(bpy.data.objects["mocap_live"].pose.bones),
                        problems=sum(c[k] for k in live.COUNTERS))
    live.stop()
    bpy.data.objects.remove(bpy.data.objects["mocap_live"])
json.dump(result, open(out, "w"))
"""


def take_file(folder: Path) -> Path:
    from mocap.retarget import retarget

    xyz = human_motion(600, 60.0, seed=4)
    seen = np.isfinite(xyz).all(-1)[:, None]
    kp = Keypoints3D(xyz=xyz[:, None], score=seen.astype(float), reproj_error=np.zeros(seen.shape), n_views=seen * 3,
                     fps=60.0)
    assert len(retarget(kp).motion.joint_names) == 60
    return kp.save(folder / "pose3d.npz")


def pct(values, q):
    return float(np.percentile(values, q)) * 1000 if len(values) else float("nan")


def bench_blender(folder: Path, take: Path, seconds: float) -> dict:
    zip_path = folder / "mocap_addon.zip"
    subprocess.run([sys.executable, "-m", "mocap.cli", "blender", "build-addon", "-o", str(zip_path)], cwd=ROOT,
                   check=True, capture_output=True)
    (folder / "home").mkdir(exist_ok=True)
    env = dict(os.environ, HOME=str(folder / "home"))
    out = folder / "blender.json"
    subprocess.run([sys.executable, "-c", BLENDER, str(zip_path), str(take), ROOT, str(seconds), str(out)], env=env,
                   check=True)
    return json.loads(out.read_text())


class OnePerTick:
    """The peer's policy: one message read per tick (the rest waits in the socket's buffer)."""

    def __init__(self, sock):
        self.sock, self.decoder, self.pending = sock, StreamDecoder(), []
        sock.setblocking(False)

    def tick(self):
        while not self.pending:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                return None
            if not data:
                return None
            self.pending += [m for m in self.decoder.feed(data) if hasattr(m, "body")]
        return self.pending.pop(0)


def run_policy(take: Path, fps: float, seconds: float, peer: bool) -> list:
    """Latencies (s) of the frames a 60 Hz tick applies, with our policy or the peer's."""
    import socket

    if peer:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
    else:
        rx = Receiver("127.0.0.1", 0).start()
        port = rx.port
    sender = subprocess.Popen([sys.executable, "-m", "mocap.cli", "--quiet", "live", "--replay", str(take), "--loop",
                               "--fps", str(fps), "--duration", str(seconds), "--send", f"127.0.0.1:{port}"],
                              cwd=ROOT)
    latency = []
    if peer:
        reader = OnePerTick(server.accept()[0])
    next_tick = time.time()
    while sender.poll() is None:
        next_tick += 1 / 60
        time.sleep(max(0.0, next_tick - time.time()))
        if peer:
            m = reader.tick()
            if m is not None and m.header.kind == 2:
                latency.append(time.time() - m.header.timestamp)
        else:
            r = rx.poll()
            if r.newest:
                latency.append(time.time() - r.newest[0].header.timestamp)
    if peer:
        reader.sock.close()
        server.close()
    else:
        rx.stop()
    return latency[5:]


def bench_cameras(n_frames: int) -> dict | None:
    shared = Path(os.environ.get("MOCAP_SHARED", Path(ROOT).resolve().parent / "shared")) / "data" / "pose2sim_demo"
    if not shared.is_dir():
        return None
    from mocap.live import live

    rx = Receiver("127.0.0.1", 0).start()
    stop = threading.Event()
    received = []

    def drain():
        while not stop.is_set():
            received.extend(rx.poll().frames)
            time.sleep(0.002)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    videos = sorted((shared / "videos").glob("cam*.mp4"))
    try:
        result = live(cameras=[str(v) for v in videos], calibration=shared / "calibration" / "Calib.qca.txt",
                      send=f"127.0.0.1:{rx.port}", max_frames=n_frames, loop=True, progress=False)
    finally:
        stop.set()
        thread.join()
        rx.stop()
    s = result.stats
    return dict(stats=s, received=len(received))


def bench_steps(n: int = 600) -> dict:
    """Per-frame seconds of the live filter and retargeting steps (section 4 of the module doc)."""
    from mocap.live.retarget import LiveRetargeter
    from mocap.live.smoothing import OneEuroStream

    xyz = human_motion(n, 60.0, seed=4)
    xyz[np.random.default_rng(0).random(xyz.shape[:2]) < 0.05] = np.nan
    stream, retargeter = OneEuroStream(60.0, 1.0, 0.5), LiveRetargeter(60.0)
    times = {"one-euro filter": [], "retarget (60 joints)": []}
    for t in range(n):
        t0 = time.perf_counter()
        x = stream(xyz[t], t / 60.0)
        t1 = time.perf_counter()
        calibrated = retargeter.calibrated
        retargeter(x)
        t2 = time.perf_counter()
        times["one-euro filter"].append(t1 - t0)
        if calibrated:
            times["retarget (60 joints)"].append(t2 - t1)
    return times


def print_cameras(res: dict) -> None:
    s = res["stats"]
    print("3. mocap live, 4 Pose2Sim demo videos (1080x1920, 60 fps) as cameras, MediaPipe on CPU")
    print(f"frame sets through 2D: {s.frame_sets} in {s.seconds:.1f} s ({s.frame_sets / s.seconds:.2f}/s); "
          f"sent {s.sent} ({s.sent / s.seconds:.2f} frames/s end to end; received {res['received']}); "
          f"video clock slipped {s.slipped:.1f} s (decoding behind real time)")
    print(f"{'stage':12s} {'median':>9s} {'p90':>9s}")
    for stage, (median, p90) in s.summary().items():
        print(f"{stage:12s} {median:7.1f}ms {p90:7.1f}ms")


def print_steps() -> None:
    print("4. The 3D stage's per-frame steps (synthetic person, 133 keypoints, 60 fps)")
    print(f"{'step':22s} {'frames':>7s} {'median':>9s} {'p90':>9s}")
    for name, values in bench_steps().items():
        print(f"{name:22s} {len(values):7d} {pct(values, 50):7.3f}ms {pct(values, 90):7.3f}ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="seconds of streaming per loopback measurement")
    ap.add_argument("--camera-frames", type=int, default=12, help="frames `mocap live` sends from the videos")
    ap.add_argument("--no-blender", action="store_true")
    ap.add_argument("--no-cameras", action="store_true")
    ap.add_argument("--steps-only", action="store_true", help="only section 4 (the per-frame steps)")
    args = ap.parse_args()
    import warnings
    warnings.simplefilter("ignore")
    if args.steps_only:
        return print_steps()
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        folder = Path(tmp)
        take = take_file(folder)
        print(f"bench/live.py on {os.cpu_count()} CPU cores (shared machine: timings are noisy)\n")
        if not args.no_blender:
            res = bench_blender(folder, take, args.seconds)
            print("1. Receiver in headless Blender, 60-joint whole-body armature + 133 keypoints, loopback")
            print(f"{'stream':10s} {'recv fps':>9s} {'applied fps':>12s} {'tick med':>9s} {'tick p99':>9s} "
                  f"{'tick max':>9s} {'lat med':>8s} {'lat p99':>8s} {'bad':>4s}")
            for name, r in res.items():
                print(f"{name:10s} {r['received']:9.1f} {r['applied']:12.1f} {pct(r['ticks'], 50):7.2f}ms "
                      f"{pct(r['ticks'], 99):7.2f}ms {max(r['ticks']) * 1000:7.2f}ms {pct(r['latency'], 50):6.1f}ms "
                      f"{pct(r['latency'], 99):6.1f}ms {r['problems']:4d}")
            r = res["60 fps"]
            print(f"targets: tick < 2 ms ({r['bones']} bones): {'met' if pct(r['ticks'], 50) < 2 else 'MISSED'} "
                  f"(median; p99 {pct(r['ticks'], 99):.2f} ms); replay at 60 fps p99 latency < 20 ms: "
                  f"{'met' if pct(r['latency'], 99) < 20 else 'MISSED'}\n")
        print("2. Newest-frame policy vs the peer's one-message-per-tick policy (60 Hz tick, same decoder)")
        print(f"{'sender':8s} {'ours med':>9s} {'ours p99':>9s} {'peer med':>9s} {'peer p99':>9s} "
              f"{'peer/ours p99':>14s}")
        for fps in (60, 90):
            ours = run_policy(take, fps, args.seconds / 2, peer=False)
            peer = run_policy(take, fps, args.seconds / 2, peer=True)
            print(f"{fps:5d}fps {pct(ours, 50):7.1f}ms {pct(ours, 99):7.1f}ms {pct(peer, 50):7.1f}ms "
                  f"{pct(peer, 99):7.1f}ms {pct(peer, 99) / pct(ours, 99):13.1f}x")
        print()
        if not args.no_cameras:
            res = bench_cameras(args.camera_frames)
            if res is None:
                print("3. skipped: ../shared/data/pose2sim_demo not found")
            else:
                print_cameras(res)
        print()
        print_steps()


if __name__ == "__main__":
    main()

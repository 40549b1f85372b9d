"""`mocap live`'s sender side, against independent receivers: the add-on's receiver on loopback,
python-osc for VMC, the batch one-euro filter and the batch retargeting as ground truth, real
`mocap live` processes (replay, cameras on the real Pose2Sim videos) and their bad input."""

import os
import socket
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from blender_addon.receiver import Receiver
from mocap import rotations as rot
from mocap.data import Keypoints3D
from mocap.filters import one_euro
from mocap.live import LiveFrame, LiveSkeleton, StreamSender, parse_address
from mocap.live.cameras import FrameSets, open_source
from mocap.live.retarget import LiveRetargeter
from mocap.live.smoothing import OneEuroStream
from mocap.live.vmc import to_unity_position
from mocap.retarget import forward_kinematics, retarget, target_positions, whole_body_motion
from mocap.synthetic import human_motion

FPS = 50.0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def take(tmp_path_factory):
    """A known motion: the synthetic person retargeted (100 frames), as pose3d.npz and motion.npz."""
    folder = tmp_path_factory.mktemp("take")
    xyz = human_motion(100, FPS, seed=5)
    seen = np.isfinite(xyz).all(-1)[:, None]
    kp = Keypoints3D(xyz=xyz[:, None], score=seen.astype(float), reproj_error=np.zeros(seen.shape),
                     n_views=seen * 3, fps=FPS)
    motion = retarget(kp).motion
    return dict(folder=folder, xyz=xyz, kp=kp, motion=motion, pose3d=kp.save(folder / "pose3d.npz"),
                motion_npz=motion.save(folder / "motion.npz"))


def _mocap(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "mocap.cli", "--quiet", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def _collect(rx, process=None, until=None, timeout=60.0):
    """Poll ``rx`` until ``process`` exits (and a moment after) or ``until(frames)``."""
    frames, end, quiet_since = [], time.time() + timeout, None
    while time.time() < end:
        frames += rx.poll(budget=0.01).frames
        if until is not None and until(frames):
            break
        if process is not None and process.poll() is not None:
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since > 0.3:
                break
        time.sleep(0.001)
    return frames


def test_parse_address():
    assert parse_address("127.0.0.1:9000") == ("127.0.0.1", 9000)
    assert parse_address("") == ("127.0.0.1", 9763) and parse_address(":1234") == ("127.0.0.1", 1234)
    assert parse_address("[::1]:5") == ("::1", 5) and parse_address("host") == ("host", 9763)
    from mocap.errors import SettingsError
    for bad in ("h:port", "h:0", "h:70000"):
        with pytest.raises(SettingsError, match="bad address"):
            parse_address(bad)


def _frames(motion, n=None):
    m = motion
    for i in range(n or m.n_frames):
        yield LiveFrame(timestamp=1000.0 + i / FPS, frame_index=i, root=m.root_translation[i],
                        rotations=m.rotations[i], fps=FPS)


def test_stream_sender_reaches_the_receiver_and_reconnects_with_its_skeleton(take):
    m = take["motion"]
    skeleton = LiveSkeleton.of(m)
    with Receiver("127.0.0.1", 0) as rx:
        port = rx.port
        sender = StreamSender("127.0.0.1", port, retry=0.05)
        for f in _frames(m, 40):
            assert sender.send(skeleton, f)
        got = _collect(rx, until=lambda fr: len(fr) == 40, timeout=5)
    assert [f.pose.frame_index for f in got] == list(range(40))
    assert got[0].skeleton.joint_names == m.joint_names
    assert np.abs(got[0].skeleton.offsets - m.offsets).max() < 1e-6
    fk_sent = forward_kinematics(m)[:40]
    rec = np.stack([f.pose.rotations for f in got])
    from mocap.data import Motion
    back = Motion(joint_names=m.joint_names, parents=m.parents, offsets=got[0].skeleton.offsets,
                  root_translation=np.stack([f.pose.root for f in got]), rotations=rec, fps=FPS)
    assert np.abs(forward_kinematics(back) - fk_sent).max() < 1e-5
    # The receiver is gone: frames are dropped, not queued, and the sender does not block.
    frames = list(_frames(m))
    assert not any(sender.send(skeleton, f) for f in frames[40:45])
    assert sender.dropped >= 5
    # A new receiver on the same port: the sender reconnects and sends the skeleton first.
    with Receiver("127.0.0.1", port) as rx2:
        time.sleep(0.1)
        sent = [f.frame_index for f in frames[45:] if sender.send(skeleton, f)]
        got2 = _collect(rx2, until=lambda fr: len(fr) == len(sent), timeout=5)
        assert rx2.counts["unknown_skeleton"] == 0
    sender.close()
    assert sender.connections == 2 and len(sent) > 40
    assert [f.pose.frame_index for f in got2] == sent


def test_stream_sender_drops_frames_when_the_receiver_stops_reading(take):
    m = take["motion"]
    skeleton = LiveSkeleton.of(m)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    sender = StreamSender("127.0.0.1", server.getsockname()[1])
    conn = None
    try:
        frames = list(_frames(m))
        for i in range(3000):
            sender.send(skeleton, frames[i % len(frames)])
            if conn is None:
                conn, _ = server.accept()  # accepted, never read
        # Drop, never queue: what was not dropped fits in the kernel's socket buffers.
        assert sender.dropped > 1000
        frame_bytes = 32 + 20 + 12 + 16 * len(m.joint_names)
        assert sender.sent * frame_bytes < 16 * (1 << 20)
    finally:
        sender.close(linger=0.0)
        if conn is not None:
            conn.close()
        server.close()


def test_replay_process_streams_the_take_at_its_frame_rate(take):
    with Receiver("127.0.0.1", 0) as rx:
        p = subprocess.Popen([sys.executable, "-m", "mocap.cli", "--quiet", "live", "--replay", str(take["pose3d"]),
                              "--send", f"127.0.0.1:{rx.port}"], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        frames = _collect(rx, p)
        out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "replayed" in out
    m, xyz = take["motion"], take["xyz"]
    # Skipped frames (a busy machine) are allowed; every frame that came is the right one, in order.
    index = np.array([f.pose.frame_index for f in frames])
    assert len(index) >= 90 and np.all(np.diff(index) > 0)
    # Each frame is stamped with the time it was due: start + i / fps, exactly.
    stamps = np.array([f.header.timestamp for f in frames])
    assert np.abs(np.diff(stamps) - np.diff(index) / FPS).max() < 1e-6
    assert all(f.header.fps == FPS for f in frames)
    rotations = np.stack([f.pose.rotations for f in frames])
    assert np.abs(np.abs(np.sum(rotations * m.rotations[index], -1)) - 1).max() < 1e-6
    # The raw keypoints travel along, NaN where missing.
    kp = np.stack([f.pose.keypoints for f in frames])
    assert frames[0].skeleton.keypoint_names[9] == "left_wrist" and kp.shape[1] == 133
    assert np.array_equal(np.isnan(kp), np.isnan(xyz[index]))
    assert np.nanmax(np.abs(kp - xyz[index])) < 1e-5


def test_vmc_bundles_decode_with_python_osc_into_the_motion_in_unity_axes(take):
    from pythonosc.osc_bundle import OscBundle
    from pythonosc.parsing import osc_types

    m = take["motion"]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(10)
    p = subprocess.Popen([sys.executable, "-m", "mocap.cli", "--quiet", "live", "--replay", str(take["motion_npz"]),
                          "--vmc", f"127.0.0.1:{udp.getsockname()[1]}", "--frames", "30"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    datagrams = []
    try:
        while len(datagrams) < 30:
            datagrams.append(udp.recv(65536))
    finally:
        udp.close()
        _, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    names = dict(zip(m.joint_names, range(len(m.joint_names))))
    fk = to_unity_position(forward_kinematics(m))  # our joints, in Unity's frame: the truth
    humanoid = {"Hips", "Spine", "Neck", "Head", "LeftShoulder", "LeftUpperArm", "LeftLowerArm", "LeftHand",
                "RightShoulder", "RightUpperArm", "RightLowerArm", "RightHand", "LeftUpperLeg", "LeftLowerLeg",
                "LeftFoot", "LeftToes", "RightUpperLeg", "RightLowerLeg", "RightFoot", "RightToes"}
    humanoid |= {f"{s}{f}{p}" for s in ("Left", "Right") for f in ("Thumb", "Index", "Middle", "Ring", "Little")
                 for p in ("Proximal", "Intermediate", "Distal")}
    ours = {"Hips": "pelvis", "Spine": "spine", "Neck": "neck", "Head": "head", "LeftToes": "left_toe",
            "LeftUpperLeg": "left_hip", "LeftLowerLeg": "left_knee", "LeftFoot": "left_ankle",
            "LeftShoulder": "left_clavicle", "LeftUpperArm": "left_shoulder", "LeftLowerArm": "left_elbow",
            "LeftHand": "left_wrist"}
    ours.update({f"Left{F}{part}": f"left_{f}{k}" for F, f in (("Thumb", "thumb"), ("Index", "index"),
                 ("Middle", "middle"), ("Ring", "ring"), ("Little", "pinky"))
                 for k, part in ((1, "Proximal"), (2, "Intermediate"), (3, "Distal"))})
    ours.update({k.replace("Left", "Right"): v.replace("left", "right") for k, v in ours.items() if "Left" in k})
    times = []
    for dgram in datagrams:
        bundle = OscBundle(dgram)
        msgs = [bundle.content(i) for i in range(bundle.num_contents)]
        addresses = [x.address for x in msgs]
        assert addresses[0] == "/VMC/Ext/Root/Pos" and addresses[-2:] == ["/VMC/Ext/OK", "/VMC/Ext/T"]
        assert set(addresses[1:-2]) == {"/VMC/Ext/Bone/Pos"}
        for x in msgs:  # argument types, read from the type tag string itself
            tags, _ = osc_types.get_string(x.dgram, len(osc_types.write_string(x.address)))
            want = {"/VMC/Ext/Root/Pos": ",sfffffff", "/VMC/Ext/Bone/Pos": ",sfffffff", "/VMC/Ext/OK": ",iii",
                    "/VMC/Ext/T": ",f"}[x.address]
            assert tags == want
        assert msgs[0].params == ["root", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0] and msgs[-2].params[0] == 1
        times.append(msgs[-1].params[0])
        bones = {x.params[0]: np.array(x.params[1:], dtype=float) for x in msgs[1:-2]}
        assert set(bones) == humanoid  # every humanoid bone we have; no finger tips
        # Which frame: the Hips position is the root translation.
        t = int(np.argmin(np.linalg.norm(to_unity_position(m.root_translation) - bones["Hips"][:3], axis=1)))
        # Forward kinematics in Unity's own frame, from the local poses received, lands on ours.
        world_q, world_p = {}, {}
        for unity_name, our in sorted(ours.items(), key=lambda kv: names[kv[1]]):
            p, (qx, qy, qz, qw) = bones[unity_name][:3], bones[unity_name][3:]
            q = np.array([qw, qx, qy, qz])
            parent = m.parents[names[our]]
            pname = next((u for u, o in ours.items() if names[o] == parent), None)
            if pname is None:
                world_q[unity_name], world_p[unity_name] = q, p
            else:
                world_q[unity_name] = rot.multiply(world_q[pname], q)
                world_p[unity_name] = world_p[pname] + rot.rotate(world_q[pname], p)
            assert np.abs(world_p[unity_name] - fk[t, names[our]]).max() < 1e-4, unity_name
        assert len(world_p) == len(humanoid)
    assert np.all(np.diff(times) > 0)


def test_one_euro_stream_equals_the_batch_filter_frame_by_frame():
    rng = np.random.default_rng(0)
    T, fps = 300, 60.0
    x = np.cumsum(rng.normal(0, 0.01, (T, 20, 3)), 0) + rng.normal(0, 0.003, (T, 20, 3))
    x[100:110, :4] = np.nan
    keep = np.sort(rng.choice(T, 200, replace=False))  # frames a busy pipeline dropped
    gapped = np.full_like(x, np.nan)
    gapped[keep] = x[keep]
    truth = one_euro(gapped, fps=fps, min_cutoff=1.0, beta=0.5)  # the whole past, batch
    stream = OneEuroStream(fps, 1.0, 0.5)
    live = np.array([stream(x[i], 5.0 + i / fps) for i in keep])
    assert np.array_equal(np.isnan(live), np.isnan(truth[keep]))
    # The window's start weighs < 1e-3: far below the millimetre.
    assert np.nanmax(np.abs(live - truth[keep])) < 2e-4
    assert np.nanmax(np.abs(live - x[keep])) > 2e-3  # it did filter


def test_live_retargeting_fixes_the_skeleton_then_follows_each_frame(take):
    xyz = take["xyz"][:40].copy()
    xyz[30, 9] = np.nan  # a missing left wrist in one frame
    live = LiveRetargeter(FPS, calibration_frames=10)
    out = [live(xyz[t]) for t in range(len(xyz))]
    assert all(o is None for o in out[:9]) and all(o is not None for o in out[9:])
    skeleton = out[9][0]
    assert all(o[0] is skeleton for o in out[9:])
    # Bone lengths: the batch fit's medians over the calibration frames.
    batch = whole_body_motion(Keypoints3D(xyz=xyz[:10, None], score=np.ones((10, 1, 133)),
                                          reproj_error=np.zeros((10, 1, 133)), n_views=np.full((10, 1, 133), 3),
                                          fps=FPS), foot_twist_window=1)
    assert np.abs(skeleton.offsets - batch.offsets).max() < 1e-9
    from mocap.data import Motion
    solved = Motion(joint_names=skeleton.joint_names, parents=skeleton.parents, offsets=skeleton.offsets,
                    root_translation=np.stack([o[1] for o in out[9:]]), rotations=np.stack([o[2] for o in out[9:]]),
                    fps=FPS)
    error = np.linalg.norm(forward_kinematics(solved) - target_positions(xyz[9:]), axis=-1)
    error = np.delete(error, 30 - 9, axis=0)  # the frame with the missing wrist: checked below
    batch_all = retarget(take["kp"]).motion
    batch_error = np.linalg.norm(forward_kinematics(batch_all)[9:40] - target_positions(take["xyz"][9:40]), axis=-1)
    print(f"\nlive retargeting: joints to keypoints mean {np.nanmean(error) * 1000:.2f} mm "
          f"(batch {np.nanmean(batch_error) * 1000:.2f} mm)")
    assert np.nanmean(error) < 2 * np.nanmean(batch_error) + 0.001 and np.nanmax(error) < 0.01
    # The frame missing the wrist keeps the elbow's previous rotation.
    elbow = skeleton.joint_names.index("left_elbow")
    assert np.allclose(out[30][2][elbow], out[29][2][elbow])


def _write_video(path, n, fps, size=(64, 48)):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for k in range(n):
        img = np.zeros((size[1], size[0], 3), np.uint8)
        img[:, :, 1] = 8 * k % 256  # the frame number, readable back
        w.write(img)
    w.release()
    return path


def test_video_files_play_in_step_on_one_clock(tmp_path):
    a = _write_video(tmp_path / "a.avi", 20, 25.0)
    b = _write_video(tmp_path / "b.avi", 20, 25.0)
    sources = [open_source(a), open_source(b)]
    clock = time.time()
    for s in sources:
        s.start(clock)
    sets = FrameSets(sources)
    got = []
    while (frames := sets.next()) is not None:
        got.append(frames)
        time.sleep(0.09)  # a slow consumer: frames in between are skipped, not queued
    sets.close()
    index = [f[0].index for f in got]
    assert all(f[0].index == f[1].index for f in got) and np.all(np.diff(index) > 0)
    assert len(got) < 20 and index[-1] >= 15
    for frames in got:
        assert abs(frames[0].timestamp - (clock + frames[0].index / 25.0)) < 1e-9
        assert abs(int(frames[1].image[0, 0, 1]) - 8 * frames[0].index % 256) <= 3  # the right picture
    looped = open_source(a, loop=True).start(time.time() - 3.0)  # 75 frames due: past the end, looping
    frame = looped.read_at(looped.due())
    assert frame.index >= 75 and abs(int(frame.image[0, 0, 1]) - 8 * (frame.index % 20)) <= 3


def test_bad_input_fails_in_one_line(tmp_path, take):
    cases = [
        (("live", "--replay", tmp_path / "missing.npz"), "missing.npz: file not found"),
        (("live", "--replay", take["pose3d"], "--send", "localhost:http"), "bad address"),
        (("live", "--replay", take["pose3d"], "--person", "3"), "person 3 does not exist"),
        (("live", "--cameras", "a.mp4", "b.mp4"), "needs --calibration"),
        (("live", "--cameras", tmp_path / "nope.mp4", tmp_path / "nope2.mp4", "--calibration", take["pose3d"]),
         None),
    ]
    cases.append((("blender", "build-addon", "-o", tmp_path / "no" / "such" / "folder.zip"),
                  "the output folder does not exist"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    cases.append((("live", "--replay", tmp_path / "junk.npz"), "junk.npz: not a readable .npz"))
    for args, message in cases:
        run = _mocap(*args)
        assert run.returncode == 2, (args, run.stderr)
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mocap: error:") and "Traceback" not in run.stderr, run.stderr
        if message:
            assert message in lines[0], lines[0]


@pytest.mark.realdata
def test_live_cameras_on_the_real_videos_match_the_offline_triangulation(pose2sim_demo, pose2sim_subject):
    """The 4 real videos played as cameras through MediaPipe -> triangulation -> one-euro ->
    retargeting into a receiver; the keypoints that arrive are compared with the offline
    triangulation of the same frames from the Pose2Sim demo's OpenPose keypoints."""
    videos = sorted((pose2sim_demo / "videos").glob("cam*.mp4"))
    cal = pose2sim_demo / "calibration" / "Calib.qca.txt"
    with Receiver("127.0.0.1", 0) as rx:
        p = subprocess.Popen([sys.executable, "-m", "mocap.cli", "live", "--cameras", *map(str, videos),
                              "--calibration", str(cal), "--send", f"127.0.0.1:{rx.port}", "--frames", "4",
                              "--calibration-frames", "2", "--loop", "--no-filter"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        frames = _collect(rx, p, timeout=240)
        out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err[-3000:]
    print("\n" + out)
    assert len(frames) == 4 and "pose2d" in out and "latency" in out
    skeleton = frames[0].skeleton
    assert len(skeleton.joint_names) == 60 and skeleton.keypoint_names[0] == "nose"
    lengths = dict(zip(skeleton.joint_names, np.linalg.norm(skeleton.offsets, axis=1)))
    assert 0.3 < lengths["left_knee"] < 0.6 and 0.3 < lengths["right_ankle"] < 0.6  # thighs and shins
    offline, _ = pose2sim_subject
    body = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]  # shoulders to ankles
    errors = []
    for f in frames:
        t = f.pose.frame_index % len(offline)
        errors.append(np.linalg.norm(f.pose.keypoints[body] - offline[t, body], axis=-1))
    errors = np.concatenate(errors)
    print(f"live (MediaPipe) vs offline (OpenPose) body keypoints: median {np.nanmedian(errors) * 100:.1f} cm")
    assert np.isfinite(errors).mean() > 0.9 and np.nanmedian(errors) < 0.08

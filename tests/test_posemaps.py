"""DWPose / ControlNet pose maps: the colour convention at known pixels, 3D rendered from a
calibrated camera landing on its own projection, virtual orbit cameras, the command line."""

import subprocess
import sys

import cv2
import numpy as np
import pytest

from mocap.data import Keypoints3D
from mocap.posemaps import BODY_COLORS, HAND_COLORS, draw_pose_map, look_at, orbit_cameras, write_png
from mocap.posemaps.draw import LIMB_SHADE
from mocap.skeleton import FACE, INDEX, LEFT_HAND, N_KEYPOINTS, get_layout


def _figure():
    """One person, every point placed by hand (image 400 x 500)."""
    xy = np.full((1, N_KEYPOINTS, 2), np.nan)
    pts = {"nose": (200, 60), "left_eye": (215, 50), "right_eye": (185, 50), "left_ear": (235, 55),
           "right_ear": (165, 55), "left_shoulder": (260, 120), "right_shoulder": (140, 120),
           "left_elbow": (290, 200), "right_elbow": (110, 200), "left_wrist": (300, 280), "right_wrist": (100, 280),
           "left_hip": (230, 280), "right_hip": (170, 280), "left_knee": (235, 380), "right_knee": (165, 380),
           "left_ankle": (240, 470), "right_ankle": (160, 470)}
    for name, p in pts.items():
        xy[0, INDEX[name]] = p
    xy[0, LEFT_HAND.start] = (300, 290)
    xy[0, LEFT_HAND.start + 1:LEFT_HAND.start + 5] = [(320, 300), (340, 310), (360, 320), (380, 330)]  # thumb
    xy[0, FACE.start + 30] = (200, 75)
    score = np.where(np.isfinite(xy[..., 0]), 0.9, 0.0)
    return xy, score


def test_body_limbs_points_hands_and_face_in_the_convention_colours():
    xy, score = _figure()
    img = draw_pose_map(xy, score, (400, 500))
    assert img.shape == (500, 400, 3) and img[0, 0].tolist() == [0, 0, 0]
    op = get_layout("openpose_18")
    # limb 0 (neck -> right shoulder) at 0.6 of red, limb 6 (neck -> right hip) at 0.6 of (0, 255, 85)
    neck = (xy[0, INDEX["left_shoulder"]] + xy[0, INDEX["right_shoulder"]]) / 2
    mid = np.round((neck + xy[0, INDEX["right_shoulder"]]) / 2).astype(int)
    assert img[mid[1], mid[0]].tolist() == [int(c * LIMB_SHADE) for c in BODY_COLORS[0]]
    mid = np.round(neck + 0.5 * (xy[0, INDEX["right_hip"]] - neck)).astype(int)
    assert img[mid[1], mid[0]].tolist() == [int(c * LIMB_SHADE) for c in BODY_COLORS[6]]
    # each body point at its own full colour (openpose_18 order: 2 right shoulder, 7 left wrist ...)
    for k, name in ((2, "right_shoulder"), (7, "left_wrist"), (10, "right_ankle"), (0, "nose"), (17, "left_ear")):
        assert op.to_wholebody[k] == INDEX[name]
        x, y = xy[0, INDEX[name]].astype(int)
        assert img[y, x].tolist() == BODY_COLORS[k].tolist(), name
    x, y = neck.astype(int)
    assert img[y, x].tolist() == BODY_COLORS[1].tolist()  # the neck, rebuilt
    # hand: edge 0 (wrist -> thumb CMC) in hue 0/20, points blue; face: white dots
    a, b = xy[0, LEFT_HAND.start], xy[0, LEFT_HAND.start + 1]
    mx, my = np.round((a + b) / 2).astype(int)
    assert img[my, mx].tolist() == HAND_COLORS[0].tolist() == [255, 0, 0]
    x, y = xy[0, LEFT_HAND.start + 4].astype(int)
    assert img[y, x].tolist() == [0, 0, 255]
    x, y = xy[0, FACE.start + 30].astype(int)
    assert img[y, x].tolist() == [255, 255, 255]
    # below the score threshold nothing is drawn
    assert not draw_pose_map(xy, score * 0.2, (400, 500)).any()


def test_png_is_rgb_on_disk(tmp_path):
    xy, score = _figure()
    img = draw_pose_map(xy, score, (400, 500))
    back = cv2.imread(str(write_png(tmp_path / "m.png", img)))[..., ::-1]
    np.testing.assert_array_equal(back, img)


def _apart(px, radius=4):
    """Points whose disc no other disc overlaps (a later disc hides part of an earlier one)."""
    d = np.linalg.norm(px[:, None] - px[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return ~(d < 2 * radius + 2).any(1)


def _disc_centres(img, xy_expected, colors, window=6):
    """Centroid of the pixels of each colour within ``window`` px of its expected place."""
    out = []
    for (x, y), c in zip(xy_expected, colors):
        x0, y0 = int(round(x)) - window, int(round(y)) - window
        patch = img[max(y0, 0):y0 + 2 * window + 1, max(x0, 0):x0 + 2 * window + 1]
        ys, xs = np.nonzero((patch == c).all(-1))
        out.append((xs.mean() + max(x0, 0), ys.mean() + max(y0, 0)) if len(xs) else (np.nan, np.nan))
    return np.array(out)


def test_a_3d_skeleton_rendered_from_a_calibrated_camera_lands_on_its_projection(pose2sim_subject, pose2sim_demo,
                                                                                 tmp_path):
    from mocap.api import load_calibration
    from mocap.posemaps.run import render_pose_maps

    xyz, fps = pose2sim_subject
    kp = Keypoints3D(xyz=xyz[:5, None], score=np.full((5, 1, 133), 0.9), reproj_error=np.zeros((5, 1, 133)),
                     n_views=np.full((5, 1, 133), 4), fps=fps, frame_index=np.arange(20, 25))
    kp.save(tmp_path / "pose3d.npz")
    cal = pose2sim_demo / "calibration" / "Calib.qca.txt"
    folders = render_pose_maps(tmp_path / "pose3d.npz", tmp_path / "maps", camera=(str(cal), "cam02"), progress=False)
    assert [p.name for p in sorted(folders[0].glob("*.png"))] == [f"{t:06d}.png" for t in range(20, 25)]
    cam = load_calibration(cal)["cam02"]
    op = get_layout("openpose_18")
    body = [k for k in range(18) if op.to_wholebody[k] >= 0]
    img = cv2.imread(str(folders[0] / "000022.png"))[..., ::-1]
    assert img.shape == (cam.size[1], cam.size[0], 3)
    proj = cam.project(xyz[2, op.to_wholebody[body]])
    seen = np.isfinite(xyz[2, op.to_wholebody[body], 0]) & _apart(np.nan_to_num(proj, nan=-99))
    centres = _disc_centres(img, proj, BODY_COLORS[body])
    err = np.linalg.norm(centres - proj, axis=-1)[seen]
    assert seen.sum() >= 12 and np.nanmax(err) < 1.0, err
    # another size: the same picture scaled
    half = render_pose_maps(tmp_path / "pose3d.npz", tmp_path / "half", camera=(str(cal), "cam02"),
                            size=(cam.size[0] // 2, cam.size[1] // 2), progress=False)
    small = cv2.imread(str(half[0] / "000022.png"))[..., ::-1]
    proj_half = (proj + 0.5) / 2 - 0.5
    apart = seen & _apart(np.nan_to_num(proj_half, nan=-99))
    err = np.linalg.norm(_disc_centres(small, proj_half, BODY_COLORS[body]) - proj_half, axis=-1)[apart]
    assert apart.sum() >= 10 and np.nanmax(err) < 1.0


def test_orbit_cameras_circle_the_subject_and_look_at_it():
    rng = np.random.default_rng(0)
    pts = rng.uniform([-0.3, -0.2, 0.0], [0.3, 0.2, 1.8], (50, 3))
    cams = orbit_cameras(pts, 4, (300, 400))
    centre = np.array([0.0, 0.0, 0.9])
    dist = [np.linalg.norm(c.position[:2] - centre[:2]) for c in cams]
    assert np.allclose(dist, dist[0], rtol=0.05) and np.allclose([c.position[2] for c in cams], 0.9, atol=0.1)
    assert np.allclose(cams[0].position[:2] / dist[0], [0, -1], atol=0.05)  # the first on the -Y side
    for c in cams:
        px = c.project(pts)
        assert (px >= 0).all() and (px[:, 0] < 300).all() and (px[:, 1] < 400).all()  # the subject fits
        assert np.ptp(px[:, 1]) > 0.6 * 400                                             # and fills it
    lo, hi = np.percentile(pts, 1, axis=0), np.percentile(pts, 99, axis=0)
    for c in cams:  # all look at the centre of the subject's box, the picture's centre
        assert np.allclose(c.project(((lo + hi) / 2)[None])[0], [149.5, 199.5], atol=1e-6)
    R, t = look_at([0, -3, 1], [0, 0, 1])
    assert np.allclose(R @ np.array([0, 0, 1.0]), [0, -1, 0])  # world up is picture up (y down)


def _run(*args):
    return subprocess.run([sys.executable, "-m", "mocap.cli", "--quiet", "render-pose-maps", *map(str, args)],
                          capture_output=True, text=True)


def test_command_line_orbit_motion_and_bad_input(pose2sim_subject, pose2sim_demo, tmp_path):
    from mocap.retarget import retarget

    xyz, fps = pose2sim_subject
    kp = Keypoints3D(xyz=xyz[:6, None], score=np.full((6, 1, 133), 0.9), reproj_error=np.zeros((6, 1, 133)),
                     n_views=np.full((6, 1, 133), 4), fps=fps)
    kp.save(tmp_path / "pose3d.npz")
    run = _run(tmp_path / "pose3d.npz", "--orbit", 3, "--size", "128x192", "-o", tmp_path / "orbit")
    assert run.returncode == 0, run.stderr
    for i in range(3):
        files = sorted((tmp_path / "orbit" / f"orbit{i:03d}").glob("*.png"))
        assert len(files) == 6
        img = cv2.imread(str(files[0]))[..., ::-1]
        assert img.shape == (192, 128, 3) and (img == BODY_COLORS[2]).all(-1).any()  # right shoulder drawn
    # a motion: the armature's joints by forward kinematics, a standard head on its head joint
    motion = retarget(kp).motion
    motion.save(tmp_path / "motion.npz")
    run = _run(tmp_path / "motion.npz", "--camera", pose2sim_demo / "calibration" / "Calib.qca.txt", "cam01",
               "-o", tmp_path / "from_motion")
    assert run.returncode == 0, run.stderr
    img = cv2.imread(str(sorted((tmp_path / "from_motion" / "cam01").glob("*.png"))[0]))[..., ::-1]
    for k in (0, 2, 4, 7, 10, 13):  # nose, shoulders, wrists, ankles drawn in their colours
        assert (img == BODY_COLORS[k]).all(-1).any(), k
    # bad input: one line, exit 2, naming the problem
    for args, message in (((tmp_path / "pose3d.npz", "-o", tmp_path / "x"), "exactly one of --camera"),
                          ((tmp_path / "pose3d.npz", "--camera", pose2sim_demo / "calibration" / "Calib.qca.txt",
                            "cam09", "-o", tmp_path / "x"), "has no camera 'cam09'"),
                          ((tmp_path / "pose3d.npz", "--orbit", 2, "--size", "big", "-o", tmp_path / "x"),
                           "--size must be WIDTHxHEIGHT"),
                          ((tmp_path / "nothing.npz", "--orbit", 2, "-o", tmp_path / "x"), "nothing.npz: file not found")):
        run = _run(*args)
        assert run.returncode == 2 and message in run.stderr, run.stderr
        assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr


def test_pose2d_input_with_a_triangulations_swaps(tmp_path):
    from mocap.data import Keypoints2D
    from mocap.posemaps.run import render_pose_maps

    xy, score = _figure()
    kp = Keypoints2D(xy=xy[None, None].repeat(2, 1), score=score[None, None].repeat(2, 1), camera_names=("c",),
                     image_sizes=[[400, 500]], frame_index=[7, 8])
    kp.save(tmp_path / "pose2d.npz")
    swaps = np.zeros((1, 2, 1, 3), bool)
    swaps[0, 1, 0, 0] = True  # frame 8: the arms exchanged by triangulation
    k3 = Keypoints3D(xyz=np.zeros((2, 1, 133, 3)), score=np.ones((2, 1, 133)), reproj_error=np.zeros((2, 1, 133)),
                     n_views=np.full((2, 1, 133), 2), frame_index=[7, 8], camera_names=("c",),
                     detections=np.zeros((1, 2, 1)), view_swaps=swaps)
    k3.save(tmp_path / "pose3d.npz")
    folder = render_pose_maps(tmp_path / "pose2d.npz", tmp_path / "m", pose3d=tmp_path / "pose3d.npz",
                              progress=False)[0]
    a = cv2.imread(str(folder / "000007.png"))[..., ::-1]
    b = cv2.imread(str(folder / "000008.png"))[..., ::-1]
    x, y = xy[0, INDEX["right_wrist"]].astype(int)
    assert a[y, x].tolist() == BODY_COLORS[4].tolist()   # right wrist colour where the right wrist is
    assert b[y, x].tolist() == BODY_COLORS[7].tolist()   # after the exchange: labelled the left wrist
    with pytest.raises(Exception, match="--camera, --orbit and --size are for 3D input"):
        render_pose_maps(tmp_path / "pose2d.npz", tmp_path / "m2", orbit=2, progress=False)

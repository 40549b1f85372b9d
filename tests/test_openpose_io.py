"""Reading OpenPose JSON folders into Keypoints2D (133 layout)."""

import json

import numpy as np
import pytest

from conftest import write_openpose_folder
from mocap.errors import InputFileError, SettingsError
from mocap.io import read_openpose_json
from mocap.io.openpose import MissingFramesWarning
from mocap.skeleton import INDEX, LEFT_HAND, RIGHT_HAND, get_layout


def _person(rng, k=25):
    """Random points; for 25 points a BODY_25 person (Neck and MidHip at their neighbours' mid-points)."""
    values = np.column_stack([rng.uniform(0, 1000, (k, 2)), rng.uniform(0.1, 1, k)])
    if k == 25:
        values[1, :2] = (values[2, :2] + values[5, :2]) / 2
        values[8, :2] = (values[9, :2] + values[12, :2]) / 2
    return values


def test_people_in_any_order_and_missing_points_become_nan(tmp_path):
    rng = np.random.default_rng(0)
    a, b = _person(rng), _person(rng)
    a[3] = 0.0  # OpenPose's "not found"
    write_openpose_folder(tmp_path / "c1_json", [[a.ravel()], [b.ravel(), a.ravel()], []])
    write_openpose_folder(tmp_path / "c2_json", [[b.ravel()], [a.ravel()], [a.ravel()]])
    kp = read_openpose_json([tmp_path / "c1_json", tmp_path / "c2_json"], layout="body_25", progress=False)
    assert kp.camera_names == ("c1", "c2")
    assert kp.xy.shape == (2, 3, 2, 133, 2)
    body25 = get_layout("body_25")
    src = np.flatnonzero(body25.to_wholebody >= 0)
    dst = body25.to_wholebody[src]
    keep = src != 3
    np.testing.assert_allclose(kp.xy[0, 0, 0, dst[keep]], a[src[keep], :2])
    np.testing.assert_allclose(kp.score[0, 1, 1, dst[keep]], a[src[keep], 2])
    np.testing.assert_allclose(kp.xy[0, 1, 0, dst], b[src, :2])
    assert np.isnan(kp.xy[0, 0, 0, body25.to_wholebody[3]]).all() and kp.score[0, 0, 0, body25.to_wholebody[3]] == 0
    assert np.isnan(kp.xy[0, 2]).all() and (kp.score[0, 2] == 0).all()  # empty frame
    assert np.isnan(kp.xy[:, :, :, 91:]).all()  # no hands in these files


def test_frames_are_ordered_by_number_not_by_name(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cam_json"
    folder.mkdir()
    people = [_person(rng) for _ in range(11)]
    for t, p in enumerate(people):  # cam.9.json sorts after cam.10.json by name
        (folder / f"cam.{t}.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": p.ravel().tolist()}]}))
    kp = read_openpose_json([folder], layout="body_25", progress=False)
    nose = get_layout("body_25").to_wholebody[0]
    np.testing.assert_allclose(kp.xy[0, :, 0, nose], np.array([p[0, :2] for p in people]))


def test_hands_and_face_go_to_their_own_slots(tmp_path):
    rng = np.random.default_rng(2)
    body, face, left, right = _person(rng), _person(rng, 70), _person(rng, 21), _person(rng, 21)
    folder = tmp_path / "c_json"
    folder.mkdir()
    person = {"pose_keypoints_2d": body.ravel().tolist(), "face_keypoints_2d": face.ravel().tolist(),
              "hand_left_keypoints_2d": left.ravel().tolist(), "hand_right_keypoints_2d": right.ravel().tolist()}
    (folder / "c_0.json").write_text(json.dumps({"people": [person]}))
    kp = read_openpose_json([folder], layout="body_25", progress=False)
    np.testing.assert_allclose(kp.xy[0, 0, 0, LEFT_HAND], left[:, :2])
    np.testing.assert_allclose(kp.xy[0, 0, 0, RIGHT_HAND], right[:, :2])
    np.testing.assert_allclose(kp.xy[0, 0, 0, INDEX["face_30"]], face[30, :2])


def test_real_pose2sim_keypoints(pose2sim_demo):
    folders = sorted((pose2sim_demo / "pose2d_openpose_body25b").glob("cam*_json"))
    kp = read_openpose_json(folders, layout="body_25b", fps=60, progress=False)
    assert kp.camera_names == ("cam01", "cam02", "cam03", "cam04")
    # cam01 lists three people in one frame (a false detection), so P is 3.
    assert kp.xy.shape == (4, 100, 3, 133, 2)
    # cam01 and cam02 see the bystander too; cam03 and cam04 never list a second person.
    assert np.isfinite(kp.xy[:2, :, 1, :17]).any() and np.isnan(kp.xy[2:, :, 1:]).all()
    assert np.isfinite(kp.xy[0, :, 2, :17]).any(axis=(-1, -2)).sum() == 1
    assert np.isnan(kp.xy[..., 23:, :]).all()  # BODY_25B has no face or hands
    assert np.isfinite(kp.xy[:, :, 0, INDEX["left_heel"]]).mean() > 0.9


@pytest.mark.parametrize("case, message", [
    ("missing", "not found"),
    ("empty", "no OpenPose .json files"),
    ("malformed", "not valid JSON"),
    ("no_people", "no 'people' list"),
    ("wrong_count", "holds 18.0 keypoints, expected 25"),
    ("duplicate", "two files for frame 1"),
    ("unnumbered", "has no frame number"),
])
def test_bad_inputs_name_the_file_and_the_problem(tmp_path, case, message):
    rng = np.random.default_rng(3)
    good = write_openpose_folder(tmp_path / "good_json", [[_person(rng).ravel()]] * 3)
    bad = tmp_path / "bad_json"
    if case == "empty":
        bad.mkdir()
    elif case == "malformed":
        write_openpose_folder(bad, [[_person(rng).ravel()]] * 3)
        (bad / "cam_000000000001_keypoints.json").write_text('{"people": [{"pose_keypoints_2d": [1, 2,')
    elif case == "no_people":
        write_openpose_folder(bad, [[_person(rng).ravel()]] * 3)
        (bad / "cam_000000000002_keypoints.json").write_text('{"version": 1.3}')
    elif case == "wrong_count":
        write_openpose_folder(bad, [[_person(rng).ravel()], [_person(rng, 18).ravel()], []])
    elif case == "duplicate":
        write_openpose_folder(bad, [[_person(rng).ravel()]] * 3)
        (bad / "cam_1.json").write_text((bad / "cam_000000000001_keypoints.json").read_text())
    elif case == "unnumbered":
        write_openpose_folder(bad, [[_person(rng).ravel()]] * 3)
        (bad / "extra.json").write_text((bad / "cam_000000000001_keypoints.json").read_text())
    with pytest.raises(InputFileError, match=message) as err:
        read_openpose_json([good, bad], layout="body_25", progress=False)
    assert str(tmp_path) in str(err.value)  # the message names the file or folder


def test_peers_files_empty_people_missing_frames_and_pairing_by_number(tmp_path):
    """Pose2Sim-style files: empty person entries (placeholders), a frame missing in one camera,
    numbering that does not start at 0; cameras pair by frame number, not position."""
    rng = np.random.default_rng(6)
    a, b = _person(rng), _person(rng)
    empty = {"person_id": [-1], "pose_keypoints_2d": [], "face_keypoints_2d": [], "hand_left_keypoints_2d": [],
             "hand_right_keypoints_2d": []}
    for cam, frames in (("c1", (10, 11, 12, 13)), ("c2", (10, 12, 13))):  # c2 has no file for frame 11
        folder = tmp_path / f"{cam}_json"
        folder.mkdir()
        for n in frames:
            people = [empty, {"pose_keypoints_2d": (a if cam == "c1" else b).ravel().tolist()}] if n != 13 else [empty]
            (folder / f"{cam}.{n:04d}.json").write_text(json.dumps({"people": people}))
    with pytest.warns(MissingFramesWarning, match=r"c2: 1 of 4"):
        kp = read_openpose_json([tmp_path / "c1_json", tmp_path / "c2_json"], layout="body_25", fps=60, progress=False)
    assert np.array_equal(kp.frame_index, [10, 11, 12, 13]) and kp.fps == 60
    assert kp.xy.shape == (2, 4, 2, 133, 2)
    nose = get_layout("body_25").to_wholebody[0]
    np.testing.assert_allclose(kp.xy[1, [0, 2], 1, nose], [b[0, :2]] * 2)  # frames 10 and 12 of c2, slot kept
    assert np.isnan(kp.xy[1, 1]).all() and (kp.score[1, 1] == 0).all()      # c2 frame 11: missing
    assert np.isnan(kp.xy[:, :, 0]).all()                                   # the placeholders: no detection
    assert np.isnan(kp.xy[:, 3]).all()                                       # frame 13: only a placeholder
    np.testing.assert_allclose(kp.xy[0, 1, 1, nose], a[0, :2])


def test_files_written_every_other_frame_keep_their_numbers(tmp_path):
    rng = np.random.default_rng(7)
    folder = tmp_path / "c_json"
    folder.mkdir()
    for n in (4, 6, 8):
        (folder / f"c_{n:012d}_keypoints.json").write_text(json.dumps({"people": [{"pose_keypoints_2d": _person(rng).ravel().tolist()}]}))
    kp = read_openpose_json([folder], layout="body_25", fps=60, progress=False)
    assert np.array_equal(kp.frame_index, [4, 6, 8]) and kp.fps == 30


@pytest.mark.parametrize("written, claimed, looks", [("body_25", "body_25b", "BODY_25"), ("body_25b", "body_25", "BODY_25B")])
def test_layout_is_checked_against_the_data(pose2sim_demo, tmp_path, written, claimed, looks):
    """BODY_25 and BODY_25B both have 25 points: the mid-points tell them apart. The real demo is
    BODY_25B; written back as BODY_25 (Neck and MidHip rebuilt as mid-points) it is BODY_25."""
    from mocap.io import write_openpose_json

    real = sorted((pose2sim_demo / "pose2d_openpose_body25b").glob("cam0[12]_json"))
    kp = read_openpose_json(real, layout="body_25b", progress=False)
    folders = real if written == "body_25b" else write_openpose_json(kp, tmp_path, "body_25")
    assert read_openpose_json(folders, layout=written, progress=False).n_frames == 100
    with pytest.raises(SettingsError, match=f"does not match the data: it looks like {looks}.*use --layout {written}") as e:
        read_openpose_json(folders, layout=claimed, progress=False)
    assert str(folders[0]) in str(e.value)


def test_wrong_layout_through_the_command_line_exits_2(pose2sim_demo, tmp_path):
    import subprocess
    import sys

    folders = sorted((pose2sim_demo / "pose2d_openpose_body25b").glob("cam*_json"))
    run = subprocess.run([sys.executable, "-m", "mocap.cli", "--quiet", "triangulate", "--openpose-json", *map(str, folders),
                          "--calibration", str(pose2sim_demo / "calibration" / "Calib.qca.txt"), "--layout", "body_25",
                          "--fps", "60", "-o", str(tmp_path / "out")], capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    assert "looks like BODY_25B" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1

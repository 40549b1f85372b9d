"""BVH, TRC, CSV and NPZ writers: round trips, layouts, axis conversion, atomicity, bad input."""

import csv

import numpy as np
import pytest

from exporters import csv_columns, read_bvh, read_trc, write_bvh, write_csv, write_npz, write_trc
from exporters.bvh import COMMENT, bvh_to_world, world_to_bvh
from mocap.retarget import body_armature as A
from mocap.data import Keypoints3D, Motion
from mocap.errors import InputFileError, OutputError
from mocap.skeleton.wholebody import INDEX, NAMES
from test_armature import keypoints3d, synthetic_body


@pytest.fixture(scope="module")
def body():
    xyz, _ = synthetic_body(90, fps=25.0, seed=11)
    kp = keypoints3d(xyz, fps=25.0)
    return kp, A.body_motion(kp)


def _motion_lines(path):
    lines = path.read_text().splitlines()
    start = lines.index("MOTION")
    return lines, lines[start + 3:]


def test_bvh_round_trip_reproduces_the_joint_positions(body, tmp_path):
    _, motion = body
    path = write_bvh(motion, tmp_path / "walk.bvh")
    back = read_bvh(path)
    assert back.joint_names == motion.joint_names
    assert np.array_equal(back.parents, motion.parents)
    assert back.fps == 25.0 and back.n_frames == motion.n_frames
    assert np.abs(A.forward_kinematics(back) - A.forward_kinematics(motion)).max() < 1e-6
    assert np.abs(back.offsets[1:] - motion.offsets[1:]).max() < 1e-7
    # Without the comment line the file reads the same.
    plain = read_bvh(write_bvh(motion, tmp_path / "plain.bvh", comment=False))
    assert np.abs(A.forward_kinematics(plain) - A.forward_kinematics(motion)).max() < 1e-6


def test_bvh_layout_axes_and_units(body, tmp_path):
    _, motion = body
    path = write_bvh(motion, tmp_path / "walk.bvh")
    lines, frames = _motion_lines(path)
    assert lines[0] == "HIERARCHY" and lines[1] == f"{COMMENT}; first frame: video frame 0" and lines[2] == "ROOT pelvis"
    assert lines[4].split() == ["OFFSET", "0.0000000", "0.0000000", "0.0000000"]
    assert lines[5].split() == ["CHANNELS", "6", "Xposition", "Yposition", "Zposition",
                                "Zrotation", "Xrotation", "Yrotation"]
    assert f"Frames: {motion.n_frames}" in lines and "Frame Time: 0.04" in lines
    assert len(frames) == motion.n_frames
    values = np.array([f.split() for f in frames], dtype=float)
    # Root position: metres, world (x, y, z) written as (x, z, -y).
    x, y, z = motion.root_translation.T
    assert np.abs(values[:, :3] - np.stack([x, z, -y], axis=1)).max() < 1e-7
    # The neck sits straight above the spine in the rest pose: BVH +Y, the trunk length in metres.
    neck = lines.index("\t\tJOINT neck")
    assert np.allclose([float(v) for v in lines[neck + 2].split()[1:]], [0.0, motion.offsets[2, 2], 0.0])
    # Per-joint orders: twist axis in the middle (arms along X, legs along Y, feet along Z).
    channels = {}
    for i, line in enumerate(lines):
        if line.strip().startswith("JOINT"):
            channels[line.split()[1]] = lines[i + 3].split()[2:]
    assert channels["left_elbow"] == ["Zrotation", "Xrotation", "Yrotation"]
    assert channels["right_knee"] == ["Zrotation", "Yrotation", "Xrotation"]
    assert channels["left_ankle"] == ["Yrotation", "Zrotation", "Xrotation"]


def test_bvh_axis_helpers_invert_each_other():
    v = np.random.default_rng(0).normal(size=(10, 3))
    assert np.allclose(world_to_bvh([0.0, 0.0, 1.0]), [0.0, 1.0, 0.0])  # up is up
    assert np.allclose(world_to_bvh([0.0, -1.0, 0.0]), [0.0, 0.0, 1.0])  # facing -Y -> facing +Z
    assert np.allclose(bvh_to_world(world_to_bvh(v)), v)


def test_bvh_angles_do_not_jump_while_the_body_keeps_turning(tmp_path):
    xyz, _ = synthetic_body(400, seed=12)  # the pelvis turns 0.9 rad/s: two full turns
    motion = A.body_motion(keypoints3d(xyz))
    _, frames = _motion_lines(write_bvh(motion, tmp_path / "turn.bvh"))
    values = np.array([f.split() for f in frames], dtype=float)
    angles = values[:, 3:]
    assert np.ptp(angles[:, :3], axis=0).max() > 360  # the root's heading is unwrapped past 360°
    assert np.abs(np.diff(angles, axis=0)).max() < 60


def test_bvh_write_is_atomic_when_it_fails_midway(body, tmp_path):
    _, motion = body
    path = tmp_path / "take.bvh"
    path.write_text("the previous take\n")
    rotations = motion.rotations.copy()
    rotations[70:] = np.nan  # frames 0-69 are fine: the writer fails after writing them
    broken = Motion(joint_names=motion.joint_names, parents=motion.parents, offsets=motion.offsets,
                    root_translation=motion.root_translation, rotations=rotations, fps=motion.fps)
    with pytest.raises(ValueError, match="frame 70"):
        write_bvh(broken, path, chunk=20)
    assert path.read_text() == "the previous take\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.bvh"]  # no temporary file left
    with pytest.raises(OutputError, match="does not exist"):
        write_bvh(motion, tmp_path / "missing" / "take.bvh")


GOOD = """HIERARCHY
ROOT hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT leg
  {
    OFFSET 0 -40 0
    CHANNELS 3 Xrotation Yrotation Zrotation
    End Site
    {
      OFFSET 0 -40 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
0 90 0 0 0 0 0 0 0
10 90 5 90 0 0 30 0 0
"""


def test_read_bvh_of_a_foreign_file_in_centimetres(tmp_path):
    path = tmp_path / "cm.bvh"
    path.write_text(GOOD)
    motion = read_bvh(path, scale=0.01)
    assert motion.joint_names == ("hips", "leg") and motion.fps == 30.0
    pos = A.forward_kinematics(motion)
    # Frame 0: hips at BVH (0, 90, 0) cm = world (0, 0, 0.9) m; the leg 40 cm below.
    assert np.allclose(pos[0], [[0, 0, 0.9], [0, 0, 0.5]])
    # Frame 1: hips at BVH (10, 90, 5) cm -> world (0.1, -0.05, 0.9); turned 90° about BVH Z
    # (world -Y), which swings the leg's BVH -Y offset to BVH +X.
    assert np.allclose(pos[1], [[0.1, -0.05, 0.9], [0.5, -0.05, 0.9]])


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.replace("HIERARCHY\n", ""), "does not start with HIERARCHY"),
    (lambda s: s[:s.index("MOTION")], "no MOTION section"),
    (lambda s: s.replace("10 90 5 90 0 0 30 0 0", "10 90 5 90 0 0 30 0"), "line 20: frame 2 has 8 values, expected 9"),
    (lambda s: s.replace("10 90 5 90 0 0 30 0 0", "10 90 5 90 0 0 30 0 x"), "line 20: frame 2: 'x' is not a number"),
    (lambda s: s.replace("Frames: 2", "Frames: 3"), "declares 3 frames but holds 2"),
    (lambda s: s.replace("Frame Time: 0.0333333", "Frame Time: -1"), "line 18: the frame time must be a positive"),
    (lambda s: s.replace("Xrotation Yrotation Zrotation", "Xrotation Yrotation Wrotation"), "line 9: unknown channel"),
    (lambda s: s.replace("CHANNELS 3", "CHANNELS 4"), "line 9: CHANNELS announces 4 channels but lists 3"),
    (lambda s: s.replace("  }\n}\nMOTION", "  }\nMOTION"), "unbalanced braces"),
])
def test_read_bvh_names_the_problem(tmp_path, edit, message):
    path = tmp_path / "bad.bvh"
    path.write_text(edit(GOOD))
    with pytest.raises(InputFileError, match=message) as info:
        read_bvh(path)
    assert str(path) in str(info.value)
    with pytest.raises(InputFileError, match="file not found"):
        read_bvh(tmp_path / "nothing.bvh")


@pytest.fixture(scope="module")
def gappy():
    """Two persons, with whole keypoints missing (the last marker of frame 3 among them)."""
    xyz, _ = synthetic_body(30, seed=13)
    xyz = np.stack([xyz, xyz + [2.0, 0.0, 0.0]], axis=1)
    xyz[3, 0, -1] = np.nan
    xyz[5:8, 0, INDEX["nose"]] = np.nan
    return keypoints3d(xyz, fps=60.0)


@pytest.mark.parametrize("units, scale", [("m", 1.0), ("mm", 1000.0)])
def test_trc_round_trip_and_layout(gappy, tmp_path, units, scale):
    path = write_trc(gappy, tmp_path / "markers.trc", person=0, units=units)
    back = read_trc(path)
    assert back.fps == 60.0 and back.xyz.shape == (30, 1, 133, 3)
    same_nan = np.isnan(back.xyz) == np.isnan(gappy.xyz[:, :1])
    assert same_nan.all()
    # 6 decimals in metres, 3 in millimetres: both round to half a micrometre.
    assert np.nanmax(np.abs(back.xyz - gappy.xyz[:, :1])) <= 5e-7 + 1e-12
    assert np.array_equal(back.score[:, 0] > 0, np.isfinite(gappy.xyz[:, 0, :, 0]))

    lines = path.read_text().split("\n")
    first = lines[0].split("\t")
    assert first[:3] == ["PathFileType", "4", "(X/Y/Z)"] and "Y up" in first[3] and len(first) == 4
    assert lines[1].split("\t") == ["DataRate", "CameraRate", "NumFrames", "NumMarkers", "Units",
                                    "OrigDataRate", "OrigDataStartFrame", "OrigNumFrames"]
    assert lines[2].split("\t") == ["60", "60", "30", "133", units, "60", "1", "30"]
    assert [x for x in lines[3].split("\t") if x] == ["Frame#", "Time"] + list(NAMES)
    assert lines[4].split("\t")[2:5] == ["X1", "Y1", "Z1"] and lines[5] == ""
    # Frame 1, time 0, then the nose written Y up: (x, z, -y), in the file's units.
    row = lines[6].split("\t")
    nose = gappy.xyz[0, 0, INDEX["nose"]]
    assert row[:2] == ["1", "0.000000"]
    assert np.allclose([float(v) for v in row[2:5]], np.array([nose[0], nose[2], -nose[1]]) * scale, atol=1e-3)
    # A missing marker is NaN NaN NaN; every value is followed by a tab, so OpenSim's
    # tab splitting sees 2 + 3 * 133 fields even when the last marker is missing.
    row3 = lines[6 + 3].split("\t")
    assert len(row3) == 2 + 3 * 133 + 1 and row3[-4:] == ["NaN", "NaN", "NaN", ""]
    assert lines[6 + 5].split("\t")[2:5] == ["NaN", "NaN", "NaN"]


def test_read_trc_rejects_what_it_cannot_read(gappy, tmp_path):
    path = write_trc(gappy, tmp_path / "m.trc")
    text = path.read_text()
    bad = tmp_path / "bad.trc"
    bad.write_text(text.replace("\tleft_eye\t", "\tLEye\t", 1))
    with pytest.raises(InputFileError, match="not COCO-WholeBody names: LEye"):
        read_trc(bad)
    lines = text.split("\n")
    lines[8] = "\t".join(lines[8].split("\t")[:-5])
    bad.write_text("\n".join(lines))
    with pytest.raises(InputFileError, match="line 9: 397 fields, expected 401"):
        read_trc(bad)
    bad.write_text("Frame#\tTime\n")
    with pytest.raises(InputFileError, match="not a TRC file"):
        read_trc(bad)


def test_csv_columns_rows_and_values(gappy, tmp_path):
    path = write_csv(gappy, tmp_path / "points.csv")
    with open(path, newline="") as f:
        note = f.readline()
        rows = list(csv.reader(f))
    assert note.startswith("#") and "Z up" in note and "metres" in note
    header, data = rows[0], rows[1:]
    assert header == csv_columns() and header[:6] == ["frame", "time", "person", "nose_x", "nose_y", "nose_z"]
    assert len(header) == 3 + 3 * 133 and len(data) == 30 * 2
    # Frame-major: frame 7, person 1 is row 15; time = frame / fps.
    row = data[7 * 2 + 1]
    assert row[:3] == ["7", f"{7 / 60:.6f}", "1"]
    values = np.array([[float(v) if v else np.nan for v in r[3:]] for r in data]).reshape(30, 2, 133, 3)
    assert np.array_equal(np.isnan(values), np.isnan(gappy.xyz))
    assert np.nanmax(np.abs(values - gappy.xyz)) <= 5e-7  # world Z up, metres, unchanged
    assert data[5 * 2][3:6] == ["", "", ""]  # the missing nose


def test_npz_keeps_everything(gappy, tmp_path):
    back = Keypoints3D.load(write_npz(gappy, tmp_path / "points.npz"))
    assert np.array_equal(back.xyz, gappy.xyz, equal_nan=True)
    assert np.array_equal(back.n_views, gappy.n_views) and back.fps == gappy.fps

"""Keypoint layouts: the 133 bone tree, the layout tables, and the mapping functions."""

import glob
import json
import os
import re

import numpy as np
import pytest

from mocap.errors import SettingsError
from mocap.skeleton import (
    BODY_BONES, BONES, FACE, FACE468_TO_FACE68, INDEX, LAYOUTS, LEFT_HAND, MIRROR, N_KEYPOINTS,
    NAMES, PARENTS, RIGHT_HAND, ROOT, SIDES, bone_lengths, from_wholebody, get_layout,
    to_wholebody,
)
from mocap.skeleton.wholebody import FINGERS

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared")
BODY_25B_JSON = os.path.join(SHARED, "data", "pose2sim_demo", "pose2d_openpose_body25b")


def path_to_root(i):
    path = [i]
    while PARENTS[path[-1]] >= 0:
        path.append(int(PARENTS[path[-1]]))
        assert len(path) <= N_KEYPOINTS, f"cycle through keypoint {i}"
    return path


# --- the tree ------------------------------------------------------------------------------------


def test_parents_is_one_tree():
    assert PARENTS.shape == (N_KEYPOINTS,)
    assert np.flatnonzero(PARENTS == -1).tolist() == [ROOT]
    assert ((PARENTS >= 0) | (PARENTS == -1)).all() and PARENTS.max() < N_KEYPOINTS
    for i in range(N_KEYPOINTS):
        assert path_to_root(i)[-1] == ROOT


def test_bones_match_parents():
    assert len(BONES) == N_KEYPOINTS - 1
    assert set(BONES) == {(int(PARENTS[c]), c) for c in range(N_KEYPOINTS) if c != ROOT}
    body = {(p, c) for p, c in BONES if p < FACE.start and c < FACE.start}
    assert set(BODY_BONES) == body
    # body + feet form a tree of their own: every one of the 23 points but the root is a child
    assert sorted(c for _, c in BODY_BONES) == [i for i in range(FACE.start) if i != ROOT]


def test_every_finger_is_a_chain_of_four_from_its_hand_wrist():
    for side, hand in (("left", LEFT_HAND), ("right", RIGHT_HAND)):
        wrist = hand.start
        assert NAMES[wrist] == f"{side}_hand_wrist"
        assert PARENTS[wrist] == INDEX[f"{side}_wrist"]
        for finger in FINGERS:
            tip = INDEX[f"{side}_hand_{finger}4"]
            path = path_to_root(tip)
            links = path[:path.index(wrist) + 1]
            assert len(links) == 5, (finger, [NAMES[i] for i in links])
            expected = [f"{side}_hand_{finger}{j}" for j in (4, 3, 2, 1)]
            assert [NAMES[i] for i in links[:4]] == expected


def test_tree_is_anatomical_by_names():
    # legs from the hips, feet from the ankles, arms from the shoulders, ears via the eyes
    for side in ("left", "right"):
        chain = [NAMES[i] for i in path_to_root(INDEX[f"{side}_heel"])]
        assert chain[:5] == [f"{side}_{n}" for n in ("heel", "ankle", "knee", "hip", "shoulder")]
        for toe in ("big_toe", "small_toe"):
            assert NAMES[PARENTS[INDEX[f"{side}_{toe}"]]] == f"{side}_ankle"
        chain = [NAMES[i] for i in path_to_root(INDEX[f"{side}_wrist"])]
        assert chain[:3] == [f"{side}_wrist", f"{side}_elbow", f"{side}_shoulder"]
        assert NAMES[PARENTS[INDEX[f"{side}_ear"]]] == f"{side}_eye"
    # every face point hangs (through face points only) from the nose
    for i in range(FACE.start, FACE.stop):
        path = path_to_root(i)
        assert path[-1] == INDEX["nose"] and all(FACE.start <= j < FACE.stop for j in path[:-1])
    # no bone crosses from one side of the body to the other
    for p, c in BONES:
        assert SIDES[p] * SIDES[c] >= 0, (NAMES[p], NAMES[c])


def test_mirror_and_sides_are_consistent_and_tree_symmetric():
    mirror, sides = np.array(MIRROR), np.array(SIDES)
    assert (mirror[mirror] == np.arange(N_KEYPOINTS)).all()
    assert (sides[mirror] == -sides).all()
    assert ((mirror == np.arange(N_KEYPOINTS)) == (sides == 0)).all()
    for i, name in enumerate(NAMES):
        if not FACE.start <= i < FACE.stop:
            swapped = re.sub(r"^(left|right)_", lambda m: {"left": "right_", "right": "left_"}[
                m.group(1)], name)
            assert NAMES[mirror[i]] == swapped
            assert sides[i] == (1 if name.startswith("left_") else -1 if name.startswith("right_")
                                else 0)
    children = np.flatnonzero(PARENTS >= 0)
    assert (mirror[PARENTS[children]] == PARENTS[mirror[children]]).all()


def test_bone_lengths():
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(2, 4, N_KEYPOINTS, 3))
    xyz[1, 2, INDEX["left_knee"]] = np.nan
    lengths = bone_lengths(xyz)
    assert lengths.shape == (2, 4, len(BONES))
    for b, (p, c) in enumerate(BONES):
        expected = np.linalg.norm(xyz[..., c, :] - xyz[..., p, :], axis=-1)
        np.testing.assert_allclose(lengths[..., b], expected)
    touches_knee = [INDEX["left_knee"] in bone for bone in BONES]
    assert (np.isnan(lengths[1, 2]) == np.array(touches_knee)).all()
    assert not np.isnan(lengths[0]).any()
    body = bone_lengths(xyz[..., :2], BODY_BONES)          # 2D works too
    assert body.shape == (2, 4, len(BODY_BONES))
    with pytest.raises(ValueError, match="keypoints"):
        bone_lengths(np.zeros((10, 3)))


# --- the layouts ---------------------------------------------------------------------------------


def name_tokens(name):
    """'LBigToe' -> {'left', 'big', 'toe'}; 'pose_mouth_left' -> {'pose', 'mouth', 'left'}."""
    name = re.sub(r"^([LR])(?=[A-Z])", lambda m: {"L": "left_", "R": "right_"}[m.group(1)], name)
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    return set(t for t in re.split(r"[^a-z]+", name) if t)


BODY_WORDS = {"nose", "eye", "ear", "shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel",
              "toe", "big", "small"}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layout_names_and_targets_agree(name):
    layout = LAYOUTS[name]
    assert layout.name == name and get_layout(name) is layout
    assert len(set(layout.names)) == len(layout.names)
    table = layout.to_wholebody
    assert table.shape == (len(layout.names),) and table.min() >= -1 and table.max() < N_KEYPOINTS
    mapped = table[table >= 0]
    assert np.unique(mapped).size == mapped.size, "two source points map to one 133 point"
    for source, target in zip(layout.names, table):
        if target < 0:
            continue
        tokens, target_tokens = name_tokens(source), name_tokens(NAMES[target])
        side = 1 if "left" in tokens else -1 if "right" in tokens else 0
        if side:
            assert SIDES[target] == side, (source, NAMES[target])
        if LEFT_HAND.start <= target < RIGHT_HAND.stop and target_tokens & set(FINGERS):
            assert tokens & set(FINGERS) == target_tokens & set(FINGERS), (source, NAMES[target])
        if target < FACE.start and tokens & BODY_WORDS:
            assert tokens & BODY_WORDS == target_tokens & BODY_WORDS, (source, NAMES[target])


def test_mediapipe_orders_are_the_packages():
    mp = pytest.importorskip("mediapipe")
    pose = [e.name.lower() for e in sorted(mp.solutions.pose.PoseLandmark, key=int)]
    hand = [e.name.lower() for e in sorted(mp.solutions.hands.HandLandmark, key=int)]
    assert list(get_layout("mediapipe_33").names) == pose
    for side in ("left", "right"):
        assert list(get_layout("mediapipe_hand_21", side=side).names) == [
            f"{side}_hand_{n}" for n in hand]
    holistic = get_layout("mediapipe_543").names
    assert len(holistic) == 543
    assert [n[len("pose_"):] for n in holistic[:33]] == pose
    assert holistic[33:501] == get_layout("mediapipe_face_468").names
    assert list(holistic[501:522]) == [f"left_hand_{n}" for n in hand]
    assert list(holistic[522:]) == [f"right_hand_{n}" for n in hand]


def test_get_layout_names_and_errors():
    for spelling in ("BODY_25B", "body25b", "Body-25B", "body_25b"):
        assert get_layout(spelling).name == "body_25b"
    assert get_layout("openpose_hand_21", side="right").name == "openpose_right_hand_21"
    assert get_layout(get_layout("coco_17")) is get_layout("coco_17")
    with pytest.raises(SettingsError) as err:
        get_layout("body_26")
    assert "body_26" in str(err.value)
    for known in LAYOUTS:
        assert known in str(err.value)
    assert get_layout("mediapipe_hand_21", side="left").name == "mediapipe_left_hand_21"
    for side in (None, "up"):
        with pytest.raises(SettingsError, match="side"):
            get_layout("mediapipe_hand_21", side=side)


# --- mapping -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LAYOUTS))
@pytest.mark.parametrize("dim", [2, 3])
def test_to_wholebody_fills_and_round_trips(name, dim):
    layout = LAYOUTS[name]
    rng = np.random.default_rng(len(name) * dim)
    k = len(layout.names)
    xy = rng.uniform(0, 1000, size=(2, 3, k, dim))
    score = rng.uniform(0.1, 1, size=(2, 3, k))
    xy133, score133 = to_wholebody(xy, score, layout)
    assert xy133.shape == (2, 3, N_KEYPOINTS, dim) and score133.shape == (2, 3, N_KEYPOINTS)
    table = layout.to_wholebody
    has = np.zeros(N_KEYPOINTS, bool)
    has[table[table >= 0]] = True
    assert np.isnan(xy133[..., ~has, :]).all() and (score133[..., ~has] == 0).all()
    assert not np.isnan(xy133[..., has, :]).any() and (score133[..., has] > 0).all()
    for source, target in enumerate(table):
        if target >= 0:
            assert (xy133[..., target, :] == xy[..., source, :]).all()
            assert (score133[..., target] == score[..., source]).all()
    back, back_score = from_wholebody(xy133, score133, layout, midpoints=False)
    mapped = table >= 0
    assert (back[..., mapped, :] == xy[..., mapped, :]).all()
    assert (back_score[..., mapped] == score[..., mapped]).all()
    assert np.isnan(back[..., ~mapped, :]).all() and (back_score[..., ~mapped] == 0).all()


def test_from_wholebody_rebuilds_openpose_neck_and_midhip():
    rng = np.random.default_rng(1)
    xy133 = rng.normal(size=(5, N_KEYPOINTS, 2))
    score133 = rng.uniform(size=(5, N_KEYPOINTS))
    xy133[4, INDEX["left_hip"]] = np.nan
    layout = get_layout("body_25")
    xy, score = from_wholebody(xy133, score133, layout)
    neck, midhip = layout.names.index("Neck"), layout.names.index("MidHip")
    shoulders = [INDEX["left_shoulder"], INDEX["right_shoulder"]]
    np.testing.assert_allclose(xy[:, neck], xy133[:, shoulders].mean(axis=1))
    np.testing.assert_allclose(score[:, neck], score133[:, shoulders].min(axis=1))
    assert np.isnan(xy[4, midhip]).all() and score[4, midhip] == 0
    assert not np.isnan(xy[:4, midhip]).any()


def test_wrong_keypoint_count_names_the_layout():
    with pytest.raises(ValueError) as err:
        to_wholebody(np.zeros((4, 24, 2)), np.zeros((4, 24)), "body_25b")
    assert "body_25b" in str(err.value) and "25" in str(err.value) and "24" in str(err.value)
    with pytest.raises(ValueError, match="score"):
        to_wholebody(np.zeros((4, 25, 2)), np.zeros((4, 24)), "body_25b")
    with pytest.raises(ValueError, match="133"):
        from_wholebody(np.zeros((25, 2)), np.zeros(25), "body_25")


# --- real data -----------------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.filterwarnings("ignore:Mean of empty slice")
def test_body_25b_order_on_real_openpose_json():
    files = sorted(glob.glob(os.path.join(BODY_25B_JSON, "cam*_json", "*.json")))
    if not files:
        pytest.skip(f"no BODY_25B JSON under {BODY_25B_JSON}")
    people = [np.reshape(p["pose_keypoints_2d"], (-1, 3))
              for f in files for p in json.load(open(f))["people"]]
    raw = np.array(people, dtype=float)
    xy, score = raw[..., :2].copy(), raw[..., 2]
    xy[score <= 0] = np.nan                                  # OpenPose writes 0, 0, 0 when unseen
    layout = get_layout("body_25b")
    p, _ = to_wholebody(xy, score, layout)
    x, y = p[..., 0], p[..., 1]

    def most(a, b, share=0.95):                             # a < b in most people seen with both
        seen = ~(np.isnan(a) | np.isnan(b))
        assert seen.sum() > 100 and (a < b)[seen].mean() > share

    def dist(i, j):
        return np.hypot(x[:, i] - x[:, j], y[:, i] - y[:, j])

    i = INDEX
    most(y[:, i["nose"]], np.fmin(y[:, i["left_hip"]], y[:, i["right_hip"]]))
    most(xy[:, layout.names.index("HeadTop"), 1], y[:, i["nose"]])   # dropped, but above the nose
    for s, o in (("left", "right"), ("right", "left")):
        most(y[:, i[f"{s}_shoulder"]], y[:, i[f"{s}_hip"]])
        most(y[:, i[f"{s}_hip"]], y[:, i[f"{s}_knee"]])
        most(y[:, i[f"{s}_knee"]], y[:, i[f"{s}_ankle"]])
        most(dist(i[f"{s}_heel"], i[f"{s}_ankle"]), dist(i[f"{s}_big_toe"], i[f"{s}_ankle"]))
        foot = np.nanmean(p[:, [i[f"{s}_{n}"] for n in ("big_toe", "small_toe", "heel")]], axis=1)
        own = np.hypot(*(foot - p[:, i[f"{s}_ankle"]]).T)
        other = np.hypot(*(foot - p[:, i[f"{o}_ankle"]]).T)
        most(own, other, share=0.9)


def face_mesh_of_a_real_face():
    """MediaPipe Face Mesh on the portrait that ships with matplotlib, in pixels (x, y, z)."""
    mp = pytest.importorskip("mediapipe")
    cv2 = pytest.importorskip("cv2")
    cbook = pytest.importorskip("matplotlib.cbook")
    image = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    assert image is not None
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
        result = mesh.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    assert result.multi_face_landmarks, "no face found in the sample portrait"
    h, w = image.shape[:2]
    landmarks = result.multi_face_landmarks[0].landmark
    return np.array([[p.x * w, p.y * h, p.z * w] for p in landmarks])[:468]


def test_face_mesh_to_68_on_a_real_face():
    from mediapipe.python.solutions import face_mesh_connections as contours

    mesh = face_mesh_of_a_real_face()
    xyz133, score133 = to_wholebody(mesh, np.ones(468), "mediapipe_face_468")
    face = xyz133[FACE]
    assert not np.isnan(face).any() and (score133[FACE] == 1).all()
    width = np.linalg.norm(face[0] - face[16])

    # left/right symmetric: reflecting each point in the face's best plane of symmetry lands on its
    # mirror partner (3D, so a slightly turned head does not matter)
    partner = np.array(MIRROR)[FACE] - FACE.start
    diff = face - face[partner]
    normal = np.linalg.svd(diff)[2][0]
    centre = ((face + face[partner]) / 2).mean(axis=0)
    reflected = face - 2 * ((face - centre) @ normal)[:, None] * normal
    error = np.linalg.norm(reflected - face[partner], axis=1) / width
    assert error.max() < 0.02, f"face point {error.argmax()} is {error.max():.1%} off its mirror"

    # the person's right half is at the image's left, the left half at the image's right
    sides = np.array(SIDES)[FACE]
    midline_x = face[sides == 0, 0].mean()
    assert (face[sides < 0, 0] < midline_x).all() and (face[sides > 0, 0] > midline_x).all()

    nose = face[27:36]
    assert nose[:, 2].argmin() == 30 - 27                    # the tip is the most forward (-z)
    assert face[30, 2] <= mesh[:, 2].min() + 0.008 * width   # ... of the whole face, in fact
    jaw = face[0:17]
    assert jaw[:, 1].argmax() == 8                           # the chin is the lowest jaw point
    assert (np.diff(jaw[:, 0]) > 0).all()                    # ordered across the face
    assert (np.diff(face[27:31, 1]) > 0).all()               # bridge runs down to the tip
    assert face[33, 1] > face[30, 1] and face[51, 1] > face[33, 1] and face[57, 1] > face[66, 1]

    # each group lies on MediaPipe's own contour of that feature
    def vertices(edges):
        return {v for edge in edges for v in edge}

    table = np.array(FACE468_TO_FACE68)
    groups = [(range(0, 17), contours.FACEMESH_FACE_OVAL),
              (range(17, 22), contours.FACEMESH_RIGHT_EYEBROW),
              (range(22, 27), contours.FACEMESH_LEFT_EYEBROW),
              (range(36, 42), contours.FACEMESH_RIGHT_EYE),
              (range(42, 48), contours.FACEMESH_LEFT_EYE),
              (range(48, 68), contours.FACEMESH_LIPS)]
    for points, edges in groups:
        assert set(table[list(points)]) <= vertices(edges), points

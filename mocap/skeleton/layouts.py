"""Other keypoint layouts and their mapping into COCO-WholeBody 133.

A :class:`Layout` lists a detector's keypoints in its published order and, for each, the
133-index of the same anatomical point (``-1`` when the 133 layout has no such point: the point is
dropped on the way in). :func:`to_wholebody` and :func:`from_wholebody` move arrays between a
layout and the 133 with one fancy-index assignment each.

Layouts (name: order and what is dropped)

``coco_17``
    COCO keypoints: nose, left/right eye, ear, shoulder, elbow, wrist, hip, knee, ankle (left before
    right). Identical to 133 points 0-16.
``halpe_26``
    AlphaPose Halpe: COCO-17, then 17 Head (top of the head), 18 Neck, 19 Hip (between the hips),
    20 LBigToe, 21 RBigToe, 22 LSmallToe, 23 RSmallToe, 24 LHeel, 25 RHeel. Head, Neck and Hip
    are dropped (no 133 point); on export Neck and Hip are rebuilt as midpoints.
``body_25``
    OpenPose BODY_25: 0 Nose, 1 Neck, 2-4 RShoulder/RElbow/RWrist, 5-7 LShoulder/LElbow/LWrist,
    8 MidHip, 9-11 RHip/RKnee/RAnkle, 12-14 LHip/LKnee/LAnkle, 15 REye, 16 LEye, 17 REar, 18 LEar,
    19-21 LBigToe/LSmallToe/LHeel, 22-24 RBigToe/RSmallToe/RHeel. Neck and MidHip are dropped
    (COCO-WholeBody has neither); on export they are rebuilt as the shoulders' / hips' midpoints.
``openpose_18``
    OpenPose's COCO-18 body (also the body of DWPose / ControlNet pose maps): 0 Nose, 1 Neck,
    2-4 RShoulder/RElbow/RWrist, 5-7 LShoulder/LElbow/LWrist, 8-10 RHip/RKnee/RAnkle,
    11-13 LHip/LKnee/LAnkle, 14 REye, 15 LEye, 16 REar, 17 LEar. Neck is dropped on the way in and
    rebuilt as the shoulders' midpoint on export.
``body_25b``
    OpenPose's experimental BODY_25B: COCO-17 order for 0-16, then 17 UpperNeck, 18 HeadTop,
    19-21 LBigToe/LSmallToe/LHeel, 22-24 RBigToe/RSmallToe/RHeel. UpperNeck and HeadTop are
    dropped (no 133 point, and neither is the midpoint of two 133 points).
``openpose_face_70``
    The 68 iBUG points in order, then 68 the right pupil and 69 the left pupil; the pupils are
    dropped.
``openpose_left_hand_21`` / ``openpose_right_hand_21``
    OpenPose hand: 0 wrist, then thumb, index, middle, ring, pinky, four joints each from the palm
    outwards; the same order as the 133's hands. OpenPose writes the two hands in separate arrays
    (``hand_left_keypoints_2d`` / ``hand_right_keypoints_2d``), so a hand layout has a side:
    ``get_layout("openpose_hand_21", side="right")`` names the right one; the plain name without a
    side is refused, since a silently assumed side would put a hand on the wrong arm.
``mediapipe_33``
    MediaPipe Pose (BlazePose) landmarks in ``PoseLandmark`` order. Eyes, ears, shoulders ...
    ankles map to the same body points; heel -> heel; foot_index (the tip of the foot) -> big toe;
    eye_inner / eye_outer -> the eye corners of the face-68 (39/42, 36/45); mouth_right /
    mouth_left -> the mouth corners (48/54). Dropped: pinky, index and thumb. Those are the pose
    model's rough hand-extent points (where the hand box ends), not joints: "pinky" and "index" lie
    somewhere about the knuckles and "thumb" about the thumb's end, and none is consistently at one
    of the 133's finger joints, so putting them there would corrupt the finger bones.
``mediapipe_left_hand_21`` / ``mediapipe_right_hand_21``
    MediaPipe Hands in ``HandLandmark`` order (wrist; thumb CMC, MCP, IP, tip; then MCP, PIP, DIP,
    tip of each finger): the same order as the 133's hands. MediaPipe Hands reports handedness
    assuming a mirrored (selfie) image: on an ordinary camera image its "Left" is the person's
    right hand. Pick the layout by the person's side.
``mediapipe_face_468``
    Face Mesh vertices -> the 68 face points through
    :data:`mocap.skeleton.mediapipe_face.FACE468_TO_FACE68`; the other 400 vertices are dropped.
``mediapipe_543``
    Holistic: pose 33 (0-32), then face 468 (33-500), then left hand 21 (501-521), then right hand
    21 (522-542). In Holistic the hands are cut out around the pose model's left and right wrists,
    so "left hand" is the person's left hand (unlike MediaPipe Hands alone). The pose's eye corners
    and mouth corners are dropped here (the face mesh provides them) with its pinky/index/thumb.
``coco_wholebody_133``
    The identity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from mocap.errors import SettingsError
from mocap.skeleton.mediapipe_face import FACE468_TO_FACE68
from mocap.skeleton.wholebody import (
    BODY_NAMES, FACE, HAND_POINT_NAMES, INDEX, LEFT_HAND, N_KEYPOINTS, NAMES, RIGHT_HAND,
)


@dataclass(frozen=True, eq=False)
class Layout:
    """A keypoint layout: its ``names`` in published order and ``to_wholebody`` (K,) 133-indices.

    ``midpoints`` lists ``(k, a, b)``: source keypoint ``k`` has no 133 point but is the midpoint
    of 133 points ``a`` and ``b`` (e.g. OpenPose's Neck); :func:`from_wholebody` rebuilds it.
    """

    name: str
    names: tuple[str, ...]
    to_wholebody: np.ndarray
    midpoints: tuple[tuple[int, int, int], ...] = ()

    def __post_init__(self):
        table = np.array(self.to_wholebody, dtype=np.int64).reshape(-1)
        object.__setattr__(self, "names", tuple(self.names))
        if len(self.names) != table.size:
            raise ValueError(f"layout {self.name!r}: {len(self.names)} names, {table.size} indices")
        if table.size and (table.min() < -1 or table.max() >= N_KEYPOINTS):
            raise ValueError(f"layout {self.name!r}: index out of range -1..{N_KEYPOINTS - 1}")
        mapped = table[table >= 0]
        if np.unique(mapped).size != mapped.size:
            raise ValueError(f"layout {self.name!r}: two keypoints map to the same 133 point")
        table.setflags(write=False)
        object.__setattr__(self, "to_wholebody", table)

    @property
    def n_keypoints(self) -> int:
        return len(self.names)

    @property
    def source_index(self) -> np.ndarray:
        """Indices of this layout's keypoints that have a 133 point."""
        return np.flatnonzero(self.to_wholebody >= 0)

    @property
    def target_index(self) -> np.ndarray:
        """The 133 points of :attr:`source_index`, in the same order."""
        return self.to_wholebody[self.to_wholebody >= 0]

    def __repr__(self) -> str:
        return (f"Layout({self.name!r}, {self.n_keypoints} keypoints, "
                f"{self.source_index.size} mapped)")


# --- building the tables ---------------------------------------------------------------------


def _snake(name: str) -> str:
    """OpenPose/Halpe name -> the 133's: 'LBigToe' -> 'left_big_toe', 'REye' -> 'right_eye'."""
    side = {"L": "left_", "R": "right_"}.get(name[0], "") if re.match(r"[LR][A-Z]", name) else ""
    rest = name[1:] if side else name
    return side + re.sub(r"(?<!^)(?=[A-Z])", "_", rest).lower()


def _from_names(name, names, target_names, midpoints=()):
    """Layout whose i-th point is the 133 point called ``target_names[i]`` (-1 if there is none)."""
    table = [INDEX.get(t, -1) if t else -1 for t in target_names]
    mids = tuple((names.index(k), INDEX[a], INDEX[b]) for k, a, b in midpoints)
    return Layout(name, tuple(names), np.array(table), mids)


_NECK = ("left_shoulder", "right_shoulder")
_MIDHIP = ("left_hip", "right_hip")

COCO_17 = Layout("coco_17", BODY_NAMES, np.arange(17))

_HALPE_NAMES = (
    "Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder", "LElbow", "RElbow",
    "LWrist", "RWrist", "LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle",
    "Head", "Neck", "Hip", "LBigToe", "RBigToe", "LSmallToe", "RSmallToe", "LHeel", "RHeel",
)
HALPE_26 = _from_names("halpe_26", _HALPE_NAMES, [_snake(n) for n in _HALPE_NAMES],
                       [("Neck", *_NECK), ("Hip", *_MIDHIP)])

_BODY_25_NAMES = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
)
BODY_25 = _from_names("body_25", _BODY_25_NAMES, [_snake(n) for n in _BODY_25_NAMES],
                      [("Neck", *_NECK), ("MidHip", *_MIDHIP)])

_OPENPOSE_18_NAMES = (
    "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
    "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
)
OPENPOSE_18 = _from_names("openpose_18", _OPENPOSE_18_NAMES, [_snake(n) for n in _OPENPOSE_18_NAMES],
                          [("Neck", *_NECK)])

_BODY_25B_NAMES = (
    "Nose", "LEye", "REye", "LEar", "REar", "LShoulder", "RShoulder", "LElbow", "RElbow",
    "LWrist", "RWrist", "LHip", "RHip", "LKnee", "RKnee", "LAnkle", "RAnkle",
    "UpperNeck", "HeadTop", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
)
BODY_25B = _from_names("body_25b", _BODY_25B_NAMES, [_snake(n) for n in _BODY_25B_NAMES])

OPENPOSE_FACE_70 = Layout(
    "openpose_face_70", tuple(f"face_{k}" for k in range(68)) + ("right_pupil", "left_pupil"),
    np.r_[np.arange(FACE.start, FACE.stop), -1, -1])


def _hand(name, prefix, point_names, hand):
    return Layout(name, tuple(prefix + n for n in point_names), np.arange(hand.start, hand.stop))


_MP_HAND_NAMES = ("wrist",) + tuple(
    f"{finger}_{joint}"
    for finger, joints in (("thumb", ("cmc", "mcp", "ip", "tip")),
                           ("index_finger", ("mcp", "pip", "dip", "tip")),
                           ("middle_finger", ("mcp", "pip", "dip", "tip")),
                           ("ring_finger", ("mcp", "pip", "dip", "tip")),
                           ("pinky", ("mcp", "pip", "dip", "tip")))
    for joint in joints)

OPENPOSE_LEFT_HAND_21 = _hand("openpose_left_hand_21", "left_hand_", HAND_POINT_NAMES, LEFT_HAND)
OPENPOSE_RIGHT_HAND_21 = _hand("openpose_right_hand_21", "right_hand_", HAND_POINT_NAMES,
                               RIGHT_HAND)
MEDIAPIPE_LEFT_HAND_21 = _hand("mediapipe_left_hand_21", "left_hand_", _MP_HAND_NAMES, LEFT_HAND)
MEDIAPIPE_RIGHT_HAND_21 = _hand("mediapipe_right_hand_21", "right_hand_", _MP_HAND_NAMES,
                                RIGHT_HAND)

_MP_POSE_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
# Pose points that are face-68 points (local numbers), used by mediapipe_33 only.
_MP_POSE_FACE = {"left_eye_inner": 42, "left_eye_outer": 45, "right_eye_inner": 39,
                 "right_eye_outer": 36, "mouth_left": 54, "mouth_right": 48}
_MP_POSE_DROPPED = ("left_pinky", "right_pinky", "left_index", "right_index",
                    "left_thumb", "right_thumb")


def _mp_pose_table(with_face_points: bool) -> np.ndarray:
    table = []
    for n in _MP_POSE_NAMES:
        if n in _MP_POSE_DROPPED:
            table.append(-1)
        elif n in _MP_POSE_FACE:
            table.append(FACE.start + _MP_POSE_FACE[n] if with_face_points else -1)
        else:
            table.append(INDEX[n.replace("foot_index", "big_toe")])
    return np.array(table)


MEDIAPIPE_33 = Layout("mediapipe_33", _MP_POSE_NAMES, _mp_pose_table(with_face_points=True))

_FACE_MESH_TABLE = np.full(468, -1)
_FACE_MESH_TABLE[list(FACE468_TO_FACE68)] = np.arange(FACE.start, FACE.stop)
MEDIAPIPE_FACE_468 = Layout("mediapipe_face_468", tuple(f"face_mesh_{k}" for k in range(468)),
                            _FACE_MESH_TABLE)

MEDIAPIPE_543 = Layout(
    "mediapipe_543",
    tuple("pose_" + n for n in _MP_POSE_NAMES) + MEDIAPIPE_FACE_468.names
    + MEDIAPIPE_LEFT_HAND_21.names + MEDIAPIPE_RIGHT_HAND_21.names,
    np.concatenate([_mp_pose_table(with_face_points=False), _FACE_MESH_TABLE,
                    MEDIAPIPE_LEFT_HAND_21.to_wholebody, MEDIAPIPE_RIGHT_HAND_21.to_wholebody]))

COCO_WHOLEBODY_133 = Layout("coco_wholebody_133", NAMES, np.arange(N_KEYPOINTS))

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (
    COCO_17, HALPE_26, BODY_25, BODY_25B, OPENPOSE_18, OPENPOSE_FACE_70, OPENPOSE_LEFT_HAND_21,
    OPENPOSE_RIGHT_HAND_21, MEDIAPIPE_33, MEDIAPIPE_LEFT_HAND_21, MEDIAPIPE_RIGHT_HAND_21,
    MEDIAPIPE_FACE_468, MEDIAPIPE_543, COCO_WHOLEBODY_133)}
_SIDED_HANDS = {"openposehand21": "openpose_{}_hand_21", "mediapipehand21": "mediapipe_{}_hand_21"}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_BY_KEY = {_key(n): layout for n, layout in LAYOUTS.items()}


def get_layout(name, side: str | None = None) -> Layout:
    """The layout called ``name``, ignoring case, '_' and '-' ("BODY_25B", "body25b").

    The one-hand layouts ``openpose_hand_21`` / ``mediapipe_hand_21`` need ``side`` ("left" or
    "right": the person's side); their sided names (``mediapipe_right_hand_21``) need
    none. A :class:`Layout` is returned as it is. Raises :class:`SettingsError` for an unknown name
    or side.
    """
    if isinstance(name, Layout):
        return name
    key = _key(str(name))
    if key in _SIDED_HANDS:
        if side not in ("left", "right"):
            raise SettingsError(f"keypoint layout {name!r} is one hand: side must be 'left' or "
                                f"'right', not {side!r}")
        key = _key(_SIDED_HANDS[key].format(side))
    if key not in _BY_KEY:
        known = ", ".join(sorted(LAYOUTS) + ["openpose_hand_21", "mediapipe_hand_21"])
        raise SettingsError(f"unknown keypoint layout {name!r}; known layouts: {known}")
    return _BY_KEY[key]


# --- mapping ---------------------------------------------------------------------------------


def _check(layout: Layout, xy, score, n_points: int, what: str):
    xy = np.asarray(xy, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    if xy.ndim < 2 or xy.shape[-2] != n_points:
        got = xy.shape[-2] if xy.ndim >= 2 else "no keypoint axis"
        raise ValueError(f"layout {layout.name!r}: {what} expects {n_points} keypoints, got {got} "
                         f"(xy shape {xy.shape})")
    if score.shape != xy.shape[:-1]:
        raise ValueError(f"layout {layout.name!r}: score has shape {score.shape}, expected "
                         f"{xy.shape[:-1]} to match xy {xy.shape}")
    return xy, score


def to_wholebody(xy, score, layout) -> tuple[np.ndarray, np.ndarray]:
    """Map ``xy`` (..., K, D) and ``score`` (..., K) of ``layout`` into the 133.

    Returns ``(xy133 (..., 133, D), score133 (..., 133))``: NaN coordinates and score 0 for the 133
    points the layout does not have; mapped points keep their values (NaN stays NaN).
    """
    layout = get_layout(layout)
    xy, score = _check(layout, xy, score, layout.n_keypoints, "to_wholebody")
    src, dst = layout.source_index, layout.target_index
    xy133 = np.full(xy.shape[:-2] + (N_KEYPOINTS, xy.shape[-1]), np.nan)
    score133 = np.zeros(score.shape[:-1] + (N_KEYPOINTS,))
    xy133[..., dst, :] = xy[..., src, :]
    score133[..., dst] = score[..., src]
    return xy133, score133


def from_wholebody(xy133, score133, layout, midpoints: bool = True):
    """Map 133 keypoints to ``layout``: ``xy133`` (..., 133, D), ``score133`` (..., 133).

    Returns ``(xy (..., K, D), score (..., K))``. Points the 133 lacks are NaN with score 0, except
    those the layout declares as midpoints (OpenPose's Neck, MidHip; Halpe's Neck, Hip), which are
    rebuilt when ``midpoints`` is true, with the lower of the two scores.
    """
    layout = get_layout(layout)
    xy133, score133 = _check(layout, xy133, score133, N_KEYPOINTS, "from_wholebody")
    src, dst = layout.source_index, layout.target_index
    xy = np.full(xy133.shape[:-2] + (layout.n_keypoints, xy133.shape[-1]), np.nan)
    score = np.zeros(score133.shape[:-1] + (layout.n_keypoints,))
    xy[..., src, :] = xy133[..., dst, :]
    score[..., src] = score133[..., dst]
    if midpoints and layout.midpoints:
        k, a, b = np.array(layout.midpoints).T
        mid = (xy133[..., a, :] + xy133[..., b, :]) / 2
        xy[..., k, :] = mid
        score[..., k] = np.where(np.isnan(mid).any(axis=-1), 0.0,
                                 np.minimum(score133[..., a], score133[..., b]))
    return xy, score

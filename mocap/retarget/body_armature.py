"""The body armature: 20 joints fitted to the 133 whole-body keypoints, as a :class:`Motion`.

It is the first layer of the 60-joint whole-body armature (:mod:`mocap.retarget.wholebody_armature`
adds the fingers of :mod:`mocap.retarget.hands`); the keypoints themselves are named in
:mod:`mocap.skeleton.wholebody`.

Joints (parent first) and where each one sits::

    pelvis          mid-hip (root; moves with the root translation)
      spine         mid-hip too (zero offset): the trunk bone, mid-hip -> mid-shoulders
        neck        mid-shoulders: the neck bone, toward the head centre (mid-ears)
          head      mid-ears: the head, turned by the ears line and the eyes
        left_clavicle / right_clavicle   mid-shoulders, toward each shoulder
          left_shoulder -> left_elbow -> left_wrist   (and right_...)
      left_hip -> left_knee -> left_ankle -> left_toe (big toe)   (and right_...)

``BODY_JOINT_KEYPOINTS`` names the keypoint (or keypoints, averaged) each joint sits on.
``spine`` and the clavicles start where their parent's other children do, with zero or shared
offsets: a joint with several children can aim only one child exactly, so the pelvis aims at the
hips, and the spine (from the same point) at the neck; the spine's end carries the neck and both
clavicles, all three starting at mid-shoulders, so each aims at its own target. The result: **every
bone points exactly along the line between its keypoints**, and only lengths are approximate.

Rest pose (what zero rotations mean): a T-pose standing up +Z, facing **-Y**, the person's left
toward **+X**; arms straight out along ±X with palms down, legs straight down, feet horizontal
pointing -Y (forward), the root at the height of the legs (ankles at z = 0). Offsets are in that
world frame, so a joint's local rotation is relative to its parent's turned frame, as in BVH.

Bone lengths are constant: the median over frames of each keypoint distance (per side for limbs).

Per frame each joint's world rotation is the one that takes its rest bone direction exactly onto
the keypoint direction (the *primary* axis) and fixes the twist about it with a *secondary* hint:

* pelvis: primary hip line (right -> left hip), twist from the trunk (mid-hip -> mid-shoulders).
  With no keypoint between hips and shoulders, bending forward shows as the pelvis tilting about
  the hip line; the spine's local rotation holds the trunk's twist and side bend;
* spine: primary the trunk, twist from the shoulders line; clavicles: twist from the trunk;
* neck: primary mid-shoulders -> mid-ears, twist from the ears line; head: primary the ears line,
  twist from the eyes (mid-ears -> mid-eyes, forward);
* upper arm and forearm, thigh and shin: twist from the limb's plane, the hinge axis
  ``bone x next bone`` of the elbow / knee. A straight limb has no plane, so below 25° of bend the
  hint blends (smoothly, fully below 10°) into the *swing-only* twist: the parent's frame turned by
  the shortest arc onto the bone, which does not spin. A hinge pointing against that fallback
  (an over-straightened knee) is ignored rather than allowed to flip the limb;
* foot: primary ankle -> big toe, twist from the toes line (big toe / small toe);
* wrist: primary wrist -> middle-finger knuckle, twist from the index / pinky knuckles line;
* toe: no keypoint orients it; its local rotation stays zero.

Missing keypoints: a joint whose primary direction cannot be computed in a frame **keeps its
previous local rotation** (frames before its first valid one take that first one; a joint never
seen stays in rest). A missing twist hint takes the last one seen (the swing-only twist before
any is seen; hinge joints blend to swing-only when straight, as above). The root translation
is carried the same way. The Motion never holds NaN. Quaternions are made sign-continuous.

Solving in pieces: :func:`solve_body` takes the :class:`BodyState` of the frame before its first
(each joint's last rotation, each held twist hint, the root) and hands on the state of a frame
it solved, so a clip solved piece after piece (or live, frame after frame) continues as if it were
solved whole. What it cannot know is the future: a joint not seen yet gets its first rotation
only when it is seen, so pieces equal the whole clip once every joint, held twist hint and the
root have been seen (:func:`carried_validity` tells when).
"""

from __future__ import annotations

import numpy as np

from dataclasses import dataclass

from mocap import rotations as rot
from mocap.data import Keypoints3D, Motion
from mocap.errors import SettingsError
# forward_kinematics is imported for the callers that take the whole body armature from here.
from mocap.retarget.kinematics import (  # noqa: F401
    continuous, first_frame_signs, forward_kinematics, hold_last_valid, unit, valid_direction,
)
from mocap.skeleton.wholebody import INDEX

JOINTS = (
    ("pelvis", None), ("spine", "pelvis"), ("neck", "spine"), ("head", "neck"),
    ("left_clavicle", "spine"), ("left_shoulder", "left_clavicle"), ("left_elbow", "left_shoulder"),
    ("left_wrist", "left_elbow"),
    ("right_clavicle", "spine"), ("right_shoulder", "right_clavicle"), ("right_elbow", "right_shoulder"),
    ("right_wrist", "right_elbow"),
    ("left_hip", "pelvis"), ("left_knee", "left_hip"), ("left_ankle", "left_knee"), ("left_toe", "left_ankle"),
    ("right_hip", "pelvis"), ("right_knee", "right_hip"), ("right_ankle", "right_knee"), ("right_toe", "right_ankle"),
)
JOINT_NAMES = tuple(name for name, _ in JOINTS)
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}
PARENTS = np.array([-1 if p is None else JOINT_INDEX[p] for _, p in JOINTS])

_MID_HIP = ("left_hip", "right_hip")
_MID_SHOULDER = ("left_shoulder", "right_shoulder")
BODY_JOINT_KEYPOINTS = {
    "pelvis": _MID_HIP, "spine": _MID_HIP, "neck": _MID_SHOULDER, "head": ("left_ear", "right_ear"),
    **{f"{s}_clavicle": _MID_SHOULDER for s in ("left", "right")},
    **{f"{s}_{j}": (f"{s}_{j}",) for s in ("left", "right")
       for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")},
    **{f"{s}_toe": (f"{s}_big_toe",) for s in ("left", "right")},
}

# Lengths used for a bone whose keypoints are never seen (a 1.75 m adult), metres.
DEFAULT_LENGTHS = {"hip": 0.09, "trunk": 0.50, "clavicle": 0.19, "neck": 0.17, "upper_arm": 0.29,
                   "forearm": 0.26, "thigh": 0.43, "shin": 0.42, "foot": 0.17}

_X, _Y, _Z = np.eye(3)
_HINGE_LOW, _HINGE_HIGH = np.sin(np.radians(10.0)), np.sin(np.radians(25.0))


def _points(xyz: np.ndarray, names) -> np.ndarray:
    """Mean of the named keypoints (NaN if any is missing): (T, 3)."""
    return np.mean([xyz[:, INDEX[n]] for n in names], axis=0)


def target_positions(xyz: np.ndarray) -> np.ndarray:
    """The keypoint position each joint aims to sit on (``BODY_JOINT_KEYPOINTS``): (T, 20, 3)
    from one person's keypoints (T, 133, 3)."""
    xyz = np.asarray(xyz, dtype=float)
    return np.stack([_points(xyz, BODY_JOINT_KEYPOINTS[n]) for n in JOINT_NAMES], axis=1)


# The bones whose lengths the armature measures (see bone_lengths), in the order of bone_samples.
_LIMBS = (("upper_arm", "shoulder", "elbow"), ("forearm", "elbow", "wrist"), ("thigh", "hip", "knee"),
          ("shin", "knee", "ankle"), ("foot", "ankle", "big_toe"))
BONES = ("hip", "trunk", "clavicle", "neck", *(f"{s}_{bone}" for s in ("left", "right") for bone, _, _ in _LIMBS))


def bone_samples(xyz: np.ndarray) -> np.ndarray:
    """(T, len(BONES)) each frame's keypoint distance for every bone of :data:`BONES` (NaN where
    a keypoint is missing): what :func:`bone_lengths` takes the medians of, so that a long clip
    can be measured a piece at a time."""
    k = lambda n: xyz[:, INDEX[n]]  # noqa: E731
    d = lambda a, b, scale=1.0: np.linalg.norm(a - b, axis=-1) * scale  # noqa: E731
    cols = [d(k("left_hip"), k("right_hip"), 0.5), d(_points(xyz, _MID_SHOULDER), _points(xyz, _MID_HIP)),
            d(k("left_shoulder"), k("right_shoulder"), 0.5),
            d(_points(xyz, ("left_ear", "right_ear")), _points(xyz, _MID_SHOULDER))]
    cols += [d(k(f"{s}_{a}"), k(f"{s}_{b}")) for s in ("left", "right") for _, a, b in _LIMBS]
    return np.stack(cols, axis=1)


def lengths_from_samples(samples: np.ndarray) -> dict[str, float]:
    """The median of each column of :func:`bone_samples` over the frames it was seen in (the
    default length of a bone never seen)."""
    out = {}
    for i, name in enumerate(BONES):
        d = samples[:, i][np.isfinite(samples[:, i])]
        default = DEFAULT_LENGTHS[name.removeprefix("left_").removeprefix("right_")]
        out[name] = float(np.median(d)) if d.size else default
    return out


def bone_lengths(xyz: np.ndarray) -> dict[str, float]:
    """Median keypoint distances (metres) of one person's keypoints (T, 133, 3).

    Keys (:data:`BONES`): hip (half the hip width), trunk, clavicle (half the shoulder width), neck
    (mid-shoulders to mid-ears), and per side ``left_upper_arm``, ``left_forearm``, ``left_thigh``,
    ``left_shin``, ``left_foot`` (ankle to big toe), and the same for ``right_``. Unseen bones get
    DEFAULT_LENGTHS.
    """
    return lengths_from_samples(bone_samples(xyz))


def rest_offsets(lengths: dict[str, float]) -> np.ndarray:
    """(20, 3) rest-pose offsets (T-pose, Z up, facing -Y, left +X) from :func:`bone_lengths`."""
    L = lengths
    legs = 0.5 * (L["left_thigh"] + L["left_shin"] + L["right_thigh"] + L["right_shin"])
    off = {"pelvis": legs * _Z, "spine": 0 * _Z, "neck": L["trunk"] * _Z, "head": L["neck"] * _Z}
    for s, sign in (("left", 1.0), ("right", -1.0)):
        off[f"{s}_clavicle"] = L["trunk"] * _Z
        off[f"{s}_shoulder"] = sign * L["clavicle"] * _X
        off[f"{s}_elbow"] = sign * L[f"{s}_upper_arm"] * _X
        off[f"{s}_wrist"] = sign * L[f"{s}_forearm"] * _X
        off[f"{s}_hip"] = sign * L["hip"] * _X
        off[f"{s}_knee"] = -L[f"{s}_thigh"] * _Z
        off[f"{s}_ankle"] = -L[f"{s}_shin"] * _Z
        off[f"{s}_toe"] = -L[f"{s}_foot"] * _Y
    return np.array([off[n] for n in JOINT_NAMES], dtype=float)


def _specs(xyz: np.ndarray) -> dict:
    """Per joint: (primary (T,3), rest primary, hint (T,3), rest secondary, hinge?) in world axes."""
    k = lambda n: xyz[:, INDEX[n]]  # noqa: E731
    mid_hip, mid_sh = _points(xyz, _MID_HIP), _points(xyz, _MID_SHOULDER)
    mid_ear, mid_eye = _points(xyz, ("left_ear", "right_ear")), _points(xyz, ("left_eye", "right_eye"))
    trunk = mid_sh - mid_hip
    specs = {
        "pelvis": (k("left_hip") - k("right_hip"), _X, trunk, _Z, False),
        "spine": (trunk, _Z, k("left_shoulder") - k("right_shoulder"), _X, False),
        "neck": (mid_ear - mid_sh, _Z, k("left_ear") - k("right_ear"), _X, False),
        "head": (k("left_ear") - k("right_ear"), _X, mid_eye - mid_ear, -_Y, False),
    }
    for s, sign in (("left", 1.0), ("right", -1.0)):
        sh, el, wr = k(f"{s}_shoulder"), k(f"{s}_elbow"), k(f"{s}_wrist")
        hip, kn, an = k(f"{s}_hip"), k(f"{s}_knee"), k(f"{s}_ankle")
        big, small = k(f"{s}_big_toe"), k(f"{s}_small_toe")
        arm_hinge = np.cross(unit(el - sh), unit(wr - el))
        leg_hinge = np.cross(unit(kn - hip), unit(an - kn))
        # The elbow of an arm held out to the side bends forward: its hinge is -Z for the left arm
        # and +Z for the right one in the rest pose; both knees hinge about +X.
        specs.update({
            f"{s}_clavicle": (sh - mid_sh, sign * _X, trunk, _Z, False),
            f"{s}_shoulder": (el - sh, sign * _X, arm_hinge, -sign * _Z, True),
            f"{s}_elbow": (wr - el, sign * _X, arm_hinge, -sign * _Z, True),
            f"{s}_wrist": (k(f"{s}_hand_middle1") - wr, sign * _X,
                           k(f"{s}_hand_index1") - k(f"{s}_hand_pinky1"), -_Y, False),
            f"{s}_hip": (kn - hip, -_Z, leg_hinge, _X, True),
            f"{s}_knee": (an - kn, -_Z, leg_hinge, _X, True),
            # The small toe is lateral: toward +X of the left foot, -X of the right one.
            f"{s}_ankle": (big - an, -_Y, sign * (small - big), _X, False),
        })
    return specs


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _twist_hint(primary, hint, hinge: np.ndarray, fallback):
    """The secondary direction for :func:`rot.from_two_axes`, falling back where the hint fails.

    Arrays (T, n, 3) for n joints; ``hinge`` (n,) which of them are hinges; ``fallback`` is the
    swing-only secondary axis (unit, perpendicular to ``primary``).
    """
    p = unit(primary)
    h = np.nan_to_num(hint)
    h_perp = h - np.sum(h * p, -1, keepdims=True) * p
    # A hinge: drop the part of the hinge axis that opposes the fallback (a hyperextended joint),
    # then trust it in proportion to how bent the limb is.
    along = np.sum(h_perp * fallback, -1, keepdims=True)
    h_hinge = h_perp - np.minimum(along, 0.0) * fallback
    size = np.linalg.norm(h_hinge, axis=-1, keepdims=True)
    w = _smoothstep((size - _HINGE_LOW) / (_HINGE_HIGH - _HINGE_LOW))
    hinged = w * unit(h_hinge) + (1.0 - w) * fallback
    # A direct hint is only unusable when missing or parallel to the bone (no twist to read).
    size = np.linalg.norm(h_perp, axis=-1, keepdims=True)
    usable = np.isfinite(hint).all(-1, keepdims=True) & (size > 1e-6 * np.linalg.norm(h, axis=-1, keepdims=True))
    return np.where(hinge[:, None], hinged, np.where(usable, h_perp, fallback))


@dataclass(frozen=True)
class BodyState:
    """What :func:`solve_body` carries from one frame to the next.

    rotations: (20, 4) each joint's last local rotation (before :func:`first_frame_signs`).
    hints: (20, 3) each held twist hint's last value (NaN: none seen yet, or a hinge joint's).
    root: (3,) the last root position (NaN: none seen yet).
    """

    rotations: np.ndarray
    hints: np.ndarray
    root: np.ndarray


def carried_validity(xyz: np.ndarray) -> np.ndarray:
    """(T, 41) whether each frame holds what :func:`solve_body` carries over frames: the bone
    direction of each joint (20 columns), each held twist hint (20; always False for the hinge
    joints and toes, whose hints are not held), the root (1)."""
    specs = _specs(xyz)
    T = xyz.shape[0]
    cols = np.zeros((T, 2 * len(JOINT_NAMES) + 1), dtype=bool)
    for j, name in enumerate(JOINT_NAMES):
        if name in specs:
            primary, _, hint, _, hinge = specs[name]
            cols[:, j] = valid_direction(primary)
            cols[:, len(JOINT_NAMES) + j] = not hinge and np.isfinite(hint).all(-1)
    cols[:, -1] = np.isfinite(_points(xyz, _MID_HIP)).all(-1)
    return cols


def _levels() -> list[np.ndarray]:
    """The joints grouped by depth in the tree: each group's parents are all in earlier groups."""
    depth = np.zeros(len(PARENTS), dtype=int)
    for j, p in enumerate(PARENTS):
        depth[j] = depth[p] + 1 if p >= 0 else 0
    return [np.flatnonzero(depth == d) for d in range(depth.max() + 1)]


_LEVELS = _levels()


def solve_body(xyz: np.ndarray, state: BodyState | None = None, *,
               state_frame: int = -1) -> tuple[np.ndarray, np.ndarray, BodyState]:
    """The body's local rotations (T, 20, 4) and root positions (T, 3) for one person's keypoints
    (T, 133, 3), continuing from ``state`` (that of the frame before the first; None: the clip
    starts here), and the state after frame ``state_frame`` (see the module doc).

    Rotations are sign-continuous but not yet :func:`first_frame_signs`-normalized; the root is NaN
    in frames before it is ever seen (the caller puts the rest pose's root there). The joints of
    one depth in the tree are solved together.
    """
    T = xyz.shape[0]
    specs = _specs(xyz)
    nan = np.full((T, 3), np.nan)
    ident = rot.identity(T)
    world = np.zeros((T, len(JOINT_NAMES), 4))
    local = np.zeros_like(world)
    held = np.full((len(JOINT_NAMES), 3), np.nan)
    for level in _LEVELS:
        names = [JOINT_NAMES[j] for j in level]
        # The toes have no spec: nothing orients them (identity); their stand-in is never used.
        spec = np.array([n in specs for n in names])
        parts = [specs.get(n, (nan, -_Y, nan, _X, False)) for n in names]
        primary, hint = (np.stack([part[k] for part in parts], axis=1) for k in (0, 2))
        rest_p, rest_s, hinge = (np.array([part[k] for part in parts]) for k in (1, 3, 4))
        parent_world = np.stack([world[:, PARENTS[j]] if PARENTS[j] >= 0 else ident for j in level], axis=1)
        previous = None if state is None else state.rotations[level]
        # A missing twist hint takes the last one seen (twist changes slowly): the swing-only
        # fallback would drop e.g. the pelvis' forward lean for that frame and jerk the whole upper
        # body by tens of centimetres. Hinges read their hint afresh every frame.
        direct = spec & ~hinge
        last = hold_last_valid(hint, np.isfinite(hint).all(-1), np.full(3, np.nan),
                               None if state is None else state.hints[level])
        hint = np.where(direct[:, None], last, hint)
        held[level] = np.where(direct[:, None], hint[state_frame], np.nan)
        valid = valid_direction(primary)
        safe_primary = np.where(valid[..., None], primary, rot.rotate(parent_world, rest_p))
        # Swing-only frame: the parent's frame turned by the shortest arc onto the bone.
        swing = rot.multiply(rot.rotation_between(rot.rotate(parent_world, rest_p), safe_primary), parent_world)
        fallback = rot.rotate(swing, rest_s)
        target = rot.from_two_axes(safe_primary, _twist_hint(safe_primary, hint, hinge, fallback), rest_p, rest_s)
        q = hold_last_valid(rot.multiply(rot.conjugate(parent_world), target), valid, ident[0], previous)
        q[:, ~spec] = ident[0]
        local[:, level] = continuous(q, previous)
        world[:, level] = rot.multiply(parent_world, local[:, level])
    mid_hip = _points(xyz, _MID_HIP)
    root = hold_last_valid(mid_hip, np.isfinite(mid_hip).all(-1), np.full(3, np.nan),
                           None if state is None else state.root)
    return local, root, BodyState(local[state_frame].copy(), held, root[state_frame].copy())


def person_keypoints(kp: Keypoints3D, person: int) -> np.ndarray:
    """One person's keypoints (T, 133, 3), refusing a person the keypoints lack or another layout."""
    if not 0 <= person < kp.n_persons:
        raise SettingsError(f"person {person} does not exist: the keypoints hold {kp.n_persons} person(s)")
    if kp.xyz.shape[2] != len(INDEX):
        raise ValueError(f"body_motion needs the 133 COCO-WholeBody keypoints, got {kp.xyz.shape[2]}")
    return kp.xyz[:, person]


def body_motion(kp: Keypoints3D, person: int = 0) -> Motion:
    """Fit the body armature to one person's 3D keypoints (world Z up, metres): see the module doc."""
    xyz = person_keypoints(kp, person)
    offsets = rest_offsets(bone_lengths(xyz))
    local, root, _ = solve_body(xyz)
    local = local * first_frame_signs(local)[None, :, None]
    return Motion(joint_names=JOINT_NAMES, parents=PARENTS.copy(), offsets=offsets,
                  root_translation=np.where(np.isnan(root), offsets[0], root), rotations=local, fps=kp.fps,
                  frame_index=kp.frame_index)

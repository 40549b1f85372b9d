"""A synthetic person: 133 whole-body keypoints of a human-proportioned body in varied motion.

The body is a small kinematic tree driven by smooth joint-angle curves, so every keypoint has an
exact ground truth and every bone keeps its length:

* the pelvis wanders on a Lissajous path near the origin while the body turns (heading),
* legs swing in a walking gait and fold in periodic squats; the pelvis height is set every frame so
  the lowest point of the feet touches the floor (z = 0),
* the trunk leans into squats, the head turns and nods,
* arms swing, rise through a T-pose and above, elbows bend,
* fingers open and close, each joint with its own phase; the jaw opens the mouth.

All positions are metres in a Z-up world; the body frame has x forward, y to the person's left.
Rotations are built as (T, 3, 3) matrices and composed parent-to-child (vectorized over frames).
"""

from __future__ import annotations

import numpy as np

from mocap.skeleton.wholebody import FACE, INDEX, LEFT_HAND, RIGHT_HAND, N_KEYPOINTS

# Segment lengths (metres) of a 1.75 m adult.
HIP_HALF_WIDTH = 0.09
THIGH, SHANK, ANKLE_HEIGHT = 0.43, 0.42, 0.07
PELVIS_TO_NECK, SHOULDER_HALF_WIDTH = 0.50, 0.19
UPPER_ARM, FOREARM = 0.29, 0.26
NECK_TO_HEAD = 0.17
# Finger knuckle positions in the left hand's frame (x toward the thumb side, y toward the back of
# the hand, z along the forearm toward the wrist: fingers point to -z); the right hand mirrors y.
_KNUCKLES = np.array([[0.030, 0.0, -0.090], [0.010, 0.0, -0.095], [-0.010, 0.0, -0.090], [-0.028, 0.0, -0.082]])
_PHALANGES = np.array([[0.045, 0.027, 0.022], [0.048, 0.030, 0.023], [0.045, 0.028, 0.022], [0.036, 0.021, 0.019]])
_THUMB = np.array([0.040, 0.032, 0.028])


def _axis_rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations by ``angle`` (T,) radians about coordinate axis 0, 1 or 2."""
    angle = np.asarray(angle, dtype=float)
    c, s = np.cos(angle), np.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    R = np.zeros(angle.shape + (3, 3))
    R[..., axis, axis] = 1.0
    R[..., i, i] = c
    R[..., j, j] = c
    R[..., i, j] = -s
    R[..., j, i] = s
    return R


def _apply(R: np.ndarray, v) -> np.ndarray:
    """Rotate constant or per-frame vectors ``v`` by per-frame rotations ``R`` (T, 3, 3)."""
    v = np.asarray(v, dtype=float)
    if v.ndim == 1:
        return R @ v
    return np.einsum("tij,t...j->t...i", R, v)


def _face_template() -> np.ndarray:
    """68 face points in the head frame (x forward, y left, z up; origin at the head centre).

    iBUG/300-W order: jaw from the person's right to left, brows, nose bridge, nostrils, eyes (right
    then left, each from its outer corner), outer then inner lips.
    """
    beta = np.radians(np.linspace(-100, 100, 17))  # jaw: 0 is the person's right (y < 0)
    jaw = np.stack([0.03 + 0.06 * np.cos(beta / 1.3), 0.07 * np.sin(beta), -0.11 * np.cos(beta)], 1)
    brow_y = np.linspace(-0.062, -0.015, 5)
    brows = np.concatenate([
        np.stack([0.095 + 0.2 * (0.062 + brow_y), brow_y, 0.045 + 0.1 * (0.062 + brow_y)], 1),
        np.stack([0.095 + 0.2 * (0.062 + brow_y[::-1]), -brow_y[::-1], 0.045 + 0.1 * (0.062 + brow_y[::-1])], 1),
    ])
    bridge = np.stack([np.linspace(0.095, 0.118, 4), np.zeros(4), np.linspace(0.030, -0.020, 4)], 1)
    nostrils = np.stack([np.full(5, 0.102), np.linspace(-0.017, 0.017, 5), np.full(5, -0.032)], 1)
    ring = np.radians([180, 120, 60, 0, -60, -120])  # outer corner, upper lid, inner corner, lower lid

    def eye(side: float) -> np.ndarray:
        centre_y = side * 0.032
        # The outer corner of each eye points away from the nose.
        y = centre_y - side * 0.014 * np.cos(ring)
        return np.stack([np.full(6, 0.085), y, 0.025 + 0.006 * np.sin(ring)], 1)

    def lips(n: int, half_width: float, half_height: float) -> np.ndarray:
        a = np.linspace(np.pi, -np.pi, n, endpoint=False)  # from the right corner, over the top
        return np.stack([np.full(n, 0.10), half_width * np.cos(a), -0.062 + half_height * np.sin(a)], 1)

    return np.concatenate([jaw, brows, bridge, nostrils, eye(-1.0), eye(1.0),
                           lips(12, 0.026, 0.013), lips(8, 0.018, 0.005)])


def _leg(R_body, t, side, hip_flex, knee_flex):
    """Hip, knee, ankle, heel, big toe, small toe offsets from the pelvis, each (T, 3)."""
    R_thigh = R_body @ _axis_rotation(1, -hip_flex) @ _axis_rotation(0, side * (0.06 + 0.04 * np.sin(0.3 * t)))
    R_shank = R_thigh @ _axis_rotation(1, knee_flex)
    R_foot = R_shank @ _axis_rotation(1, -0.6 * knee_flex + 0.5 * hip_flex * (hip_flex < 0))
    hip = _apply(R_body, [0.0, side * HIP_HALF_WIDTH, 0.0])
    knee = hip + _apply(R_thigh, [0.0, 0.0, -THIGH])
    ankle = knee + _apply(R_shank, [0.0, 0.0, -SHANK])
    heel = ankle + _apply(R_foot, [-0.05, 0.0, -0.06])
    big_toe = ankle + _apply(R_foot, [0.17, -side * 0.02, -0.07])
    small_toe = ankle + _apply(R_foot, [0.14, side * 0.045, -0.07])
    return hip, knee, ankle, heel, big_toe, small_toe


def _hand(R_fore, wrist, side, t, curl_phase):
    """21 hand points (wrist, thumb 1-4, index..pinky 1-4) for one hand: (T, 21, 3)."""
    R_hand = R_fore @ _axis_rotation(1, 0.3 * np.sin(0.8 * t + curl_phase))  # wrist flexion
    mirror = np.array([1.0, side, 1.0])  # side = +1 left hand, -1 right hand
    # Curling a finger moves it toward the palm, i.e. toward -y in the left hand's frame.
    curl = 0.15 + 0.7 * (0.5 + 0.5 * np.sin(1.7 * t + curl_phase))
    points = [wrist]
    thumb_base = R_hand @ _axis_rotation(2, side * -0.6) @ _axis_rotation(1, -0.7)
    p = wrist + _apply(R_hand, mirror * [0.020, -0.010, -0.020])
    points.append(p)
    R = thumb_base
    for length in _THUMB:
        R = R @ _axis_rotation(0, -side * 0.5 * curl)
        p = p + _apply(R, [0.0, 0.0, -length])
        points.append(p)
    for finger, knuckle in enumerate(_KNUCKLES):
        p = wrist + _apply(R_hand, mirror * knuckle)
        points.append(p)
        R = R_hand @ _axis_rotation(1, side * (finger - 1.5) * 0.08)  # fingers fan out slightly
        for j, length in enumerate(_PHALANGES[finger]):
            R = R @ _axis_rotation(0, -side * curl * (1.0 + 0.2 * j + 0.1 * finger))
            p = p + _apply(R, [0.0, 0.0, -length])
            points.append(p)
    return np.stack(points, axis=1)


def human_motion(n_frames: int = 300, fps: float = 30.0, seed: int = 0, centre=(0.0, 0.0)) -> np.ndarray:
    """133 keypoints (T, 133, 3) in metres, Z up, of one person moving near ``centre``.

    ``seed`` shifts the phases of every motion curve, so different seeds give different people
    doing different things; the motion is smooth and bone lengths are constant.
    """
    rng = np.random.default_rng(seed)
    ph = rng.uniform(0, 2 * np.pi, size=12)
    t = np.arange(n_frames) / fps
    heading = 0.5 * t + 0.8 * np.sin(0.45 * t + ph[0]) + ph[1]
    R_body = _axis_rotation(2, heading)
    gait = 2 * np.pi * 0.9 * t + ph[2]
    squat = np.clip(np.sin(2 * np.pi * 0.12 * t + ph[3]), 0.0, None) ** 2

    legs = {}
    for side, name, phase in ((1.0, "left", 0.0), (-1.0, "right", np.pi)):
        hip_flex = 0.35 * np.sin(gait + phase) * (1 - squat) + 1.3 * squat
        knee_flex = 0.55 * np.clip(np.sin(gait + phase + np.pi / 2), 0, None) * (1 - squat) + 0.1 + 2.0 * squat
        legs[name] = _leg(R_body, t, side, hip_flex, knee_flex)
    # Stand on the floor: the lowest sole point (heel, toes, or the ankle less its height) at z = 0.
    lowest = np.min([np.minimum.reduce([ankle[:, 2] - ANKLE_HEIGHT, heel[:, 2], big[:, 2], small[:, 2]])
                     for _, _, ankle, heel, big, small in legs.values()], axis=0)
    pelvis = np.zeros((n_frames, 3))
    pelvis[:, 0] = centre[0] + 0.7 * np.sin(0.5 * t + ph[4])
    pelvis[:, 1] = centre[1] + 0.6 * np.sin(0.35 * t + ph[5])
    pelvis[:, 2] = -lowest

    kp = np.full((n_frames, N_KEYPOINTS, 3), np.nan)
    for name, (hip, knee, ankle, heel, big_toe, small_toe) in legs.items():
        for part, value in (("hip", hip), ("knee", knee), ("ankle", ankle), ("heel", heel),
                            ("big_toe", big_toe), ("small_toe", small_toe)):
            kp[:, INDEX[f"{name}_{part}"]] = pelvis + value

    R_trunk = R_body @ _axis_rotation(1, 0.6 * squat + 0.05) @ _axis_rotation(0, 0.1 * np.sin(0.7 * t + ph[6])) \
        @ _axis_rotation(2, 0.25 * np.sin(gait))
    neck = pelvis + _apply(R_trunk, [0.0, 0.0, PELVIS_TO_NECK])
    R_head = R_trunk @ _axis_rotation(2, 0.6 * np.sin(0.6 * t + ph[7])) @ _axis_rotation(1, 0.3 * np.sin(0.9 * t + ph[8]))
    head = neck + _apply(R_trunk, [0.0, 0.0, NECK_TO_HEAD])
    for name, offset in (("nose", [0.105, 0.0, -0.01]), ("left_eye", [0.085, 0.032, 0.025]),
                         ("right_eye", [0.085, -0.032, 0.025]), ("left_ear", [-0.005, 0.075, 0.01]),
                         ("right_ear", [-0.005, -0.075, 0.01])):
        kp[:, INDEX[name]] = head + _apply(R_head, offset)
    face = np.broadcast_to(_face_template(), (n_frames, 68, 3)).copy()
    mouth_open = 0.012 * (0.5 + 0.5 * np.sin(2.3 * t + ph[9]))
    face[:, [6, 7, 8, 9, 10, 55, 56, 57, 58, 59, 64, 65, 66, 67], 2] -= mouth_open[:, None]  # jaw drops
    kp[:, FACE] = head[:, None] + _apply(R_head, face)

    for side, name, hand in ((1.0, "left", LEFT_HAND), (-1.0, "right", RIGHT_HAND)):
        shoulder = neck + _apply(R_trunk, [0.0, side * SHOULDER_HALF_WIDTH, -0.03])
        swing = 0.3 * np.sin(gait + (np.pi if side > 0 else 0.0))
        raise_ = 1.5 * (0.5 + 0.5 * np.sin(0.7 * t + ph[10] + (0.0 if side > 0 else 1.3)))
        reach = 0.9 * np.clip(np.sin(0.33 * t + ph[11] + side), 0, None)
        R_upper = R_trunk @ _axis_rotation(1, -(swing + reach)) @ _axis_rotation(0, side * (0.15 + raise_))
        elbow = shoulder + _apply(R_upper, [0.0, 0.0, -UPPER_ARM])
        R_fore = R_upper @ _axis_rotation(1, -(0.3 + 0.9 * (0.5 + 0.5 * np.sin(1.1 * t + side))))
        wrist = elbow + _apply(R_fore, [0.0, 0.0, -FOREARM])
        kp[:, INDEX[f"{name}_shoulder"]] = shoulder
        kp[:, INDEX[f"{name}_elbow"]] = elbow
        kp[:, INDEX[f"{name}_wrist"]] = wrist
        kp[:, hand] = _hand(R_fore, wrist, side, t, curl_phase=ph[10] + side)
    return kp

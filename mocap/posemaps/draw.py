"""Pose maps in the OpenPose / ControlNet colour convention (what DWPose draws for ControlNet).

A pose map is an RGB image, black background, same size as the frame it conditions:

* **body**: the 18-point OpenPose body (``openpose_18``: the 133's body with the neck rebuilt as
  the shoulders' midpoint). Its 17 limbs, in the order of :data:`BODY_LIMBS` (neck-right shoulder,
  neck-left shoulder, the right arm, the left arm, neck-right hip and the right leg, neck-left hip
  and the left leg, neck-nose, then nose-eye-ear on each side), are drawn as filled ellipses
  ``BODY_STICK`` pixels thick in limb colour ``BODY_COLORS[i] * 0.6`` (ControlNet blends the limb
  layer at 0.6 over black), and then each of the 18 points as a disc of radius ``BODY_RADIUS`` in
  its full colour ``BODY_COLORS[k]``. The 18 colours run round the hue circle from red
  (255, 0, 0) in steps of 85 in one channel at a time.
* **hands**: the 21-point hand skeleton, 20 edges (wrist to each finger base, then along each
  finger) as lines ``HAND_THICKNESS`` thick, edge e coloured by hue e / 20 at full saturation and
  value; then every point as a blue (0, 0, 255) disc of radius ``HAND_RADIUS``.
* **face**: each of the 68 points as a white disc of radius ``FACE_RADIUS``.

Only points with a score above ``min_score`` (0.3) are drawn; a limb needs both ends. Sizes are
the convention's pixel sizes at the map's own resolution.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

from mocap.skeleton import FACE, LEFT_HAND, RIGHT_HAND, from_wholebody

BODY_COLORS = np.array([
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85)], dtype=np.uint8)
# (a, b) points of the openpose_18 layout (0 nose, 1 neck, 2-4 right arm, 5-7 left arm, 8-10
# right leg, 11-13 left leg, 14/15 right/left eye, 16/17 right/left ear)
BODY_LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12),
              (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17))
HAND_EDGES = tuple((0 if j == 0 else 4 * f + j, 4 * f + j + 1) for f in range(5) for j in range(4))
HAND_COLORS = np.array([[round(255 * c) for c in colorsys.hsv_to_rgb(e / len(HAND_EDGES), 1.0, 1.0)]
                        for e in range(len(HAND_EDGES))], dtype=np.uint8)
LIMB_SHADE = 0.6
BODY_STICK, BODY_RADIUS, HAND_THICKNESS, HAND_RADIUS, FACE_RADIUS = 4, 4, 2, 4, 3
HAND_POINT_COLOR, FACE_COLOR = (0, 0, 255), (255, 255, 255)


def _ok(xy: np.ndarray, score: np.ndarray, min_score: float) -> np.ndarray:
    return (score > min_score) & np.isfinite(xy).all(-1)


def draw_pose_map(xy: np.ndarray, score: np.ndarray, size: tuple[int, int], min_score: float = 0.3,
                  canvas: np.ndarray | None = None) -> np.ndarray:
    """People ``xy`` (P, 133, 2) pixels, ``score`` (P, 133) -> (H, W, 3) uint8 **RGB** pose map of
    ``size`` (W, H) (see the module docstring); draws onto ``canvas`` when given."""
    w, h = size
    img = np.zeros((h, w, 3), np.uint8) if canvas is None else canvas
    xy, score = np.asarray(xy, dtype=np.float64), np.asarray(score, dtype=np.float64)
    body_xy, body_score = from_wholebody(xy, score, "openpose_18")
    for p in range(len(xy)):
        ok = _ok(body_xy[p], body_score[p], min_score)
        for i, (a, b) in enumerate(BODY_LIMBS):
            if ok[a] and ok[b]:
                _stick(img, body_xy[p, a], body_xy[p, b], BODY_STICK, tuple(int(c * LIMB_SHADE) for c in BODY_COLORS[i]))
        for k in np.flatnonzero(ok):
            cv2.circle(img, _px(body_xy[p, k]), BODY_RADIUS, tuple(int(c) for c in BODY_COLORS[k]), -1)
        for hand in (LEFT_HAND, RIGHT_HAND):
            hxy, hs = xy[p, hand], score[p, hand]
            hok = _ok(hxy, hs, min_score)
            for e, (a, b) in enumerate(HAND_EDGES):
                if hok[a] and hok[b]:
                    cv2.line(img, _px(hxy[a]), _px(hxy[b]), tuple(int(c) for c in HAND_COLORS[e]), HAND_THICKNESS)
            for k in np.flatnonzero(hok):
                cv2.circle(img, _px(hxy[k]), HAND_RADIUS, HAND_POINT_COLOR, -1)
        fxy, fs = xy[p, FACE], score[p, FACE]
        for k in np.flatnonzero(_ok(fxy, fs, min_score)):
            cv2.circle(img, _px(fxy[k]), FACE_RADIUS, FACE_COLOR, -1)
    return img


def _px(p: np.ndarray) -> tuple[int, int]:
    return int(round(p[0])), int(round(p[1]))


def _stick(img: np.ndarray, a: np.ndarray, b: np.ndarray, width: int, color) -> None:
    """A filled ellipse from ``a`` to ``b``, ``width`` pixels across (the convention's limb)."""
    mid = (a + b) / 2
    length = float(np.linalg.norm(b - a))
    angle = float(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0])))
    poly = cv2.ellipse2Poly(_px(mid), (int(round(length / 2)), width), int(round(angle)), 0, 360, 1)
    cv2.fillConvexPoly(img, poly, color)

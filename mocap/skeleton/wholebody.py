"""COCO-WholeBody 133: the internal keypoint layout.

0-16 body (COCO-17), 17-22 feet, 23-90 face (the 68 points of the iBUG/300-W scheme),
91-111 left hand, 112-132 right hand (21 each: wrist, then thumb, index, middle, ring, pinky,
four joints each from the palm outwards).
"""

from __future__ import annotations

BODY_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
FEET_NAMES = (
    "left_big_toe", "left_small_toe", "left_heel",
    "right_big_toe", "right_small_toe", "right_heel",
)
FACE_NAMES = tuple(f"face_{i}" for i in range(68))
FINGERS = ("thumb", "index", "middle", "ring", "pinky")
HAND_POINT_NAMES = ("wrist",) + tuple(f"{finger}{j}" for finger in FINGERS for j in range(1, 5))
LEFT_HAND_NAMES = tuple(f"left_hand_{n}" for n in HAND_POINT_NAMES)
RIGHT_HAND_NAMES = tuple(f"right_hand_{n}" for n in HAND_POINT_NAMES)

NAMES = BODY_NAMES + FEET_NAMES + FACE_NAMES + LEFT_HAND_NAMES + RIGHT_HAND_NAMES
N_KEYPOINTS = len(NAMES)
INDEX = {name: i for i, name in enumerate(NAMES)}

BODY = slice(0, 17)
FEET = slice(17, 23)
FACE = slice(23, 91)
LEFT_HAND = slice(91, 112)
RIGHT_HAND = slice(112, 133)
GROUPS = {"body": BODY, "feet": FEET, "face": FACE, "left_hand": LEFT_HAND, "right_hand": RIGHT_HAND}

assert N_KEYPOINTS == 133

# --- The 68 face points (iBUG 300-W scheme), as local indices 0-67 within FACE -----------------
# "Right" and "left" are the person's own sides: on a face looking at the camera the person's right
# is at the image's left, so the jaw runs from the image's left (0) through the chin (8) to the
# image's right (16), and 36-41 is the eye at the image's left.
FACE68_JAW = tuple(range(0, 17))            # 0 right (at ear level) .. 8 chin .. 16 left
FACE68_RIGHT_BROW = tuple(range(17, 22))    # 17 outer end .. 21 inner end
FACE68_LEFT_BROW = tuple(range(22, 27))     # 22 inner end .. 26 outer end
FACE68_NOSE_BRIDGE = tuple(range(27, 31))   # 27 between the eyes .. 30 nose tip
FACE68_NOSE_LOWER = tuple(range(31, 36))    # 31 right nostril wing, 33 below the tip, 35 left wing
FACE68_RIGHT_EYE = tuple(range(36, 42))     # 36 outer, 37-38 upper lid, 39 inner, 40-41 lower lid
FACE68_LEFT_EYE = tuple(range(42, 48))      # 42 inner, 43-44 upper lid, 45 outer, 46-47 lower lid
FACE68_OUTER_LIPS = tuple(range(48, 60))    # 48 right corner, 51 top centre, 54 left, 57 bottom
FACE68_INNER_LIPS = tuple(range(60, 68))    # 60 right corner, 62 top centre, 64 left, 66 bottom


def _face68_mirror() -> tuple[int, ...]:
    """Mirror partner of each face-68 point (the same place on the other half of the face)."""
    m = list(range(68))

    def pair(a, b):
        m[a], m[b] = b, a

    for k in range(8):
        pair(k, 16 - k)                       # jaw 0<->16 .. 7<->9, 8 is the chin
    for k in range(5):
        pair(17 + k, 26 - k)                  # brows: outer<->outer .. inner<->inner
    pair(31, 35), pair(32, 34)                # nostrils; 27-30 and 33 lie on the midline
    for r, l in zip((36, 37, 38, 39, 40, 41), (45, 44, 43, 42, 47, 46)):
        pair(r, l)                            # eyes: outer, upper lid, inner, lower lid
    pair(48, 54), pair(49, 53), pair(50, 52)  # upper outer lip: corners, then towards 51
    pair(55, 59), pair(56, 58)                # lower outer lip (55 is next to the left corner 54)
    pair(60, 64), pair(61, 63)                # upper inner lip
    pair(65, 67)                              # lower inner lip (65 is next to the left corner 64)
    return tuple(m)


FACE68_MIRROR = _face68_mirror()
# The face points on the person's right half; their mirror partners are the left half, and the
# points that are their own mirror (8, 27-30, 33, 51, 57, 62, 66) lie on the midline.
FACE68_RIGHT = (tuple(range(0, 8)) + FACE68_RIGHT_BROW + (31, 32) + FACE68_RIGHT_EYE
                + (48, 49, 50, 58, 59, 60, 61, 67))


def _sides_and_mirror():
    sides = [0] * N_KEYPOINTS
    mirror = list(range(N_KEYPOINTS))
    for i, name in enumerate(NAMES):
        for side, sign, other in (("left_", 1, "right_"), ("right_", -1, "left_")):
            if name.startswith(side):
                sides[i] = sign
                mirror[i] = INDEX[other + name[len(side):]]
    for k in range(68):
        mirror[FACE.start + k] = FACE.start + FACE68_MIRROR[k]
    for k in FACE68_RIGHT:
        sides[FACE.start + k] = -1
        sides[FACE.start + FACE68_MIRROR[k]] = 1
    return tuple(sides), tuple(mirror)


# SIDES[i]: +1 on the person's left, -1 on the right, 0 on the midline (nose, chin, lip centres...).
# MIRROR[i]: the keypoint at the mirrored place (left<->right); for flipping images or poses.
SIDES, MIRROR = _sides_and_mirror()

# --- Limbs a detector can label with the wrong side ----------------------------------------------
# A detector mixes up whole limbs (both arms, both legs, the eyes and ears), not single joints.
# SWAP_GROUP_NAMES is the order of the last axis of Keypoints2D.swapped and Keypoints3D.view_swaps.
# SWAP_TESTED[name]: (left, right) body keypoints on which a swap is judged; SWAP_EXCHANGED[name]:
# (left, right) every keypoint that moves with the limb when it is put back (an arm takes its hand).
SWAP_GROUP_NAMES = ("arm", "leg", "head")
_SWAP_JOINTS = {
    "arm": ("shoulder", "elbow", "wrist"),
    "leg": ("hip", "knee", "ankle", "big_toe", "small_toe", "heel"),
    "head": ("eye", "ear"),
}
SWAP_TESTED = {name: (tuple(INDEX[f"left_{j}"] for j in joints), tuple(INDEX[f"right_{j}"] for j in joints))
               for name, joints in _SWAP_JOINTS.items()}
SWAP_EXCHANGED = dict(SWAP_TESTED)
SWAP_EXCHANGED["arm"] = (SWAP_TESTED["arm"][0] + tuple(range(LEFT_HAND.start, LEFT_HAND.stop)),
                         SWAP_TESTED["arm"][1] + tuple(range(RIGHT_HAND.start, RIGHT_HAND.stop)))

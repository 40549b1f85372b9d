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

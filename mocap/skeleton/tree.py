"""The bone tree over the 133 COCO-WholeBody keypoints.

``PARENTS[i]`` is the keypoint that ``i`` hangs from, ``-1`` for the root. The tree is one piece:
every keypoint reaches the root, and there are no cycles.

Root: the **nose** (0). COCO-WholeBody has no point on the spine or between the hips, so any body
root is a compromise; a hip root would make one hip the parent of the other (and of one half of the
body), whereas the nose is on the midline, is the best-detected point of the head, and every head
and face point hangs naturally from it. A pelvis-rooted armature for retargeting adds its own
virtual mid-hip joint and does not depend on this choice.

Body: nose -> eyes -> ears; nose -> shoulders (a stand-in for the neck) -> elbows -> wrists;
shoulders -> hips (the sides of the trunk) -> knees -> ankles -> heel, big toe and small toe.

Hands: body wrist (9 / 10) -> hand wrist point (91 / 112) -> each finger as a chain of four joints
from the palm outwards (thumb CMC, MCP, IP, tip; other fingers MCP, PIP, DIP, tip).

Face (face-68 local numbers, see :mod:`mocap.skeleton.wholebody`): the face's nose tip 30 hangs
from the body nose; the bridge climbs 30 -> 29 -> 28 -> 27; the lower nose runs out both ways from
33 (33 -> 32 -> 31, 33 -> 34 -> 35) with 33 under the tip; both brows and both eyes hang from 27
between the eyes (brows inner end outwards, eyes from their inner corner round the lid); the outer
lips hang from 33 at their top centre 51 and run down both halves (to 58 and 56), the inner lips
hang from 51 at their top centre 62 (to 67 and 65); the midline then goes 62 -> 66 -> 57 -> 8
(mouth opening, lower lip, chin) and the jaw runs out from the chin 8 to 0 and to 16. Each contour
is drawn as chains; the closed ones (eyes, lips) miss an edge or two.

The tree is left/right symmetric: ``MIRROR[PARENTS[i]] == PARENTS[MIRROR[i]]``, so a bone and its
mirror partner can be compared (``MIRROR`` in :mod:`mocap.skeleton.wholebody`).
"""

from __future__ import annotations

import numpy as np

from mocap.skeleton.wholebody import FACE, INDEX, LEFT_HAND, N_KEYPOINTS, RIGHT_HAND

ROOT = INDEX["nose"]

_BODY_EDGES = (
    ("nose", "left_eye"), ("nose", "right_eye"),
    ("left_eye", "left_ear"), ("right_eye", "right_ear"),
    ("nose", "left_shoulder"), ("nose", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("right_shoulder", "right_elbow"),
    ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_hip", "left_knee"), ("right_hip", "right_knee"),
    ("left_knee", "left_ankle"), ("right_knee", "right_ankle"),
    ("left_ankle", "left_big_toe"), ("left_ankle", "left_small_toe"), ("left_ankle", "left_heel"),
    ("right_ankle", "right_big_toe"), ("right_ankle", "right_small_toe"),
    ("right_ankle", "right_heel"),
)

# (anchor, chain): the chain's first point hangs from the anchor, each next one from the previous.
# Anchors and chain points are face-68 local numbers, except the "nose" anchor (body keypoint 0).
_FACE_CHAINS = (
    ("nose", (30, 29, 28, 27)),                 # nose tip up the bridge
    (30, (33, 32, 31)), (33, (34, 35)),         # lower nose, out from under the tip
    (27, (21, 20, 19, 18, 17)),                 # right brow, inner end outwards
    (27, (22, 23, 24, 25, 26)),                 # left brow, inner end outwards
    (27, (39, 38, 37, 36, 41, 40)),             # right eye from its inner corner
    (27, (42, 43, 44, 45, 46, 47)),             # left eye from its inner corner
    (33, (51, 50, 49, 48, 59, 58)), (51, (52, 53, 54, 55, 56)),     # outer lips, both halves
    (51, (62, 61, 60, 67)), (62, (63, 64, 65)),                      # inner lips, both halves
    (62, (66, 57, 8, 7, 6, 5, 4, 3, 2, 1, 0)),                       # mouth opening, chin, jaw
    (8, (9, 10, 11, 12, 13, 14, 15, 16)),
)


def _build_parents() -> np.ndarray:
    parents = np.full(N_KEYPOINTS, -2, dtype=np.int64)   # -2: not yet placed
    parents[ROOT] = -1
    for parent, child in _BODY_EDGES:
        parents[INDEX[child]] = INDEX[parent]
    for side, hand in (("left", LEFT_HAND), ("right", RIGHT_HAND)):
        parents[hand.start] = INDEX[f"{side}_wrist"]
        for finger in range(5):
            first = hand.start + 1 + 4 * finger
            parents[first] = hand.start
            parents[first + 1:first + 4] = np.arange(first, first + 3)
    for anchor, chain in _FACE_CHAINS:
        previous = INDEX[anchor] if isinstance(anchor, str) else FACE.start + anchor
        for point in chain:
            parents[FACE.start + point] = previous
            previous = FACE.start + point
    assert (parents >= -1).all(), "every keypoint must be placed in the tree"
    parents.setflags(write=False)
    return parents


PARENTS = _build_parents()
# Every (parent, child) edge of the tree, in child order: the lines to draw.
BONES: tuple[tuple[int, int], ...] = tuple(
    (int(p), c) for c, p in enumerate(PARENTS) if p >= 0)
# The body and feet subset (keypoints 0-22).
BODY_BONES: tuple[tuple[int, int], ...] = tuple(
    (p, c) for p, c in BONES if p < FACE.start and c < FACE.start)


def bone_lengths(xyz, bones=BONES) -> np.ndarray:
    """Length of each bone: ``xyz`` (..., K, D) with K = 133 for the default bones, D = 2 or 3.

    Returns (..., n_bones), NaN where either end is missing (NaN).
    """
    xyz = np.asarray(xyz, dtype=np.float64)
    pairs = np.asarray(bones, dtype=np.int64).reshape(-1, 2)
    if xyz.ndim < 2:
        raise ValueError(f"xyz has shape {xyz.shape}, expected (..., K, D)")
    if pairs.size and (pairs.min() < 0 or pairs.max() >= xyz.shape[-2]):
        raise ValueError(f"bones refer to keypoints up to {pairs.max()}, but xyz has "
                         f"{xyz.shape[-2]} keypoints (shape {xyz.shape})")
    return np.linalg.norm(xyz[..., pairs[:, 1], :] - xyz[..., pairs[:, 0], :], axis=-1)

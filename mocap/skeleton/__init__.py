"""Keypoint layouts: the internal COCO-WholeBody-133 names and bone tree, and the tables that map
every other layout into it."""

from mocap.skeleton.layouts import (  # noqa: F401
    LAYOUTS, Layout, from_wholebody, get_layout, to_wholebody,
)
from mocap.skeleton.mediapipe_face import FACE468_TO_FACE68  # noqa: F401
from mocap.skeleton.posture import up_direction, upright_rotation  # noqa: F401
from mocap.skeleton.tree import BODY_BONES, BONES, PARENTS, ROOT, bone_lengths  # noqa: F401
from mocap.skeleton.wholebody import (  # noqa: F401
    BODY, FACE, FACE68_MIRROR, FEET, GROUPS, INDEX, LEFT_HAND, MIRROR, N_KEYPOINTS, NAMES,
    RIGHT_HAND, SIDES, SWAP_EXCHANGED, SWAP_GROUP_NAMES, SWAP_TESTED,
)

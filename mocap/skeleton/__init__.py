"""Keypoint layouts: the internal COCO-WholeBody-133 names and bone tree, and the tables that map
every other layout into it."""

from mocap.skeleton.wholebody import (  # noqa: F401
    BODY, FACE, FEET, GROUPS, INDEX, LEFT_HAND, N_KEYPOINTS, NAMES, RIGHT_HAND,
)

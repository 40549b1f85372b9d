"""Retargeting: 3D keypoints -> an animated armature with fingers, renamed for a rig, feet locked.

``retarget(kp)`` fits the 60-joint whole-body armature (:mod:`mocap.retarget.wholebody`: the body
of :mod:`mocap.armature` plus every finger joint), optionally pins the feet during their
contacts (:mod:`mocap.retarget.footlock`) and renames / reshapes it for a rig preset
(:mod:`mocap.retarget.rigs`: default, mixamo, unreal, unity, rigify). It also says which joints
were never seen and stay in their rest pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.data import Keypoints3D, Motion
from mocap.retarget.footlock import detect_contacts, lock_feet  # noqa: F401
from mocap.retarget.rigs import PRESETS, RigPreset, apply_rig, get_preset  # noqa: F401
from mocap.retarget.wholebody import (  # noqa: F401
    FINGER_JOINTS, JOINT_INDEX, JOINT_NAMES, PARENTS, target_positions, unseen_joints, whole_body_motion,
)


@dataclass(frozen=True)
class RetargetResult:
    motion: Motion  # joint names of the rig preset
    rest_joints: tuple[str, ...]  # our joint names that were never seen: left in rest pose
    contacts: np.ndarray | None  # (T, 2) the contacts used for foot locking, if any


def retarget(kp: Keypoints3D, person: int = 0, *, rig: str | RigPreset = "default", foot_lock: bool = False,
             contacts: np.ndarray | None = None) -> RetargetResult:
    """Keypoints -> whole-body Motion for ``rig``; ``foot_lock`` pins the ankles during ``contacts``
    ((T, 2) booleans, left / right). Without ``contacts`` they come from the filter stage's
    detector (:func:`mocap.filters.foot_contacts`, floor = the person's lowest foot level), or,
    where that is not installed, from :func:`detect_contacts`."""
    preset = get_preset(rig) if isinstance(rig, str) else rig
    motion = whole_body_motion(kp, person)
    used = None
    if foot_lock or contacts is not None:
        if contacts is not None:
            used = np.asarray(contacts, dtype=bool)
        else:
            try:
                from mocap.filters import foot_contacts
            except ImportError:
                used = detect_contacts(kp.xyz[:, person], kp.fps)
            else:
                used = foot_contacts(kp.xyz[:, person:person + 1], fps=kp.fps, floor=None)[:, 0]
        motion = lock_feet(motion, used)
    return RetargetResult(apply_rig(motion, preset), unseen_joints(kp, person), used)

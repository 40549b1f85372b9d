"""Retargeting: 3D keypoints -> an animated armature with fingers, renamed for a rig, feet locked.

``retarget(kp)`` fits the 60-joint whole-body armature (:mod:`mocap.retarget.wholebody_armature`:
the 20-joint body armature of :mod:`mocap.retarget.body_armature` plus every finger joint of
:mod:`mocap.retarget.hands`), optionally pins the feet during their contacts
(:mod:`mocap.retarget.footlock`, contacts from :func:`mocap.filters.foot_contacts`) and renames /
reshapes it for a rig preset (:mod:`mocap.retarget.rigs`: default, mixamo, unreal, unity, rigify).
It also says which joints were never seen and stay in their rest pose.

Rotations come from one solver, :func:`solve_pose`: rest offsets fixed apart, the state of the
frame before in and the state after out (:class:`PoseState`). It fits a whole clip
(:func:`whole_body_motion`), a long clip a piece at a time (:func:`retarget_file`,
:mod:`mocap.retarget.pieces`: pose3d.npz -> motion.npz with bounded memory) and live frames
(``solve_pose(xyz[None], state)``, :mod:`mocap.live.retarget`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.data import Keypoints3D, Motion
from mocap.filters.contacts import foot_contacts
from mocap.retarget.footlock import lock_feet  # noqa: F401
from mocap.retarget.kinematics import forward_kinematics  # noqa: F401
from mocap.retarget.rigs import PRESETS, RigPreset, apply_rig, get_preset  # noqa: F401
from mocap.retarget.wholebody_armature import (  # noqa: F401
    FINGER_JOINTS, JOINT_INDEX, JOINT_NAMES, PARENTS, Pose, PoseState, fitted_offsets, solve_pose, target_positions,
    unseen_joints, whole_body_motion,
)


@dataclass(frozen=True)
class RetargetResult:
    motion: Motion  # joint names of the rig preset
    rest_joints: tuple[str, ...]  # our joint names that were never seen: left in rest pose
    contacts: np.ndarray | None  # (T, 2) the contacts used for foot locking, if any
    # Whether the detected contacts stood on the known floor (z = 0) or on one estimated from the
    # feet (see mocap.filters.contacts); None when the caller gave the contacts or none were used.
    floor_known: bool | None = None


def retarget(kp: Keypoints3D, person: int = 0, *, rig: str | RigPreset = "default", foot_lock: bool = False,
             contacts: np.ndarray | None = None) -> RetargetResult:
    """Keypoints -> whole-body Motion for ``rig``; ``foot_lock`` pins the ankles during ``contacts``
    ((T, 2) booleans, left / right). Without ``contacts`` they come from the one foot-contact
    detector, :func:`mocap.filters.foot_contacts`, with its floor rule (the known floor when the
    keypoints' world has one, else the floor estimated from the feet). Keypoints whose world has no
    known up (``world_frame`` "unaligned") are first turned upright from the person's posture
    (:func:`mocap.skeleton.upright_rotation`), with a warning."""
    preset = get_preset(rig) if isinstance(rig, str) else rig
    if kp.world_frame == "unaligned":  # no known up: an armature would lie on its side
        import dataclasses
        import warnings

        from mocap.skeleton import upright_rotation

        R = upright_rotation(kp.xyz[:, person])
        warnings.warn("the keypoints' world has no known up (world frame 'unaligned'): the armature is turned so "
                      "that the person's own up (ankles to shoulders) is +Z", stacklevel=2)
        kp = dataclasses.replace(kp, xyz=kp.xyz @ R.T, world_frame="z_up")
    motion = whole_body_motion(kp, person)
    used, floor_known = None, None
    if foot_lock or contacts is not None:
        if contacts is not None:
            used = np.asarray(contacts, dtype=bool)
        else:
            found = foot_contacts(kp)
            used, floor_known = found.contacts[:, person], found.floor_known
        motion = lock_feet(motion, used)
    motion = apply_rig(motion, preset)
    return RetargetResult(motion, unseen_joints(kp, person), used, floor_known)



# The file-level retargeting (a long clip a piece at a time) builds on everything above.
from mocap.retarget.pieces import RetargetFileResult, retarget_file  # noqa: E402,F401

"""Retargeting frame by frame: bone lengths fixed once, rotations solved per frame.

:class:`LiveRetargeter` uses the whole-body armature of :mod:`mocap.retarget` (60 joints, body
and fingers) through its public entry points:

1. **Calibration**: the first ``calibration_frames`` frames in which the body is confident (every
   body joint's target keypoints found) are collected and solved together
   (:func:`mocap.retarget.solve_pose`); their medians give the rest offsets
   (:func:`mocap.retarget.fitted_offsets`: bone lengths, the hands' knuckle layout), as
   :func:`mocap.retarget.whole_body_motion` over those frames would. The skeleton is fixed from
   then on: a receiver builds its armature once.
2. **Per frame**: :func:`mocap.retarget.solve_pose` on that one frame, continuing from the state
   the frame before left (rotations depend on bone directions only, never on lengths, so they
   are those of the fixed skeleton). It is the batch fit's own solver, so a joint whose keypoints
   are missing keeps its previous rotation and a missing root its previous position, exactly as
   the batch fit carries them, and quaternion signs stay continuous from frame to frame.

The rig preset (``rig``) renames and reshapes the result as ``mocap retarget --rig`` does.
Per-frame foot-twist smoothing and foot locking, which need future frames, are not applied.
"""

from __future__ import annotations

import numpy as np

from mocap.data import Motion
from mocap.live.frames import LiveSkeleton
from mocap.retarget import JOINT_NAMES, PARENTS, apply_rig, fitted_offsets, get_preset, solve_pose
from mocap.retarget.wholebody_armature import BODY_COLUMNS, joints_seen
from mocap.skeleton import NAMES



class LiveRetargeter:
    """(133, 3) keypoints per frame -> (skeleton, root (3,), rotations (J, 4)); see the module doc."""

    def __init__(self, fps: float, *, calibration_frames: int = 15, rig: str = "default"):
        self.fps, self.calibration_frames = float(fps), int(calibration_frames)
        self.rig = get_preset(rig)
        self._collected: list[np.ndarray] = []
        self.offsets: np.ndarray | None = None
        self.skeleton: LiveSkeleton | None = None
        self._state = None  # mocap.retarget.PoseState of the last frame solved

    @property
    def calibrated(self) -> bool:
        return self.offsets is not None

    def confident(self, xyz: np.ndarray) -> bool:
        """Whether every body joint's target keypoints are found in this frame."""
        return bool(joints_seen(np.asarray(xyz, dtype=float)[None])[BODY_COLUMNS].all())

    def _calibrate(self):
        """Fix the skeleton from the collected frames; returns their solved pose (the state goes on from it)."""
        xyz = np.stack(self._collected)
        pose = solve_pose(xyz)
        self.offsets = fitted_offsets(xyz, pose.wrist_world)
        rest = Motion(joint_names=JOINT_NAMES, parents=PARENTS, offsets=self.offsets,
                      root_translation=self.offsets[:1], rotations=np.tile([1.0, 0, 0, 0], (1, len(JOINT_NAMES), 1)),
                      fps=self.fps)
        self.skeleton = LiveSkeleton.of(apply_rig(rest, self.rig), keypoint_names=NAMES)
        self._collected.clear()
        return pose

    def __call__(self, xyz: np.ndarray):
        """Returns None while calibrating (or when nothing is found), else (skeleton, root, rotations)."""
        xyz = np.asarray(xyz, dtype=float)
        if not self.calibrated:
            if not self.confident(xyz):
                return None
            self._collected.append(xyz)
            if len(self._collected) < self.calibration_frames:
                return None
            pose = self._calibrate()  # this frame is the last one collected
        else:
            pose = solve_pose(xyz[None], self._state)
        self._state = pose.state
        root = pose.root[-1]
        if not np.isfinite(root).all():
            return None
        frame = Motion(joint_names=JOINT_NAMES, parents=PARENTS, offsets=self.offsets, root_translation=root[None],
                       rotations=pose.rotations[-1:], fps=self.fps)
        rigged = apply_rig(frame, self.rig)
        return self.skeleton, rigged.root_translation[0], rigged.rotations[0]

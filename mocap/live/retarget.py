"""Retargeting frame by frame: bone lengths fixed once, rotations solved per frame.

:class:`LiveRetargeter` uses the whole-body armature of :mod:`mocap.retarget` (60 joints, body
and fingers) through its public entry points:

1. **Calibration**: the first ``calibration_frames`` frames in which the body is confident (every
   body joint's target keypoints found) are collected; :func:`mocap.retarget.whole_body_motion`
   over them gives the rest offsets (median bone lengths, the hands' knuckle layout). The
   skeleton is fixed from then on: a receiver builds its armature once.
2. **Per frame**: :func:`whole_body_motion` on that single frame gives each joint's rotation
   (rotations depend on bone directions only, never on lengths, so they are those of the fixed
   skeleton) and the root position. A joint whose keypoints are missing in the frame
   (:func:`mocap.retarget.unseen_joints` of the frame) keeps its previous rotation, as the batch
   fit carries it; a missing root keeps its previous position.

The rig preset (``rig``) renames and reshapes the result as ``mocap retarget --rig`` does.
Per-frame foot-twist smoothing and foot locking, which need future frames, are not applied.
"""

from __future__ import annotations

import numpy as np

from mocap.data import Keypoints3D, Motion
from mocap.live.frames import LiveSkeleton
from mocap.retarget import JOINT_NAMES, apply_rig, get_preset, target_positions, unseen_joints, whole_body_motion
from mocap.skeleton import NAMES

# The body joints (the first 20 of the whole-body armature) must be found for a frame to calibrate on.
_BODY = [j for j, n in enumerate(JOINT_NAMES) if "_thumb" not in n and not any(
    f"_{f}" in n for f in ("index", "middle", "ring", "pinky"))]


def _keypoints(xyz: np.ndarray, fps: float) -> Keypoints3D:
    xyz = np.asarray(xyz, dtype=float).reshape(-1, 1, len(NAMES), 3)
    found = np.isfinite(xyz).all(-1)
    return Keypoints3D(xyz=xyz, score=found.astype(float), reproj_error=np.zeros(found.shape),
                       n_views=found.astype(int) * 2, fps=fps)


class LiveRetargeter:
    """(133, 3) keypoints per frame -> (skeleton, root (3,), rotations (J, 4)); see the module doc."""

    def __init__(self, fps: float, *, calibration_frames: int = 15, rig: str = "default"):
        self.fps, self.calibration_frames = float(fps), int(calibration_frames)
        self.rig = get_preset(rig)
        self._collected: list[np.ndarray] = []
        self.offsets: np.ndarray | None = None
        self.skeleton: LiveSkeleton | None = None
        self._rotations = None
        self._root = None

    @property
    def calibrated(self) -> bool:
        return self.offsets is not None

    def confident(self, xyz: np.ndarray) -> bool:
        """Whether every body joint's target keypoints are found in this frame."""
        targets = target_positions(np.asarray(xyz, dtype=float)[None])[0]
        return bool(np.isfinite(targets[_BODY]).all())

    def _calibrate(self) -> None:
        motion = whole_body_motion(_keypoints(np.stack(self._collected), self.fps), foot_twist_window=1)
        self.offsets = motion.offsets
        rest = Motion(joint_names=JOINT_NAMES, parents=motion.parents, offsets=self.offsets,
                      root_translation=self.offsets[:1], rotations=np.tile([1.0, 0, 0, 0], (1, len(JOINT_NAMES), 1)),
                      fps=self.fps)
        rigged = apply_rig(rest, self.rig)
        self.skeleton = LiveSkeleton.of(rigged, keypoint_names=NAMES)
        self._collected.clear()

    def __call__(self, xyz: np.ndarray):
        """Returns None while calibrating (or when nothing is found), else (skeleton, root, rotations)."""
        xyz = np.asarray(xyz, dtype=float)
        if not self.calibrated:
            if self.confident(xyz):
                self._collected.append(xyz)
                if len(self._collected) >= self.calibration_frames:
                    self._calibrate()
            if not self.calibrated:
                return None
        kp = _keypoints(xyz, self.fps)
        motion = whole_body_motion(kp, foot_twist_window=1)
        rotations = motion.rotations[0]
        unseen = [JOINT_NAMES.index(n) for n in unseen_joints(kp)]
        if self._rotations is not None and unseen:
            rotations[unseen] = self._rotations[unseen]
        mid_hip = target_positions(xyz[None])[0, 0]
        root = mid_hip if np.isfinite(mid_hip).all() else self._root
        if root is None:
            return None
        self._rotations, self._root = rotations, root
        frame = Motion(joint_names=JOINT_NAMES, parents=motion.parents, offsets=self.offsets,
                       root_translation=root[None], rotations=rotations[None], fps=self.fps)
        rigged = apply_rig(frame, self.rig)
        return self.skeleton, rigged.root_translation[0], rigged.rotations[0]

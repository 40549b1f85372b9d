"""``mocap demo``: a synthetic capture run through the real pipeline, scored against its own truth.

A human-proportioned body walks, turns, squats, raises its arms and moves its fingers and jaw for
a few seconds; four virtual cameras with different realistic intrinsics and lens distortion film
it; their 2D keypoints get pixel noise and dropouts, and a bystander is detected by two of the
cameras. The session is written to disk the way a user's would be (calibration TOML, 2D keypoints),
read back, triangulated, turned into an armature motion and exported to BVH.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import calibration
from mocap.api import export
from exporters import read_bvh
from mocap.fileio import make_output_folder
from mocap.retarget.body_armature import JOINT_NAMES, forward_kinematics, target_positions
from mocap.data import Keypoints2D, Keypoints3D
from mocap.skeleton import GROUPS
from mocap.synthetic import synthetic_session
from mocap.triangulate import triangulate


@dataclass(frozen=True)
class DemoResult:
    folder: Path
    paths: dict[str, Path]
    error_mm: dict[str, float]  # median 3D keypoint error per keypoint group, millimetres
    bvh_joint_error_mm: float  # mean distance of the BVH's joints (read back) to their 3D targets
    reprojection_px: float  # median reprojection error


def keypoint_errors_mm(estimate: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Median Euclidean error per keypoint group (body, feet, face, hands), in millimetres."""
    dist = np.linalg.norm(estimate - truth, axis=-1) * 1000.0
    return {name: float(np.nanmedian(dist[..., part])) for name, part in GROUPS.items()}


def joint_target_error_mm(motion, kp3d: Keypoints3D, person: int = 0) -> float:
    """Mean distance between the armature's joints (forward kinematics) and the keypoints they follow."""
    joints = forward_kinematics(motion)
    targets = target_positions(kp3d.xyz[:, person])
    order = [motion.joint_names.index(name) for name in JOINT_NAMES]
    return float(np.nanmean(np.linalg.norm(joints[:, order] - targets, axis=-1)) * 1000.0)


def run_demo(folder: str | Path = "mocap_demo", *, n_frames: int = 240, fps: float = 30.0, seed: int = 0) -> DemoResult:
    folder = make_output_folder(Path(folder))
    out = make_output_folder(folder / "output")
    group, kp2d, truth = synthetic_session(n_frames, fps=fps, n_cameras=4, noise_px=0.5, dropout=0.05,
                                           bystander=True, seed=seed)
    paths = {"calibration": folder / "calibration" / "calibration.toml"}
    make_output_folder(paths["calibration"].parent)
    calibration.save_calibration(group, paths["calibration"])
    paths["pose2d"] = kp2d.save(out / "pose2d.npz")
    n = np.full(truth.shape[:3], 4)
    paths["truth"] = Keypoints3D(xyz=truth, score=np.ones(n.shape), reproj_error=np.zeros(n.shape), n_views=n,
                                 fps=fps).save(out / "truth3d.npz")

    # From here on, only what a user's session has on disk.
    group = calibration.load_calibration(paths["calibration"])
    kp2d = Keypoints2D.load(paths["pose2d"])
    kp3d = triangulate(group, kp2d)
    paths["pose3d"] = kp3d.save(out / "pose3d.npz")
    paths["trc"] = export("trc", paths["pose3d"], out / "pose3d.trc")
    paths["bvh"] = export("bvh", paths["pose3d"], out / "motion.bvh")

    return DemoResult(folder=folder, paths=paths, error_mm=keypoint_errors_mm(kp3d.xyz, truth),
                      bvh_joint_error_mm=joint_target_error_mm(read_bvh(paths["bvh"]), kp3d),
                      reprojection_px=float(np.nanmedian(kp3d.reproj_error)))

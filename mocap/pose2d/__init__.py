"""Whole-body 2D keypoints (COCO-WholeBody 133) from videos: backends, tracking, outputs.

Backends: ``rtmw`` (detector + batched SimCC ONNX models: RTMW, DWPose, RTMPose-wholebody) and
``mediapipe`` (Holistic, offline). Entry points: :func:`run_pose2d`, :func:`make_backend`,
:func:`mocap.pose2d.run.estimate_videos`.
"""

from mocap.pose2d.base import PoseBackend, Poses  # noqa: F401
from mocap.pose2d.pipeline import Pose2DResult, make_backend, make_detector, run_pose2d  # noqa: F401

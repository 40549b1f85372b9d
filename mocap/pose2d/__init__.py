"""Whole-body 2D keypoints (COCO-WholeBody 133) from videos: backends, tracking, outputs.

Backends: ``rtmw`` (detector + batched SimCC ONNX models: RTMW, DWPose, RTMPose-wholebody; checked
against rtmlib) and ``mediapipe`` (offline: MediaPipe Pose, then face and hand crops run through
the bundled landmark models). :func:`mocap.pose2d.run.estimate_videos` runs one over videos,
tracks people into bounded person slots and puts back left/right limb swaps
(:func:`repair_swaps`; :func:`apply_view_swaps` applies a triangulation's decisions too).
Entry points: :func:`run_pose2d`, :func:`make_backend`.
"""

from mocap.pose2d.base import PoseBackend, Poses  # noqa: F401
from mocap.pose2d.pipeline import Pose2DResult, make_backend, make_detector, run_pose2d  # noqa: F401
from mocap.pose2d.swaps import apply_view_swaps, exchange_limbs, repair_swaps  # noqa: F401

"""Synthetic people and camera rigs with exact ground truth, for the demo, tests and benchmarks."""

from mocap.synthetic.crowd import CrowdScene, crowd_scene, match_tracks  # noqa: F401
from mocap.synthetic.motion import human_motion  # noqa: F401
from mocap.synthetic.scene import camera_ring, look_at, observe, synthetic_session  # noqa: F401

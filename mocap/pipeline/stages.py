"""The stages of ``mocap run``, in order, with what each reads, writes and depends on.

``calibration -> pose2d -> triangulate | lift -> filter -> retarget -> export -> report``. A session
with one camera takes ``lift`` in the slot of ``triangulate`` (:func:`session_stages`).
"""

from __future__ import annotations

from mocap.pipeline import capture, deliver, reconstruct
from mocap.pipeline.stage import Stage
from mocap.session import TABLES

_CAPTURE, _RECONSTRUCT, _DELIVER = "mocap/pipeline/capture.py", "mocap/pipeline/reconstruct.py", \
    "mocap/pipeline/deliver.py"
_CONTRACTS = ("mocap/data.py", "mocap/skeleton", "mocap/fileio.py")

CALIBRATION = Stage(
    "calibration", "import the calibration file, or calibrate from board pictures -> output/calibration.toml",
    capture.run_calibration, capture.calibration_inputs, ("calibration", "session.cameras"),
    ("calibration", "mocap/api.py", _CAPTURE, *_CONTRACTS),
    ("calibration.toml", "calibration_report.json", "calibration_report.png"), facts=capture.calibration_facts)

POSE2D = Stage(
    "pose2d", "synchronization, then 2D whole-body keypoints of every camera -> output/sync.toml, output/pose2d.npz",
    capture.run_pose2d, capture.pose2d_inputs, ("pose2d", "session", "sync"),
    ("mocap/pose2d", "mocap/video.py", "mocap/io", "mocap/models", "mocap/sync", "mocap/record/timestamps.py",
     _CAPTURE, "mocap/pipeline/timeline.py", "mocap/pipeline/parts.py", *_CONTRACTS),
    ("pose2d.npz", "sync.toml", "openpose/**", "overlay/**"), facts=capture.pose2d_facts, jobs=capture.pose2d_jobs)

TRIANGULATE = Stage(
    "triangulate", "3D keypoints from two cameras or more -> output/pose3d.npz (+ TRC)",
    reconstruct.run_triangulate, reconstruct.triangulate_inputs, ("triangulate", "lift", "pose2d"),
    ("mocap/triangulate", "calibration", "mocap/report/metrics.py", "exporters/trc.py", "exporters/markers.py",
     "mocap/api.py", "mocap/pipeline/chunks.py", "mocap/lift", "lifting", _RECONSTRUCT, *_CONTRACTS),
    ("pose3d.npz", "pose3d.trc", "pose3d_p*.trc", "lifted.npz"), requires=("pose2d.npz", "calibration.toml"))

# The single-camera slot of triangulate: monocular lifting (mocap.lift, lifting/).
LIFT = Stage(
    "lift", "3D keypoints from one camera (monocular lifting) -> output/lifted.npz, output/pose3d.npz",
    reconstruct.run_lift, reconstruct.lift_inputs, ("lift", "pose2d", "triangulate.trc"),
    ("lifting", "mocap/lift", "mocap/pose2d", "mocap/video.py", "mocap/models", "calibration", "exporters/trc.py",
     _RECONSTRUCT, *_CONTRACTS),
    ("lifted.npz", "pose3d.npz", "pose3d.trc", "pose3d_p*.trc"), facts=capture.pose2d_facts)

FILTER = Stage(
    "filter", "gap filling, smoothing, foot contacts -> output/pose3d_filtered.npz, foot_contacts.npz",
    reconstruct.run_filter, lambda ctx: [ctx.output("pose3d.npz")], ("filter", "filter.face", "filter.hands"),
    ("mocap/filters", "exporters/trc.py", _RECONSTRUCT, *_CONTRACTS),
    ("pose3d_filtered.npz", "pose3d_filtered.trc", "pose3d_filtered_p*.trc", "foot_contacts.npz"),
    requires=("pose3d.npz",))

RETARGET = Stage(
    "retarget", "the whole-body armature of the rig -> output/motion.npz",
    reconstruct.run_retarget, reconstruct.retarget_inputs, ("retarget",),
    ("mocap/retarget", "mocap/filters/contacts.py", "mocap/rotations.py", "mocap/smplx_fit", "mocap/api.py", _RECONSTRUCT,
     *_CONTRACTS),
    ("motion.npz", "motion_p*.npz", "smplx.npz", "smplx_p*.npz"), requires=("pose3d_filtered.npz", "foot_contacts.npz"))

EXPORT = Stage(
    "export", "BVH / FBX / glTF / TRC / C3D / CSV -> output/motion.*, output/markers.*",
    deliver.run_export, deliver.export_inputs, ("export", "retarget.rig", "retarget.person"),
    ("exporters", "mocap/api.py", "mocap/retarget/rigs.py", _DELIVER, *_CONTRACTS),
    tuple(f"motion*.{f}" for f in deliver.ARMATURE_FORMATS) + ("markers*.trc", "markers*.c3d", "markers*.csv"),
    requires=("pose3d_filtered.npz",))

REPORT = Stage(
    "report", "output/report.html", deliver.run_report, deliver.report_inputs, tuple(t.name for t in TABLES),
    ("mocap/report", "mocap/pose2d/overlay.py", _DELIVER, *_CONTRACTS), ("report.html", "report_files/**"))

STAGES = (CALIBRATION, POSE2D, TRIANGULATE, LIFT, FILTER, RETARGET, EXPORT, REPORT)
STAGE_NAMES = tuple(s.name for s in STAGES)


def session_stages(n_cameras: int) -> tuple[Stage, ...]:
    """The stages a session with ``n_cameras`` runs, in order."""
    skip = TRIANGULATE if n_cameras == 1 else LIFT
    return tuple(s for s in STAGES if s is not skip)

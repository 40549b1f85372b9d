"""Every setting of a session (``session.toml``): its table, default, type, allowed values and help.

The schema is data. :data:`TABLES` lists one table per stage, in pipeline order; ``mocap init``
writes it out as the commented ``session.toml`` (:mod:`mocap.session.template`), the loader
validates a file against it (:mod:`mocap.session.settings`), and each stage of ``mocap run`` reads
its own table. ``mocap calibrate`` reads ``[calibration]`` from the same schema. A setting exists in
this one place: to add one, add it here and read it in its stage.

A setting whose default is ``None`` is unset unless the file sets it (TOML has no null): the
template writes it commented out with an example value. Sub-tables (``[filter.hands]``) are named
with a dot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

# Body layouts the OpenPose JSON reader and writer know (mocap.skeleton.LAYOUTS' body layouts).
BODY_LAYOUTS = ("body_25", "body_25b", "coco_17", "halpe_26")
EXPORT_FORMATS = ("bvh", "fbx", "gltf", "glb", "trc", "c3d", "csv")
SMOOTHERS = ("none", "butterworth", "one_euro", "kalman")


def _rig_names() -> tuple[str, ...]:
    from mocap.retarget import PRESETS

    return tuple(PRESETS)


@dataclass(frozen=True)
class Setting:
    """One key of a table.

    kind: "int", "float", "bool", "str", "choice" (one of ``choices``), "choices" (a list of
    ``choices``), "numbers" (a list of ``length`` numbers), "names" (a list of strings),
    "squares" ("7x5" or [7, 5]), "count_or_all" (a whole number or "all"), "str_or_int",
    "frames_by_camera" (a table of camera name = number).
    Numbers must satisfy ``low <= v`` (``above < v``) and ``v <= high`` where given.
    """

    key: str
    default: object
    help: str
    kind: str
    choices: tuple | Callable[[], tuple] = ()
    low: float | None = None
    above: float | None = None
    high: float | None = None
    length: int | None = None
    example: object = None

    def allowed_choices(self) -> tuple:
        return self.choices() if callable(self.choices) else self.choices


@dataclass(frozen=True)
class Table:
    name: str
    help: str
    settings: tuple[Setting, ...]

    def get(self, key: str) -> Setting | None:
        return next((s for s in self.settings if s.key == key), None)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.settings)


S = Setting

_GROUP_SMOOTHING = (
    S("smoother", None, "smoother for this group", "choice", SMOOTHERS, example="butterworth"),
    S("butterworth_cutoff", None, "Butterworth cut-off (Hz)", "float", above=0, example=10.0),
    S("butterworth_order", None, "Butterworth order", "int", low=1, high=8, example=4),
    S("one_euro", None, "one-euro filter: [min_cutoff Hz, beta]", "numbers", length=2, low=0, example=[1.0, 0.5]),
    S("kalman", None, "Kalman + RTS smoother: [measurement noise m, acceleration m/s^1.5]", "numbers", length=2,
      above=0, example=[0.01, 10.0]),
)

TABLES: tuple[Table, ...] = (
    Table("session", "The capture: which cameras, at what rate.", (
        S("cameras", [], "cameras (video file stems in videos/) to use, in this order; [] = every video",
          "names"),
        S("fps", 0.0, "frame rate of the videos when their files do not state it right; 0 = as the files say",
          "float", low=0),
    )),
    Table("calibration", "Cameras: a calibration file in calibration/ is imported; board pictures "
          "(one sub-folder of images or one video per camera) are calibrated with the board below.", (
        S("source", "auto", "auto: a calibration file in calibration/ if there is one, else board pictures; "
          "file: only a file; board: only board pictures", "choice", ("auto", "file", "board")),
        S("file", None, "the calibration file to use (relative to calibration/), when there are several",
          "str", example="Calib.qca.txt"),
        S("board", "charuco", "board kind", "choice", ("charuco", "checkerboard")),
        S("squares", "7x5", "ChArUco: squares across x down; checkerboard: inner corners ([7, 5] works too)",
          "squares"),
        S("square_size", 0.06, "side of one square (metres)", "float", above=0),
        S("marker_size", None, "ChArUco: side of one ArUco marker (metres); default 3/4 of the square", "float",
          above=0, example=0.045),
        S("dictionary", "DICT_4X4_50", "ChArUco: ArUco dictionary (OpenCV name)", "str"),
        S("legacy", False, "ChArUco layout of OpenCV < 4.6", "bool"),
        S("fisheye", False, "fisheye lens model", "bool"),
        S("every", 1, "board videos: use every n-th frame", "int", low=1),
        S("rate", None, "board videos: sample this many frames per second instead (wins over every)", "float",
          above=0, example=2.0),
        S("floor", None, "picture (file stem or frame number) with the board lying on the floor: world origin "
          "and axes, Z up", "str_or_int", example="000120"),
    )),
    Table("sync", "Cameras that started at different moments: each camera's offset -> output/sync.toml, applied by "
          "the 2D stage (each video read from its own first synchronized frame; frame numbers are those of the "
          "reference camera). A sync.toml written by `mocap sync` is used as it is (delete it to synchronize by "
          "these settings).", (
        S("method", "auto", "auto: recorded timestamps (videos/<cam>_timestamps.csv) if every camera has them, "
          "else audio if every video has a sound track, else none; motion: cross-correlation of the 2D "
          "keypoints' motion (the 2D runs on the unsynchronized videos first); manual: the offsets below; none: "
          "the videos start together", "choice", ("auto", "timestamps", "audio", "motion", "manual", "none")),
        S("reference", None, "camera the others are measured against; unset = the first", "str", example="cam01"),
        S("offsets", None, "method manual: each camera's offset in frames (its frame N is the reference's frame 0; "
          "other methods ignore them)",
          "frames_by_camera", example={"cam02": 7, "cam03": -3}),
        S("max_offset", 0.0, "largest offset to look for (seconds); 0 = what keeps half the shortest clip",
          "float", low=0),
        S("min_confidence", 0.5, "warn about cameras whose offset has a lower confidence", "float", low=0, high=1),
    )),
    Table("pose2d", "2D whole-body keypoints (133) of every camera -> output/pose2d.npz.", (
        S("backend", "mediapipe", "mediapipe: Holistic, offline on CPU; rtmw: detector + ONNX whole-body model "
          "(GPU if present); openpose-json: read OpenPose JSON already computed (see json_folder)", "choice",
          ("mediapipe", "rtmw", "openpose-json")),
        S("model", None, "rtmw pose model: registry/cache name (`mocap models list`) or .onnx path", "str",
          example="rtmw-l"),
        S("detector", None, "person detector: cache name or .onnx / mmdeploy folder (rtmw default "
          "rtmdet-nano-person; mediapipe: enables several people via crops)", "str", example="rtmdet-nano-person"),
        S("device", "auto", "where the ONNX models run", "choice", ("auto", "cpu", "cuda", "tensorrt")),
        S("fp16", False, "half precision where the provider supports it (TensorRT)", "bool"),
        S("start", 0, "first video frame (synchronized: frame of the reference camera)", "int", low=0),
        S("stop", None, "video frame to stop before; unset = the end of the shortest video (synchronized: of the "
          "frames every camera has)", "int", above=0, example=600),
        S("stride", 1, "use every n-th frame (the 3D frame rate is the video's divided by this)", "int", low=1),
        S("batch_frames", 4, "time steps per batched inference (all cameras)", "int", low=1),
        S("detect_every", 1, "run the person detector every n frames, track in between", "int", low=1),
        S("overlay", "none", "draw the 2D skeletons into output/overlay", "choice", ("none", "video", "images")),
        S("openpose", "none", "also write OpenPose JSON in this body layout into output/openpose", "choice",
          ("none",) + BODY_LAYOUTS),
        S("json_folder", "openpose", "openpose-json backend: folder (relative to the session) holding one "
          "<camera> or <camera>_json folder of OpenPose files per camera", "str"),
        S("json_layout", "body_25", "openpose-json backend: body layout OpenPose was run with", "choice",
          BODY_LAYOUTS),
    )),
    Table("triangulate", "3D keypoints from two cameras or more -> output/pose3d.npz (+ TRC per person).", (
        S("persons", 1, "1: the subject (the person most cameras agree on); \"all\": everyone, tracked; "
          "N: the N people seen longest", "count_or_all"),
        S("min_score", 0.3, "ignore 2D keypoints below this confidence", "float", low=0, high=1),
        S("min_views", 2, "cameras a keypoint needs to be triangulated", "int", low=2),
        S("max_association_error", 50.0, "pixels within which detections in different views count as one "
          "person", "float", above=0),
        S("max_reprojection_error", 15.0, "pixels beyond which a view of a keypoint is left out (raised per "
          "camera to 6x its median error)", "float", above=0),
        S("outlier_method", "consensus", "how views that disagree are found", "choice", ("consensus", "drop_worst")),
        S("fix_swaps", True, "put back limbs a view labelled with the wrong side", "bool"),
        S("max_gap", 1.0, "seconds a person may go unseen and keep their track (several people)", "float", low=0),
        S("min_track_frames", 5, "tracks seen in fewer frames are dropped as ghosts (several people; capped "
          "at the clip's length)", "int", low=1),
        S("trc", True, "also write output/pose3d.trc (pose3d_p1.trc, ... for further people)", "bool"),
        S("fill_with_lifting", False, "fill keypoints fewer than two cameras agreed on from monocular 3D: the "
          "[lift] backend runs over every video -> output/lifted.npz", "bool"),
    )),
    Table("lift", "Single-camera sessions: monocular 3D from the one video (instead of triangulate) -> "
          "output/lifted.npz and output/pose3d.npz; the frames are [pose2d]'s.", (
        S("backend", "mediapipe", "mediapipe: MediaPipe's metric world landmarks, offline; rtmw3d: the RTMW3D "
          "ONNX model (`mocap models pull rtmw3d-x`)", "choice", ("mediapipe", "rtmw3d")),
        S("model", None, "rtmw3d model: registry/cache name or .onnx path", "str", example="rtmw3d-x"),
        S("detector", None, "person detector (as [pose2d] detector)", "str", example="rtmdet-nano-person"),
        S("height", 0.0, "the person's height (m) for the scale; 0 = measured with the feet on the floor when the "
          "floor is known, else typical", "float", low=0, high=2.6),
        S("smoothing", 0.25, "seconds of smoothing of the depth over time", "float", low=0),
        S("min_score", 0.3, "2D keypoints below this confidence do not place the body", "float", low=0, high=1),
    )),
    Table("filter", "Gap filling and smoothing of the 3D keypoints -> output/pose3d_filtered.npz, and foot "
          "contacts -> output/foot_contacts.npz.", (
        S("despike", 0.0, "remove points more than this many metres from their 7-frame median (then fill "
          "them); 0 = off", "float", low=0),
        S("fill_gaps", 10, "interpolate gaps of up to this many frames; 0 = none", "int", low=0),
        S("gap_method", "linear", "gap interpolation", "choice", ("linear", "cubic")),
        S("smoother", "butterworth", "butterworth: zero-phase low-pass; one_euro: causal (live use); kalman: "
          "Kalman + RTS smoother; none", "choice", SMOOTHERS),
        S("butterworth_cutoff", 6.0, "Butterworth cut-off (Hz); below half the frame rate", "float", above=0),
        S("butterworth_order", 4, "Butterworth order", "int", low=1, high=8),
        S("one_euro", [1.0, 0.5], "one-euro filter: [min_cutoff Hz, beta]", "numbers", length=2, low=0),
        S("kalman", [0.01, 10.0], "Kalman + RTS smoother: [measurement noise m, acceleration m/s^1.5]",
          "numbers", length=2, above=0),
        S("rigidify", False, "constant bone lengths per person", "bool"),
        S("contact_height", 0.05, "a foot within this height (m) of the floor may be in contact", "float",
          above=0),
        S("contact_speed", 0.3, "... and moving slower than this (m/s)", "float", above=0),
    )),
    Table("filter.face", "Own smoothing for the face; unset keys follow [filter].", _GROUP_SMOOTHING),
    Table("filter.hands", "Own smoothing for the hands; unset keys follow [filter].", _GROUP_SMOOTHING),
    Table("retarget", "3D keypoints -> an animated whole-body armature (body and fingers) -> output/motion.npz.", (
        S("rig", "default", "bone names and chain of the target skeleton", "choice", _rig_names),
        S("person", 0, "which person (track) to retarget; \"all\": every one (motion_p1.npz, ...)",
          "count_or_all", low=0),
        S("foot_lock", False, "pin the feet while they stand (the filter stage's foot contacts)", "bool"),
        S("smplx_model", None, "fit SMPL-X instead: the model .npz or its folder, or \"env\" for "
          "$MOCAP_SMPLX_MODEL; writes output/smplx.npz", "str", example="env"),
        S("gender", "neutral", "SMPL-X model gender", "choice", ("neutral", "female", "male")),
    )),
    Table("export", "Files for other tools: armatures (bvh, fbx, gltf, glb) -> output/motion.*, markers "
          "(trc, c3d, csv) of the filtered keypoints -> output/markers.*.", (
        S("formats", ["bvh", "trc", "c3d"], "formats to write (fbx needs Blender's bpy)", "choices",
          EXPORT_FORMATS),
        S("trc_units", "m", "TRC length unit", "choice", ("m", "cm", "mm")),
        S("c3d_units", "mm", "C3D length unit", "choice", ("m", "cm", "mm")),
    )),
    Table("report", "output/report.html: calibration, detection, reprojection, bone lengths, trajectories.", (
        S("enabled", True, "write the report", "bool"),
        S("frames", 3, "video frames per camera drawn with the reprojected skeleton", "int", low=0, high=20),
    )),
)

TABLE_BY_NAME = {t.name: t for t in TABLES}

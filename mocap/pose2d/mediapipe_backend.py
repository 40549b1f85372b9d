"""The offline default backend: MediaPipe Pose for the body, then faces and hands from crops.

Everything runs on models ``mediapipe==0.10.21`` bundles (no download): the BlazePose "full" pose
model, the 224 x 224 hand-landmark and 192 x 192 face-mesh models.

**Body.** MediaPipe Pose gives 33 landmarks with a visibility each (the score), normalised to the
image it saw: ``x_n * width`` counts from the left *edge* of the image, so the pixel coordinate
(pixel centres at integers, as everywhere in mocap) is ``x0 + x_n * w - 0.5`` for an image region
with origin ``x0`` and width ``w``. They map into the 133 through the pose part of
``mediapipe_543`` (:func:`mocap.skeleton.to_wholebody`): body points, heels, and the foot tips as
big toes (small toes stay NaN); the pose's eye and mouth corners are left out because the face
mesh gives the face.

* Without a detector: one person per image, the whole frame. In a video (``streams`` given, as
  :func:`mocap.pose2d.run.estimate_videos` does: the camera name) each stream has its own
  tracking Pose instance (video mode: the next frame's region comes from this one's landmarks);
  images without a stream (single pictures) go to one static-image instance.
* With a detector: each box is padded by ``padding``, clipped to the image, and a static-image Pose
  runs on the crop (consecutive crops belong to different people, so nothing is tracked).

**Faces and hands** come next, from crops cut around each body (:class:`mocap.pose2d.parts.
PartEstimator`: hands from the forearm, the face from eyes, ears and nose; scores are the models'
presence probabilities; hands are checked against the body's wrists). ``hands=False`` /
``face=False`` skip them.

**World landmarks** (``world=True``, off by default and free when off): each :class:`Poses` also
carries ``world`` (P, 133, 3) in metres: the pose model's ``pose_world_landmarks`` (hip-centred,
axes as MediaPipe gives them: x right, y down, z away from the camera, aligned with the camera)
through the same 133 mapping, and each found hand's world landmarks (the hand model's, turned
back from the crop to the camera's axes) translated so that the hand's wrist lies on the body's
wrist. Face points and everything not found are NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mocap.errors import SettingsError
from mocap.pose2d.base import Poses, PoseBackend, as_boxes
from mocap.skeleton import INDEX, LEFT_HAND, N_KEYPOINTS, RIGHT_HAND, get_layout

_POSE_FILES = {0: "pose_landmark_lite.tflite", 1: "pose_landmark_full.tflite", 2: "pose_landmark_heavy.tflite"}
_MP_543 = get_layout("mediapipe_543")
_HAND_HINTS = ((15, 19, 17), (16, 20, 18))  # MediaPipe Pose: wrist, index, pinky of the left / right hand


def pose_to_133(landmarks, n_points: int = 33, with_visibility: bool = True):
    """A MediaPipe pose landmark list -> (133, D) points and (133,) scores (the pose part of the
    543 layout). ``D`` is 3 (x, y, z as MediaPipe gives them, unscaled); NaN / 0 where absent."""
    full = np.full((_MP_543.n_keypoints, 3), np.nan)
    score = np.zeros(_MP_543.n_keypoints)
    if landmarks is not None:
        arr = np.array([(p.x, p.y, p.z, p.visibility) for p in landmarks.landmark[:n_points]])
        full[:n_points] = arr[:, :3]
        score[:n_points] = np.clip(arr[:, 3], 0.0, 1.0) if with_visibility else 1.0
    src, dst = _MP_543.source_index, _MP_543.target_index
    xyz = np.full((N_KEYPOINTS, 3), np.nan)
    s133 = np.zeros(N_KEYPOINTS)
    xyz[dst], s133[dst] = full[src], score[src]
    s133[np.isnan(xyz[:, 0])] = 0.0
    return xyz, s133


class MediaPipeBackend(PoseBackend):
    """MediaPipe Pose per image (whole frame, or per detector box), then face and hand crops."""

    name = "mediapipe"
    uses_streams = True  # process() takes ``streams`` (one tracking instance per video stream)

    def __init__(self, detector=None, model_complexity: int = 1, padding: float = 1.25,
                 min_detection_confidence: float = 0.5, max_persons: int | None = None,
                 hands: bool = True, face: bool = True, world: bool = False, smooth_landmarks: bool = False):
        try:
            import mediapipe as mp
        except ImportError as exc:  # an optional extra
            raise SettingsError("the mediapipe backend needs `pip install mediapipe==0.10.21` "
                                "(the `mediapipe` extra)") from exc
        model = Path(mp.__file__).parent / "modules" / "pose_landmark" / _POSE_FILES.get(model_complexity, "?")
        if not model.is_file():
            raise SettingsError(f"MediaPipe pose model_complexity={model_complexity} is not installed "
                                f"({model.name} would be downloaded); the bundled model is complexity 1")
        self._pose_cls = mp.solutions.pose.Pose
        self.detector, self.padding, self.max_persons, self.world = detector, padding, max_persons, world
        self.options = dict(model_complexity=model_complexity, min_detection_confidence=min_detection_confidence,
                            smooth_landmarks=smooth_landmarks, enable_segmentation=False)
        self._static = None
        self._streams: dict = {}
        self.part_options = dict(hands=hands, face=face) if (hands or face) else None
        self.parts = None  # the PartEstimator, made on first use
        self.provider = "cpu"

    def describe(self) -> str:
        what = "pose" + (" + face/hand crops" if self.part_options else "")
        who = "person crops" if self.detector is not None else "one person per camera"
        return f"{self.name} ({what}, {who}) on {self.provider}"

    @property
    def stream_names(self) -> list:
        """The video streams that have their own tracking Pose instance (video mode)."""
        return sorted(self._streams, key=str)

    def _static_model(self):
        if self._static is None:
            self._static = self._pose_cls(static_image_mode=True, **self.options)
        return self._static

    def _stream_model(self, key):
        if key not in self._streams:
            self._streams[key] = self._pose_cls(static_image_mode=False, **self.options)
        return self._streams[key]

    def _body(self, model, rgb, x0, y0, w, h):
        """One Pose call on an RGB region -> (133, 2) px, (133,) scores, (133, 3) world or None,
        (2, 3, 2) hand hints (wrist, index and pinky knuckles of the left and right hand, px)."""
        res = model.process(rgb)
        if res.pose_landmarks is None:
            return None
        xyz, score = pose_to_133(res.pose_landmarks)
        xy = xyz[:, :2] * (w, h) + (x0 - 0.5, y0 - 0.5)
        world = pose_to_133(res.pose_world_landmarks)[0] if self.world else None
        lm = res.pose_landmarks.landmark
        hints = np.array([[(lm[i].x, lm[i].y) for i in side] for side in _HAND_HINTS]) * (w, h) + (x0 - 0.5, y0 - 0.5)
        return xy, score, world, hints

    def process(self, images, boxes=None, streams=None) -> list[Poses]:
        boxes = list(boxes) if boxes is not None else [None] * len(images)
        if self.detector is not None:
            todo = [i for i, b in enumerate(boxes) if b is None]
            for i, found in zip(todo, self.detector([images[i] for i in todo]) if todo else []):
                boxes[i] = found
        return [self._one(img, boxes[i], streams[i] if streams is not None else None)
                for i, img in enumerate(images)]

    def _one(self, img, boxes, stream) -> Poses:
        rgb = np.ascontiguousarray(img[..., ::-1])
        h_img, w_img = img.shape[:2]
        people = []  # (xy, score, world, box)
        if boxes is None:  # whole frame, one person; video mode per stream
            model = self._stream_model(stream) if stream is not None else self._static_model()
            got = self._body(model, rgb, 0, 0, w_img, h_img)
            if got is not None:
                xy = got[0][np.isfinite(got[0][:, 0])]
                people.append(got + (np.r_[xy.min(0), xy.max(0), 1.0],))
        else:
            b = as_boxes(boxes)
            if self.max_persons:
                b = b[: self.max_persons]
            for box in b:  # one static Pose call per person crop
                cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
                half = np.array([box[2] - box[0], box[3] - box[1]]) * self.padding / 2
                x0, y0 = int(max(cx - half[0], 0)), int(max(cy - half[1], 0))
                x1, y1 = int(min(cx + half[0], w_img)), int(min(cy + half[1], h_img))
                if x1 - x0 < 8 or y1 - y0 < 8:
                    continue
                got = self._body(self._static_model(), np.ascontiguousarray(rgb[y0:y1, x0:x1]), x0, y0,
                                 x1 - x0, y1 - y0)
                if got is not None:
                    people.append(got + (box,))
        people = _distinct(people)
        if not people:
            return Poses.empty(with_world=self.world)
        xy = np.stack([p[0] for p in people])
        score = np.stack([p[1] for p in people])
        world = np.stack([p[2] for p in people]) if self.world else None
        hints = np.stack([p[3] for p in people])
        if self.part_options:
            if self.parts is None:
                from mocap.pose2d.parts import PartEstimator

                self.parts = PartEstimator(**self.part_options)
            parts = self.parts(rgb, xy, score, stream=stream, hand_hints=hints)
            have = parts.score > 0
            xy = np.where(have[..., None], parts.xy, xy)
            score = np.where(have, parts.score, score)
            if world is not None:
                world = _attach_hands(world, parts.world)
        return Poses(xy, score, np.stack([p[4] for p in people]), world)

    def close(self):
        for m in [self._static, *self._streams.values()]:
            if m is not None:
                m.close()
        if self.parts is not None:
            self.parts.close()
        self._static, self._streams, self.parts = None, {}, None


def _distinct(people, min_score: float = 0.5, same: float = 0.1):
    """Drop people found twice (two detector boxes on one person: the crops give the same body):
    a person whose confident body points lie, by median, within ``same`` of the other's box
    diagonal of an earlier (higher-scored box) person's is a duplicate."""
    kept = []
    for person in people:
        xy, score = person[0][:17], person[1][:17]
        duplicate = False
        for other in kept:
            ok = (score > min_score) & (other[1][:17] > min_score)
            if ok.sum() >= 5:
                box = other[0][:17][other[1][:17] > min_score]
                diag = np.linalg.norm(box.max(0) - box.min(0))
                if np.median(np.linalg.norm(xy[ok] - other[0][:17][ok], axis=-1)) < same * max(diag, 1.0):
                    duplicate = True
                    break
        if not duplicate:
            kept.append(person)
    return kept


def _attach_hands(world: np.ndarray, hands: np.ndarray) -> np.ndarray:
    """Body world points (P, 133, 3) + hand world landmarks about each hand's centre (P, 133, 3)
    -> one array, each hand moved so that its wrist lies on the body's wrist."""
    out = world.copy()
    for side, part in (("left", LEFT_HAND), ("right", RIGHT_HAND)):
        hand = hands[:, part]
        shift = world[:, INDEX[f"{side}_wrist"]] - hand[:, 0]  # NaN where either is unknown
        out[:, part] = hand + shift[:, None]
    return out

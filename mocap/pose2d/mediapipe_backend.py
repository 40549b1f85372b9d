"""The offline default backend: MediaPipe Holistic (``mediapipe==0.10.21``, bundled models).

Holistic gives 33 body landmarks (with a visibility each), a 468-point face mesh and 21 points per
hand, all normalised to the image it saw. They are stacked into MediaPipe's 543 layout and mapped
into the 133 with :func:`mocap.skeleton.to_wholebody`: body points directly, feet from the heel
and foot-index points (the small toes stay NaN), the face through the 468 -> 68 table, both hands
(Holistic's left/right are the person's). Face and hand points carry no per-point confidence;
they get score 1 when present.

One person per image is what Holistic does. For several people, run it on **person crops**: each
detector box is padded by ``padding``, clipped to the image, and Holistic (static-image mode,
since consecutive crops belong to different people) runs on the crop; landmarks go back to image
pixels by the crop's offset and size. Without a detector Holistic sees the whole frame in
video mode, one tracker-carrying instance per camera stream.
"""

from __future__ import annotations

import numpy as np

from mocap.errors import SettingsError
from mocap.pose2d.base import Poses, PoseBackend, as_boxes
from mocap.skeleton import N_KEYPOINTS, to_wholebody


def _landmarks(lms, n: int, with_visibility: bool):
    """MediaPipe landmark list -> (n, 2) normalised xy and (n,) score; NaN / 0 when absent."""
    if lms is None:
        return np.full((n, 2), np.nan), np.zeros(n)
    arr = np.array([(p.x, p.y, p.visibility if with_visibility else 1.0) for p in lms.landmark[:n]])
    return arr[:, :2], np.clip(arr[:, 2], 0.0, 1.0)


def holistic_to_133(result, x0: float, y0: float, w: float, h: float):
    """One Holistic result on an image region (origin x0, y0, size w, h) -> (133, 2) px, (133,)."""
    parts = [_landmarks(result.pose_landmarks, 33, True), _landmarks(result.face_landmarks, 468, False),
             _landmarks(result.left_hand_landmarks, 21, False), _landmarks(result.right_hand_landmarks, 21, False)]
    xy = np.concatenate([p[0] for p in parts]) * (w, h) + (x0, y0)
    score = np.concatenate([p[1] for p in parts])
    return to_wholebody(xy, score, "mediapipe_543")


class MediaPipeBackend(PoseBackend):
    """MediaPipe Holistic per image (whole frame) or per detector box (several people)."""

    name = "mediapipe"

    def __init__(self, detector=None, model_complexity: int = 1, padding: float = 1.25,
                 min_detection_confidence: float = 0.5, max_persons: int | None = None):
        try:
            import mediapipe as mp
        except ImportError as exc:  # an optional extra
            raise SettingsError("the mediapipe backend needs `pip install mediapipe==0.10.21` "
                                "(the `mediapipe` extra)") from exc
        self._holistic = mp.solutions.holistic.Holistic
        self.detector, self.padding, self.max_persons = detector, padding, max_persons
        self.options = dict(model_complexity=model_complexity, min_detection_confidence=min_detection_confidence,
                            refine_face_landmarks=False, enable_segmentation=False)
        self._static = None
        self._streams: dict = {}
        self.provider = "cpu"

    def _static_model(self):
        if self._static is None:
            self._static = self._holistic(static_image_mode=True, **self.options)
        return self._static

    def _stream_model(self, key):
        if key not in self._streams:
            self._streams[key] = self._holistic(static_image_mode=False, **self.options)
        return self._streams[key]

    def process(self, images, boxes=None, streams=None) -> list[Poses]:
        boxes = list(boxes) if boxes is not None else [None] * len(images)
        if self.detector is not None:
            todo = [i for i, b in enumerate(boxes) if b is None]
            for i, found in zip(todo, self.detector([images[i] for i in todo]) if todo else []):
                boxes[i] = found
        out = []
        for i, img in enumerate(images):
            rgb = np.ascontiguousarray(img[..., ::-1])
            h_img, w_img = img.shape[:2]
            if boxes[i] is None:  # whole frame, one person, video mode per stream
                key = streams[i] if streams is not None else None
                model = self._stream_model(key) if key is not None else self._static_model()
                xy, score = holistic_to_133(model.process(rgb), 0, 0, w_img, h_img)
                found = np.isfinite(xy[:, 0]).any()
                box = np.r_[np.nanmin(xy, 0), np.nanmax(xy, 0), 1.0][None] if found else np.zeros((0, 5))
                out.append(Poses(xy[None], score[None], box) if found else Poses.empty())
                continue
            b = as_boxes(boxes[i])
            if self.max_persons:
                b = b[: self.max_persons]
            xys, scores, kept = [], [], []
            for box in b:  # one Holistic call per person crop
                cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
                half = np.array([box[2] - box[0], box[3] - box[1]]) * self.padding / 2
                x0, y0 = int(max(cx - half[0], 0)), int(max(cy - half[1], 0))
                x1, y1 = int(min(cx + half[0], w_img)), int(min(cy + half[1], h_img))
                if x1 - x0 < 8 or y1 - y0 < 8:
                    continue
                res = self._static_model().process(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
                xy, score = holistic_to_133(res, x0, y0, x1 - x0, y1 - y0)
                if np.isfinite(xy[:, 0]).any():
                    xys.append(xy)
                    scores.append(score)
                    kept.append(box)
            out.append(Poses(np.array(xys).reshape(-1, N_KEYPOINTS, 2), np.array(scores).reshape(-1, N_KEYPOINTS),
                             np.array(kept).reshape(-1, 5)) if xys else Poses.empty())
        return out

    def close(self):
        for m in [self._static, *self._streams.values()]:
            if m is not None:
                m.close()
        self._static, self._streams = None, {}

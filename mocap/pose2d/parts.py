"""Faces and hands from crops cut around a body: the second stage of the offline backend.

A whole-body image at 1080 x 1920 shows a hand as some 60 pixels and a face as some 100: too few
for a detector run on the whole frame (MediaPipe Holistic finds hands in only part of the Pose2Sim
demo's frames). Once the body is known, each part is cut out where the body says it is, upright,
at the resolution its landmark model wants (:mod:`mocap.pose2d.landmark_models`: hands 224 x 224,
face mesh 192 x 192), and the model's points are mapped back through the inverse of the crop's
similarity transform (:func:`mocap.pose2d.crops.rotated_crop_matrices`).

Where each crop goes (image pixels; L = forearm length, the elbow-to-wrist distance):

* **hand**: "up" is the forearm's direction (elbow -> wrist: the hand continues the arm), the
  centre lies ``offset * L`` beyond the wrist along it and the side is ``side * L``. A fist is
  smaller than an open hand and a bent wrist turns the hand off the forearm's line, so a few
  crops are tried in turn (:data:`HAND_TRIES`: side, offset, turn in degrees, the turn mirrored for
  the right hand) until the model sees the hand; on the Pose2Sim demo the three found 13 % more
  hands than the best single crop. A body model that also gives rough hand points (MediaPipe
  Pose's index and pinky knuckles: ``hand_hints``) adds one more, along wrist -> knuckles (which
  follows a bent wrist): centred ``HINT_OFFSET`` of that length beyond the wrist, ``HINT_SIDE``
  of it across.
* **face**: "up" is from the shoulders' mid-point to the head (eyes, ears, nose: the mean of those
  seen); the centre is that mean; the side is the largest of ``FACE_SIDE_EARS`` x the ear-to-ear
  distance, ``FACE_SIDE_EYES`` x the eye-to-eye distance, ``FACE_SIDE_NOSE`` x the longest
  nose-to-ear or nose-to-eye distance and ``FACE_SIDE_SHOULDERS`` x the shoulder width (each cue
  shrinks when the head or body turns away, so the largest is the honest one).

In a video stream (``stream`` given) the part found in the previous frame is tried first, framed
by its own landmarks and moved with the body (as MediaPipe's trackers frame the next frame).
Every found part then gets a **second pass** framed by its first answer: hands upright along
wrist -> middle-finger knuckle, centred on the landmarks' box shifted 10 % towards the fingers,
side twice the box; faces level along the outer eye corners, side 1.5 x the mesh's box. The second
answer is kept when the model still sees the part there.

Checks and scores:

* a part is *found* when the model's presence probability is at least ``min_presence`` (0.5, as
  MediaPipe); every point of a found part has that probability as its score (the models give no
  per-point confidence), so scores mean what the model says;
* **left and right** are checked against the body: a hand counts only when its wrist lands within
  ``HAND_WRIST_TOLERANCE * L`` of the body wrist it was cut around (a crop that shows both hands
  may find the other one); it then takes that wrist's side. The model's handedness output is kept
  (``Parts.left_probability``) but not trusted on its own: on the demo it says "left" for a
  left hand with probability anywhere from 0.1 to 0.8 depending on the view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.pose2d.crops import apply_affine, invert_affine, rotated_crop_matrices, warp_crops
from mocap.skeleton import FACE, INDEX, LEFT_HAND, RIGHT_HAND, to_wholebody

HAND_TRIES = ((1.1, 0.2, 0.0), (0.7, 0.2, 0.0), (1.1, 0.35, 30.0))
HINT_OFFSET, HINT_SIDE = 0.6, 3.5
HAND_WRIST_TOLERANCE = 0.35
FACE_SIDE_EARS, FACE_SIDE_EYES, FACE_SIDE_NOSE, FACE_SIDE_SHOULDERS = 2.0, 4.6, 2.6, 0.75
HAND_RECROP_SCALE, HAND_RECROP_SHIFT, FACE_RECROP_SCALE = 2.0, 0.1, 1.5
MIDDLE_MCP, RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 9, 33, 263  # hand-21 and face-mesh-468 indices

_SIDES = ("left", "right")
_HEAD = [INDEX[n] for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]


@dataclass(frozen=True)
class Crops:
    """Square crops: ``center`` (N, 2), ``side`` (N,) image pixels, ``up`` (N, 2) unit vectors."""

    center: np.ndarray
    side: np.ndarray
    up: np.ndarray

    def matrices(self, size: int) -> np.ndarray:
        return rotated_crop_matrices(self.center, self.side, self.up, size)

    def take(self, idx) -> "Crops":
        return Crops(self.center[idx], self.side[idx], self.up[idx])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def _turn(v: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    return np.stack([c * v[:, 0] - s * v[:, 1], s * v[:, 0] + c * v[:, 1]], 1)


def _seen(xy: np.ndarray, score: np.ndarray, min_score: float) -> np.ndarray:
    return np.where(((score > min_score) & np.isfinite(xy).all(-1))[..., None], xy, np.nan)


def hand_crops(xy: np.ndarray, score: np.ndarray, side: float = 1.1, offset: float = 0.2, turn: float = 0.0,
               min_score: float = 0.05):
    """Crops for both hands of people ``xy`` (P, 133, 2), ``score`` (P, 133) (see the module
    docstring for ``side``, ``offset``, ``turn``).

    Returns ``(Crops with 2P rows: person p's left hand at 2p, right at 2p + 1, wrists (2P, 2),
    forearm lengths (2P,), valid (2P,))``; a hand whose wrist or elbow is unknown is not valid.
    The threshold on the body's scores is low on purpose: MediaPipe's pose calls a wrist in front
    of the body "not visible" while the hand is plainly there, and the hand model judges that.
    """
    pts = _seen(xy, score, min_score)
    wrist = np.stack([pts[:, INDEX[f"{s}_wrist"]] for s in _SIDES], 1).reshape(-1, 2)
    elbow = np.stack([pts[:, INDEX[f"{s}_elbow"]] for s in _SIDES], 1).reshape(-1, 2)
    forearm = wrist - elbow
    length = np.linalg.norm(forearm, axis=-1)
    valid = np.isfinite(length) & (length > 2.0)
    length = np.where(valid, length, 1.0)
    up = np.where(valid[:, None], _unit(np.nan_to_num(forearm)), [0.0, -1.0])
    up = _turn(up, np.tile([turn, -turn], len(xy)))
    center = np.where(valid[:, None], np.nan_to_num(wrist) + offset * length[:, None] * up, 0.0)
    return Crops(center, side * length, up), np.where(valid[:, None], wrist, np.nan), length, valid


def face_crops(xy: np.ndarray, score: np.ndarray, min_score: float = 0.3):
    """Crops for the faces of people ``xy`` (P, 133, 2): ``(Crops (P rows), valid (P,))``."""
    pts = _seen(xy, score, min_score)
    head = pts[:, _HEAD]
    n_seen = np.isfinite(head[..., 0]).sum(1)
    center = np.nan_to_num(head).sum(1) / np.maximum(n_seen, 1)[:, None]
    neck = pts[:, [INDEX["left_shoulder"], INDEX["right_shoulder"]]].mean(1)

    def dist(a, b):
        return np.linalg.norm(pts[:, INDEX[a]] - pts[:, INDEX[b]], axis=-1)

    cues = np.stack([FACE_SIDE_EARS * dist("left_ear", "right_ear"),
                     FACE_SIDE_EYES * dist("left_eye", "right_eye"),
                     FACE_SIDE_NOSE * np.fmax.reduce([dist("nose", k) for k in
                                                      ("left_ear", "right_ear", "left_eye", "right_eye")]),
                     FACE_SIDE_SHOULDERS * dist("left_shoulder", "right_shoulder")], 1)
    side = np.fmax.reduce(cues, axis=1)
    valid = (n_seen >= 2) & np.isfinite(side) & (side > 8.0)
    up = center - neck
    ok = np.isfinite(up).all(1) & (np.linalg.norm(np.nan_to_num(up), axis=1) > 1e-6)
    up = np.where(ok[:, None], _unit(np.nan_to_num(up)), [0.0, -1.0])
    return Crops(np.where(valid[:, None], center, 0.0), np.where(valid, side, 1.0), up), valid


def hint_crops(hints: np.ndarray):
    """Crops from (N, 3, 2) wrist, index knuckle, pinky knuckle: ``(Crops, valid (N,))``."""
    wrist, knuckles = hints[:, 0], hints[:, 1:].mean(1)
    up = knuckles - wrist
    n = np.linalg.norm(up, axis=-1)
    valid = np.isfinite(n) & (n > 1.0)
    n = np.where(valid, n, 1.0)
    up = np.where(valid[:, None], np.nan_to_num(up) / n[:, None], [0.0, -1.0])
    center = np.where(valid[:, None], np.nan_to_num(wrist) + HINT_OFFSET * n[:, None] * up, 0.0)
    return Crops(center, HINT_SIDE * n, up), valid


def hand_recrops(xy21: np.ndarray) -> Crops:
    """Second-pass crops framed by hand landmarks ``xy21`` (N, 21, 2) image pixels."""
    up = _unit(xy21[:, MIDDLE_MCP] - xy21[:, 0])
    return _box_crops(xy21, up, HAND_RECROP_SCALE, HAND_RECROP_SHIFT)


def face_recrops(xy468: np.ndarray) -> Crops:
    """Second-pass crops framed by face-mesh landmarks ``xy468`` (N, 468, 2) image pixels."""
    right = _unit(xy468[:, LEFT_EYE_OUTER] - xy468[:, RIGHT_EYE_OUTER])  # the crop's +x
    up = np.stack([right[:, 1], -right[:, 0]], 1)
    return _box_crops(xy468, up, FACE_RECROP_SCALE, 0.0)


def _box_crops(points: np.ndarray, up: np.ndarray, scale: float, shift: float) -> Crops:
    """The square around ``points`` (N, K, 2) in the frame whose "up" is ``up``: its longer side
    times ``scale``, its centre moved ``shift`` box-heights towards ``up``."""
    x_axis = np.stack([-up[:, 1], up[:, 0]], 1)
    u = np.einsum("nkd,nd->nk", points, x_axis)
    v = np.einsum("nkd,nd->nk", points, -up)  # crop y grows downwards
    lo_u, hi_u, lo_v, hi_v = u.min(1), u.max(1), v.min(1), v.max(1)
    height = hi_v - lo_v
    cu, cv = (lo_u + hi_u) / 2, (lo_v + hi_v) / 2 - shift * height
    center = cu[:, None] * x_axis - cv[:, None] * up
    return Crops(center, scale * np.maximum(hi_u - lo_u, height), up)




@dataclass
class Parts:
    """Faces and hands of P people in one image, in the 133 layout (other points NaN / 0):
    ``xy`` (P, 133, 2), ``score`` (P, 133), ``world`` (P, 133, 3) the hands' world landmarks in
    metres about each hand's centre, turned from the crop's axes back to the image's (x right, y
    down, z away from the camera; NaN where no hand), ``left_probability`` (P, 2) the handedness
    output for the left- and right-hand slots (NaN where no hand)."""

    xy: np.ndarray
    score: np.ndarray
    world: np.ndarray
    left_probability: np.ndarray

    @classmethod
    def empty(cls, n: int) -> "Parts":
        return cls(np.full((n, 133, 2), np.nan), np.zeros((n, 133)), np.full((n, 133, 3), np.nan),
                   np.full((n, 2), np.nan))


class PartEstimator:
    """Faces and hands of the people of one image, from crops around their bodies (see the module
    docstring). ``hands`` / ``face`` switch each part off; ``refine`` the second pass."""

    def __init__(self, hands: bool = True, face: bool = True, min_presence: float = 0.5, refine: bool = True):
        from mocap.pose2d.landmark_models import LandmarkModel

        self.hand_model = LandmarkModel("hand") if hands else None
        self.face_model = LandmarkModel("face") if face else None
        self.min_presence, self.refine = min_presence, refine
        self._previous: dict = {}  # stream -> {"hand": (landmarks, body wrists), "face": (mesh, head centres)}

    def __call__(self, image_rgb: np.ndarray, xy: np.ndarray, score: np.ndarray, stream=None,
                 hand_hints: np.ndarray | None = None) -> Parts:
        """Parts of people ``xy`` (P, 133, 2), ``score`` (P, 133) in ``image_rgb`` (H, W, 3) RGB;
        ``stream``: a key of the video stream the image belongs to (tracking), None for a single
        image; ``hand_hints`` (P, 2, 3, 2): per person, for the left and the right hand, the wrist,
        index knuckle and pinky knuckle as the body model saw them (NaN where unknown)."""
        out = Parts.empty(len(xy))
        state = self._previous.setdefault(stream, {}) if stream is not None else {}
        if len(xy) and self.hand_model is not None:
            state["hand"] = self._hands(image_rgb, xy, score, out, state.get("hand"), hand_hints)
        if len(xy) and self.face_model is not None:
            state["face"] = self._face(image_rgb, xy, score, out, state.get("face"))
        return out

    def _run(self, kind: str, image, crops: Crops):
        """Crops -> (landmarks in image pixels, presence, the decoder's other outputs..., matrices)."""
        model = self.hand_model if kind == "hand" else self.face_model
        mats = crops.matrices(model.size)
        decoded = (model.hands if kind == "hand" else model.faces)(warp_crops(image, mats, (model.size, model.size)))
        return (apply_affine(invert_affine(mats), decoded[0]),) + tuple(decoded[1:]) + (mats,)

    def _search(self, kind, image, tries, accept, recrop):
        """Run ``tries`` (a list of (rows, Crops)) in turn on the rows not yet accepted, then the
        second pass on the accepted ones. Returns {row: result tuple} of the accepted rows."""
        found: dict[int, tuple] = {}
        for rows, crops in tries:
            todo = np.array([k for k, r in enumerate(rows) if r not in found], dtype=int)
            if not len(todo):
                continue
            res = self._run(kind, image, crops.take(todo))
            ok = accept(rows[todo], res)
            for j in np.flatnonzero(ok):
                found[int(rows[todo[j]])] = tuple(a[j] for a in res)
        if self.refine and found:
            rows = np.array(sorted(found))
            first = [found[r] for r in rows]
            res = self._run(kind, image, recrop(np.stack([f[0] for f in first])))
            ok = accept(rows, res)
            for j in np.flatnonzero(ok):
                found[int(rows[j])] = tuple(a[j] for a in res)
        return found

    def _hands(self, image, xy, score, out: Parts, previous, hints=None):
        _, wrist, length, valid = hand_crops(xy, score)
        rows = np.flatnonzero(valid)
        if not len(rows):
            return None
        tol = HAND_WRIST_TOLERANCE * length

        def accept(r, res):
            return (res[1] >= self.min_presence) & (np.linalg.norm(res[0][:, 0] - wrist[r], axis=-1) <= tol[r])

        tries = []
        if previous is not None:  # last frame's hands, moved with the body's wrist they belonged to
            lm, body_wrist = previous
            d = np.linalg.norm(wrist[rows, None] - body_wrist[None], axis=-1)
            near = d.min(1) <= tol[rows] if len(body_wrist) else np.zeros(len(rows), bool)
            if near.any():
                j = d[near].argmin(1)
                moved = lm[j] + (wrist[rows[near]] - body_wrist[j])[:, None]
                tries.append((rows[near], hand_recrops(moved)))
        for side, offset, turn in HAND_TRIES:
            crops = hand_crops(xy, score, side, offset, turn)[0]
            tries.append((rows, crops.take(rows)))
        if hints is not None:
            crops, ok = hint_crops(np.asarray(hints, dtype=np.float64).reshape(-1, 3, 2))
            sel = rows[ok[rows]]
            if len(sel):
                tries.append((sel, crops.take(sel)))
        found = self._search("hand", image, tries, accept, hand_recrops)
        for r, (hxy, presence, left, world, mats) in found.items():
            p, part = divmod(r, 2)
            sl = LEFT_HAND if part == 0 else RIGHT_HAND
            out.xy[p, sl], out.score[p, sl] = hxy, presence
            out.world[p, sl] = world_to_image_axes(world[None], mats[None])[0]
            out.left_probability[p, part] = left
        keys = sorted(found)
        return (np.array([found[r][0] for r in keys]).reshape(-1, 21, 2),
                np.array([wrist[r] for r in keys]).reshape(-1, 2))

    def _face(self, image, xy, score, out: Parts, previous):
        base, valid = face_crops(xy, score)
        rows = np.flatnonzero(valid)
        if not len(rows):
            return None
        center = base.center

        def accept(r, res):  # the mesh's centre must stay on the head the crop was cut around
            mesh_center = res[0].mean(1)
            return (res[1] >= self.min_presence) & (np.linalg.norm(mesh_center - center[r], axis=-1)
                                                    <= 0.5 * base.side[r])

        tries = []
        if previous is not None:
            mesh, old_center = previous
            d = np.linalg.norm(center[rows, None] - old_center[None], axis=-1)
            near = d.min(1) <= 0.5 * base.side[rows] if len(old_center) else np.zeros(len(rows), bool)
            if near.any():
                j = d[near].argmin(1)
                tries.append((rows[near], face_recrops(mesh[j] + (center[rows[near]] - old_center[j])[:, None])))
        tries.append((rows, base.take(rows)))
        found = self._search("face", image, tries, accept, face_recrops)
        for p, (fxy, presence, _) in found.items():
            face68, _ = to_wholebody(fxy, np.ones(len(fxy)), "mediapipe_face_468")
            out.xy[p, FACE], out.score[p, FACE] = face68[FACE], presence
        keys = sorted(found)
        return (np.array([found[p][0] for p in keys]).reshape(-1, 468, 2),
                np.array([center[p] for p in keys]).reshape(-1, 2))

    def hands_in(self, image_rgb: np.ndarray, crops: Crops):
        """Hands in given square crops (no body, no wrist check), with the second pass: returns
        ``xy`` (N, 21, 2) image pixels (NaN where not found), ``presence`` (N,)."""
        return self._parts_in("hand", image_rgb, crops, 21)

    def faces_in(self, image_rgb: np.ndarray, crops: Crops):
        """Faces in given square crops, with the second pass: returns ``xy`` (N, 68, 2) image
        pixels (the face-68 points; NaN where not found), ``presence`` (N,)."""
        xy, presence = self._parts_in("face", image_rgb, crops, 468)
        return to_wholebody(xy, np.ones(xy.shape[:2]), "mediapipe_face_468")[0][:, FACE], presence

    def _parts_in(self, kind, image, crops: Crops, k: int):
        rows = np.arange(len(crops.side))
        found = self._search(kind, image, [(rows, crops)], lambda r, res: res[1] >= self.min_presence,
                             hand_recrops if kind == "hand" else face_recrops)
        xy, presence = np.full((len(rows), k, 2), np.nan), np.zeros(len(rows))
        for r, res in found.items():
            xy[r], presence[r] = res[0], res[1]
        return xy, presence

    def close(self) -> None:
        for m in (self.hand_model, self.face_model):
            if m is not None:
                m.close()


def world_to_image_axes(world: np.ndarray, mats: np.ndarray) -> np.ndarray:
    """Hand world landmarks (N, 21, 3) in a rotated crop's axes -> the image's axes (x right,
    y down, z away from the camera): the inverse of the crop's in-plane rotation, z unchanged."""
    lin = mats[:, :, :2]
    rot = lin / np.linalg.norm(lin[:, 0], axis=-1)[:, None, None]  # the rotation image -> crop
    xy = np.einsum("nji,nkj->nki", rot, world[..., :2])  # its transpose: crop -> image
    return np.concatenate([xy, world[..., 2:]], -1)

"""Calibration from people: camera poses (and optionally focal lengths) from 2D whole-body
keypoints of people moving through the scene, with no board.

Input: each camera's intrinsics (from a board, or a guess), and 2D keypoints ``xy``
``(C, T, P, K, 2)`` pixels with ``score`` ``(C, T, P, K)``, where person ``p`` is the same person in
every camera (one person, or people already associated). Every (instant, person, keypoint) seen by
two cameras is a point correspondence: a person walking around is a moving calibration object
of unknown shape.

Algorithm (incremental structure from motion, then bundle adjustment):

1. The pair of cameras sharing most confident keypoints gives the essential matrix (RANSAC, on
   undistorted normalized coordinates) and its relative pose, with a unit baseline.
2. Their shared keypoints are triangulated; every other camera, in order of how many of those
   points it sees, is placed by PnP (RANSAC) and then adds its own points (N-view linear
   triangulation), so that cameras that share no view with the first pair still join.
3. A sparse bundle adjustment (scipy ``least_squares``, robust ``soft_l1`` loss, sparse Jacobian
   by grouped finite differences) refines every camera pose (the first held fixed), every 3D
   keypoint and, with ``refine_focal``, each camera's focal length. Projection goes through each
   camera's own lens model with all its coefficients and its skew, none of which is refined:
   they come back unchanged.
4. Scale: with ``height`` (metres, of the people), the 95th percentile over time of the distance
   from the ankles' midpoint to the eyes' midpoint is set to 0.897 × height (eye height 0.936 H,
   ankle 0.039 H: Drillis & Contini's body-segment proportions), i.e. people standing upright.
   Or, exactly, from one board view seen by two cameras (:func:`scale_from_board`).
5. World (:func:`floor_from_feet`): Z up is the normal of the plane of least variance of the
   foot keypoints over time when the feet covered an area (else, feet along a line, the mean
   ankles → eyes direction), pointing to the heads; z = 0 at the lowest feet (1st percentile of
   the foot keypoints), origin under the feet's centre, X along the first camera's viewing
   direction on the floor.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.optimize import least_squares

from calibration.bundle import grouped_jacobian, rodrigues
from calibration.camera import Camera, to_pixels
from calibration.distortion import distort
from calibration.errors import CalibrationError

# COCO-WholeBody indices (the package stands alone, so they are spelled out here).
EYES, ANKLES = (1, 2), (15, 16)
FEET = (15, 16, 17, 18, 19, 20, 21, 22)
EYE_TO_ANKLE = 0.936 - 0.039


@dataclass(frozen=True)
class PeopleCalibration:
    cameras: list
    points: np.ndarray  # (T, P, K, 3) reconstructed keypoints (NaN where not triangulated)
    rms: float  # px
    scale: float  # metres per reconstruction unit applied (1.0 without a height)
    world_frame: str


def _triangulate(Ps: np.ndarray, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """N-view linear triangulation: ``Ps`` (C, 3, 4), normalized ``obs`` (C, N, 2), ``mask`` (C, N)."""
    A = np.concatenate([obs[..., 0:1] * Ps[:, None, 2] - Ps[:, None, 0], obs[..., 1:2] * Ps[:, None, 2] - Ps[:, None, 1]],
                       axis=0)  # (2C, N, 4)
    A = np.where(np.concatenate([mask, mask])[..., None], A, 0.0)
    A = np.nan_to_num(A).transpose(1, 0, 2)
    _, _, Vt = np.linalg.svd(A)
    X = Vt[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return X[:, :3] / X[:, 3:]


def _extrinsic(R, t):
    return np.hstack([R, np.asarray(t).reshape(3, 1)])


def calibrate_from_people(cameras: list[Camera], xy, score, *, min_score: float = 0.5, refine_focal: bool = False,
                          height: float | None = None, floor: bool = True, keypoints=tuple(range(23)),
                          max_points: int = 4000) -> PeopleCalibration:
    """Pose ``cameras`` (their intrinsics are kept, focal refined with ``refine_focal``) from
    people's keypoints (see the module docstring). Only ``keypoints`` (default: body and feet, the
    most reliable) are used, and at most ``max_points`` of them (evenly spread over time) enter the
    bundle adjustment. CalibrationError when cameras cannot be placed."""
    xy, score = np.asarray(xy, float), np.asarray(score, float).copy()
    unused = np.ones(score.shape[-1], bool)
    unused[list(keypoints)] = False
    score[..., unused] = 0.0
    C, T, P, K = score.shape
    names = [c.name for c in cameras]
    norm = np.stack([cam.undistort_points(xy[c]) for c, cam in enumerate(cameras)]).reshape(C, -1, 2)
    seen = (score.reshape(C, -1) >= min_score) & np.all(np.isfinite(norm), axis=-1)
    mean_f = np.mean([c.matrix[0, 0] for c in cameras])
    shared = (seen[:, None] & seen[None]).sum(-1)
    np.fill_diagonal(shared, 0)
    i, j = np.unravel_index(np.argmax(shared), shared.shape)
    if shared[i, j] < 20:
        raise CalibrationError("too few keypoints seen by two cameras at once to calibrate from people "
                               f"(best pair {names[i]}–{names[j]}: {shared[i, j]})")
    both = seen[i] & seen[j]
    E, inl = cv2.findEssentialMat(norm[i, both], norm[j, both], np.eye(3), method=cv2.RANSAC, prob=0.999,
                                  threshold=3.0 / mean_f)
    if E is None or E.shape != (3, 3):
        raise CalibrationError(f"cameras {names[i]} and {names[j]}: no consistent relative pose from the keypoints")
    _, R, t, _ = cv2.recoverPose(E, norm[i, both], norm[j, both], np.eye(3), mask=inl)
    poses = {i: (np.eye(3), np.zeros(3)), j: (R, t.ravel())}
    points = np.full((seen.shape[1], 3), np.nan)

    def add_points():
        posed = sorted(poses)
        Ps = np.stack([_extrinsic(*poses[c]) for c in posed])
        mask = seen[posed]
        enough = mask.sum(0) >= 2
        X = _triangulate(Ps, norm[posed][:, enough], mask[:, enough])
        # Keep points in front of every camera that sees them.
        depth = np.einsum("cij,nj->cni", Ps[:, :, :3], X)[..., 2] + Ps[:, None, 2, 3]
        good = np.all((depth > 0) | ~mask[:, enough], axis=0)
        points[:] = np.nan
        idx = np.flatnonzero(enough)[good]
        points[idx] = X[good]

    add_points()
    while len(poses) < C:
        known = np.all(np.isfinite(points), axis=1)
        counts = {c: int((seen[c] & known).sum()) for c in range(C) if c not in poses}
        c = max(counts, key=counts.get)
        if counts[c] < 12:
            lost = [names[k] for k in counts]
            raise CalibrationError(f"cameras {', '.join(lost)} share too few keypoints with cameras "
                                   f"{', '.join(names[k] for k in sorted(poses))} to be placed")
        sel = seen[c] & known
        ok, rvec, tvec, _ = cv2.solvePnPRansac(points[sel], norm[c, sel], np.eye(3), None,
                                               reprojectionError=3.0 / mean_f, iterationsCount=200)
        if not ok:
            raise CalibrationError(f"camera {names[c]}: could not be placed from the people's keypoints")
        poses[c] = (cv2.Rodrigues(rvec)[0], tvec.ravel())
        add_points()
    cams = [cam.with_pose(*poses[c]) for c, cam in enumerate(cameras)]
    usable = np.flatnonzero(np.all(np.isfinite(points), axis=1))
    if len(usable) > max_points:  # an even spread over time keeps the problem small
        drop = np.setdiff1d(usable, usable[np.linspace(0, len(usable) - 1, max_points).astype(int)])
        ba_points = points.copy()
        ba_points[drop] = np.nan
    else:
        ba_points = points
    cams, _, rms = _bundle(cams, ba_points, xy.reshape(C, -1, 2), seen, refine_focal)
    # Every point, re-triangulated with the refined cameras.
    Ps = np.stack([cam.extrinsic_matrix for cam in cams])
    norm = np.stack([cam.undistort_points(xy[c]) for c, cam in enumerate(cams)]).reshape(C, -1, 2)
    seen = seen & np.all(np.isfinite(norm), axis=-1)
    enough = seen.sum(0) >= 2
    points = np.full((seen.shape[1], 3), np.nan)
    points[enough] = _triangulate(Ps, norm[:, enough], seen[:, enough])
    scale = 1.0
    pts = points.reshape(T, P, K, 3)
    if height is not None:
        eyes, ankles = pts[:, :, list(EYES)].mean(2), pts[:, :, list(ANKLES)].mean(2)
        d = np.linalg.norm(eyes - ankles, axis=-1)
        if not np.any(np.isfinite(d)):
            raise CalibrationError("no frame shows both eyes and ankles: cannot scale from the people's height")
        scale = EYE_TO_ANKLE * height / np.nanpercentile(d, 95)
        cams = [c.with_pose(c.R, c.tvec * scale) for c in cams]
        pts = pts * scale
    world = f"camera {cams[0].name}"
    if floor:
        cams, pts = floor_from_feet(cams, pts)
        world = "floor from the people's feet (Z up)"
    return PeopleCalibration(cams, pts, rms, scale, world)


def floor_from_feet(cameras: list[Camera], points: np.ndarray):
    """Cameras and points (T, P, K, 3) moved into the floor frame found from the feet."""
    feet = points[:, :, list(FEET)].reshape(-1, 3)
    feet = feet[np.all(np.isfinite(feet), axis=1)]
    if len(feet) < 10:
        raise CalibrationError("too few foot and head keypoints to find the floor")
    centre = feet.mean(0)
    body = points[:, :, list(EYES)].mean(2) - points[:, :, list(ANKLES)].mean(2)
    body = body[np.all(np.isfinite(body), axis=-1)]
    if len(body) == 0:
        raise CalibrationError("no frame shows both eyes and ankles: cannot find which way is up")
    body_up = np.mean(body / np.linalg.norm(body, axis=1, keepdims=True), axis=0)
    body_up /= np.linalg.norm(body_up)
    _, s, Vt = np.linalg.svd(feet - centre, full_matrices=False)
    if s[1] > 3 * s[2]:
        # The feet walked over an area: the floor is their plane of least variance.
        up = Vt[2] * np.sign(Vt[2] @ body_up)
    else:
        # The feet traced a line (a walk along a beam): the plane is undetermined, and the mean
        # ankles → eyes direction (people mostly stand upright) is up.
        up = body_up
    floor_level = np.percentile((feet - centre) @ up, 1)
    origin = centre + floor_level * up
    x = cameras[0].R[2] - (cameras[0].R[2] @ up) * up
    x /= np.linalg.norm(x)
    M = np.stack([x, np.cross(up, x), up])  # old → new rotation (rows: new axes in old frame)
    cams = [c.with_pose(c.R @ M.T, c.R @ origin + c.tvec) for c in cameras]
    return cams, (points - origin) @ M.T


def _bundle(cameras, points, uv, seen, refine_focal):
    """Bundle adjustment of poses (first fixed), 3D points and optionally focal lengths."""
    C = len(cameras)
    known = np.all(np.isfinite(points), axis=1)
    cam_i, pt_i = np.nonzero(seen & known[None])
    pt_ids = np.flatnonzero(known)
    remap = np.full(len(points), -1)
    remap[pt_ids] = np.arange(len(pt_ids))
    pt_j = remap[pt_i]
    obs = uv[cam_i, pt_i]
    N = len(pt_ids)
    cam0 = np.stack([np.concatenate([c.rvec, c.tvec, [c.matrix[0, 0] / c.matrix[1, 1]], [c.matrix[1, 1]]])
                     for c in cameras])  # rvec, tvec, fx/fy, fy
    free_cam = np.zeros((C, 8), bool)
    free_cam[1:, :6] = True
    if refine_focal:
        free_cam[:, 7] = True
    dists = np.stack([np.pad(c.dist, (0, 8 - len(c.dist))) for c in cameras])  # every coefficient, as it is
    fish = np.array([c.fisheye for c in cameras])
    cxy = np.stack([c.matrix[:2, 2] for c in cameras])
    skew = np.array([c.matrix[0, 1] for c in cameras])
    full0 = np.concatenate([cam0.ravel(), points[pt_ids].ravel()])
    free = np.concatenate([free_cam.ravel(), np.ones(3 * N, bool)])

    def unpack(x):
        full = full0.copy()
        full[free] = x
        return full[: C * 8].reshape(C, 8), full[C * 8 :].reshape(N, 3)

    def residuals(x):
        cams, X = unpack(x)
        Rc = rodrigues(cams[:, :3])
        Xc = np.einsum("nij,nj->ni", Rc[cam_i], X[pt_j]) + cams[cam_i, 3:6]
        distorted = distort(Xc[:, :2] / Xc[:, 2:], dists[cam_i], fish[cam_i])
        fy = cams[cam_i, 7]
        fx = cams[cam_i, 6] * fy
        return (to_pixels(distorted, fx, fy, cxy[cam_i, 0], cxy[cam_i, 1], skew[cam_i]) - obs).ravel()

    col_of = np.where(free, np.cumsum(free) - 1, -1)
    cam_cols = col_of[: C * 8].reshape(C, 8)
    pt_cols = col_of[C * 8 :].reshape(N, 3)
    groups = [(cam_cols[:, p][cam_cols[:, p] >= 0], cam_cols[cam_i, p]) for p in range(8)]
    groups += [(pt_cols[:, p], pt_cols[pt_j, p]) for p in range(3)]
    m, n = int(free.sum()), len(obs)

    result = least_squares(residuals, full0[free], jac=grouped_jacobian(residuals, groups, n, m), loss="soft_l1", f_scale=2.0, x_scale="jac",
                           method="trf", tr_solver="lsmr", max_nfev=150, xtol=1e-10, ftol=1e-10)
    cams, X = unpack(result.x)
    err = np.linalg.norm(residuals(result.x).reshape(-1, 2), axis=1)
    out = []
    for c, cam in enumerate(cameras):
        K = cam.matrix.copy()
        K[1, 1] = cams[c, 7]
        K[0, 0] = cams[c, 6] * cams[c, 7]
        out.append(cam.replace(matrix=K, rvec=cams[c, :3], tvec=cams[c, 3:6]))
    pts = np.full_like(points, np.nan)
    pts[pt_ids] = X
    return out, pts, float(np.sqrt(np.mean(err[err <= max(4 * np.median(err), 2.0)] ** 2)))


def scale_from_board(cameras: list[Camera], detections: dict, object_points: np.ndarray) -> float:
    """Metres per unit of an unscaled rig, from one board view seen by two or more cameras at once.

    ``detections`` maps camera names to the :class:`~calibration.boards.Detection` of the same
    instant. Corners seen by two or more cameras are triangulated; the median ratio of true to
    reconstructed distances over every pair of corners is the scale.
    """
    names = [c.name for c in cameras]
    used = [n for n in names if detections.get(n) is not None]
    if len(used) < 2:
        raise CalibrationError("the board view for the scale must be seen by at least two cameras")
    n_ids = len(object_points)
    obs = np.full((len(used), n_ids, 2), np.nan)
    for k, name in enumerate(used):
        det = detections[name]
        obs[k, det.ids] = cameras[names.index(name)].undistort_points(det.corners)
    mask = np.all(np.isfinite(obs), axis=-1)
    ok = mask.sum(0) >= 2
    if ok.sum() < 3:
        raise CalibrationError("fewer than 3 board corners were seen by two cameras at once; cannot scale")
    Ps = np.stack([cameras[names.index(n)].extrinsic_matrix for n in used])
    X = _triangulate(Ps, obs[:, ok], mask[:, ok])
    i, j = np.triu_indices(len(X), 1)
    found = np.linalg.norm(X[i] - X[j], axis=1)
    true = np.linalg.norm(object_points[ok][i] - object_points[ok][j], axis=1)
    return float(np.median(true / found))

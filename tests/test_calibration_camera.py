"""Camera and CameraGroup: projection against OpenCV, exact undistortion, validation."""

import cv2
import numpy as np
import pytest

from calibration import CalibrationError, Camera, CameraGroup

RNG_SEED = 7


def _pose(rng):
    """A pose 3-5 m from the world origin, looking at it, with a random roll."""
    position = rng.normal(size=3)
    position *= rng.uniform(3.0, 5.0) / np.linalg.norm(position)
    forward = -position / np.linalg.norm(position)
    side = np.cross(forward, rng.normal(size=3))
    side /= np.linalg.norm(side)
    R = np.stack([side, np.cross(forward, side), forward])  # rows: camera x, y, z in the world
    return cv2.Rodrigues(R)[0].ravel(), -R @ position


def pinhole(dist, name="cam", seed=0, size=(1920, 1080), f=1000.0):
    rng = np.random.default_rng(seed)
    K = np.array([[f, 0.0, size[0] / 2 - 7.3], [0.0, f * 1.002, size[1] / 2 + 4.1], [0.0, 0.0, 1.0]])
    return Camera(name, size, K, dist, *_pose(rng))


def fisheye(name="fish", seed=1, size=(1280, 800), f=600.0):
    rng = np.random.default_rng(seed)
    K = np.array([[f, 0.0, 641.2], [0.0, f, 398.7], [0.0, 0.0, 1.0]])
    return Camera(name, size, K, [0.08, -0.02, 0.005, -0.001], *_pose(rng), fisheye=True)


# Realistic strong barrel distortion (wide-angle action camera) and milder variants.
DIST5 = [-0.3, 0.1, 1e-3, -8e-4, 0.002]
DIST8 = [-0.25, 0.08, 5e-4, 1e-3, 0.001, 0.05, 0.01, 0.002]
DIST4 = [-0.12, 0.05, 2e-4, -3e-4]
CAMERAS = {
    "pinhole5": lambda: pinhole(DIST5),
    "pinhole8": lambda: pinhole(DIST8, seed=2),
    "pinhole4": lambda: pinhole(DIST4, seed=3),
    "fisheye": fisheye,
}


def points_in_view(camera, n, rng, margin=0.9):
    """World points whose rays fall inside the camera's field of view, 1 to 8 m deep."""
    w, h = camera.size
    K = camera.matrix
    corners = np.array([[0, 0], [w - 1, h - 1]], float)
    # Half-angle of the view from the (undistorted) image extent; fisheye views are wider.
    xn = (corners[:, 0] - K[0, 2]) / K[0, 0]
    yn = (corners[:, 1] - K[1, 2]) / K[1, 1]
    x = rng.uniform(xn[0], xn[1], n) * margin
    y = rng.uniform(yn[0], yn[1], n) * margin
    z = rng.uniform(1.0, 8.0, n)
    cam = np.stack([x * z, y * z, z], axis=-1)
    return (cam - camera.tvec) @ camera.R  # R^T (x_cam - t), row-wise


def opencv_project(camera, points):
    args = (points.reshape(-1, 1, 3), camera.rvec, camera.tvec, camera.matrix, camera.dist)
    if camera.fisheye:
        out, _ = cv2.fisheye.projectPoints(*args)
    else:
        out, _ = cv2.projectPoints(*args)
    return out.reshape(-1, 2)


@pytest.mark.parametrize("kind", CAMERAS)
def test_project_matches_opencv(kind):
    camera = CAMERAS[kind]()
    rng = np.random.default_rng(RNG_SEED)
    points = points_in_view(camera, 500, rng)
    ours = camera.project(points)
    theirs = opencv_project(camera, points)
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-7)
    # Any leading shape: the same numbers reshaped.
    np.testing.assert_array_equal(camera.project(points.reshape(5, 10, 10, 3)).reshape(-1, 2), ours)


@pytest.mark.parametrize("kind", CAMERAS)
def test_nan_and_behind_camera(kind):
    camera = CAMERAS[kind]()
    rng = np.random.default_rng(3)
    points = points_in_view(camera, 6, rng)
    points[1] = np.nan
    points[2, 0] = np.nan
    behind_cam = np.array([0.1, -0.2, -2.0])  # 2 m behind, in the camera frame
    points[3] = (behind_cam - camera.tvec) @ camera.R
    points[4] = (np.array([0.5, 0.5, -1e-3]) - camera.tvec) @ camera.R  # just behind
    out = camera.project(points)
    assert np.isnan(out[1:5]).all()
    np.testing.assert_allclose(out[[0, 5]], opencv_project(camera, points[[0, 5]]), atol=1e-7)
    # On the camera plane (depth exactly 0) there is no projection either.
    at_origin = camera.replace(rvec=np.zeros(3), tvec=np.zeros(3))
    assert np.isnan(at_origin.project([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])).all()
    # Undistortion propagates NaN too and keeps the rest.
    und = camera.undistort_points(out)
    assert np.isnan(und[1:5]).all() and np.isfinite(und[[0, 5]]).all()


def _fold_radius(camera):
    """Normalized radius where the radial distortion stops growing (the model's edge)."""
    r = np.linspace(1e-3, 4.0, 40000)
    if camera.fisheye:
        rd = camera.distort_points(np.stack([r, 0 * r], axis=-1))[:, 0]
    else:
        k1, k2, _, _, k3, k4, k5, k6 = np.r_[camera.dist, np.zeros(8 - camera.dist.size)]
        r2 = r * r
        rd = r * (1 + k1 * r2 + k2 * r2**2 + k3 * r2**3) / (1 + k4 * r2 + k5 * r2**2 + k6 * r2**3)
    falling = np.nonzero(np.diff(rd) <= 0)[0]
    return r[falling[0]] if falling.size else np.inf


def _normalized_grid_covering_image(camera):
    """Normalized points (truth) whose projections cover the image including its corners."""
    w, h = camera.size
    r_max = 0.98 * _fold_radius(camera)  # stay where the model is one-to-one

    def landing(x_range, y_range, n):
        gx, gy = np.meshgrid(np.linspace(*x_range, n), np.linspace(*y_range, n))
        truth = np.stack([gx, gy], axis=-1).reshape(-1, 2)
        truth = truth[np.hypot(truth[:, 0], truth[:, 1]) < r_max]
        pixels = camera.distort_points(truth)
        inside = (pixels[:, 0] >= -0.5) & (pixels[:, 0] <= w - 0.5) & (pixels[:, 1] >= -0.5) & (pixels[:, 1] <= h - 0.5)
        return truth[inside], pixels[inside]

    # A coarse pass over a box far larger than the image finds where the image is; a fine pass
    # (steps of a few pixels) covers it.
    box = min(3.0 * max(w, h) / camera.matrix[0, 0], r_max)
    coarse, _ = landing((-box, box), (-box, box), 200)
    pad = 2 * box / 199
    lo, hi = coarse.min(axis=0) - pad, coarse.max(axis=0) + pad
    return landing((lo[0], hi[0]), (lo[1], hi[1]), 400)


@pytest.mark.parametrize("kind", CAMERAS)
def test_undistort_inverts_project_over_whole_image(kind):
    camera = CAMERAS[kind]()
    truth, pixels = _normalized_grid_covering_image(camera)
    w, h = camera.size
    # The sample reaches every corner of the image (where distortion is strongest).
    for corner in ([0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]):
        assert np.min(np.linalg.norm(pixels - corner, axis=1)) < 8
    recovered = camera.undistort_points(pixels)
    assert np.isfinite(recovered).all()
    np.testing.assert_allclose(recovered, truth, rtol=0, atol=1e-9)
    # And from 3D: undistort(project(X)) is X's x/z, y/z.
    points = points_in_view(camera, 300, np.random.default_rng(11), margin=1.0)
    cam = camera.to_camera(points)
    np.testing.assert_allclose(camera.undistort_points(camera.project(points)), cam[:, :2] / cam[:, 2:], atol=1e-9)


def test_opencv_default_undistort_is_not_enough_at_strong_corners():
    # Why we solve by Newton: OpenCV's 5 fixed-point iterations miss by far more than 1e-6 here.
    camera = CAMERAS["pinhole5"]()
    truth, pixels = _normalized_grid_covering_image(camera)
    theirs = cv2.undistortPoints(pixels.reshape(-1, 1, 2), camera.matrix, camera.dist).reshape(-1, 2)
    assert np.max(np.abs(theirs - truth)) > 1e-4
    assert np.max(np.abs(camera.undistort_points(pixels) - truth)) < 1e-9


def test_undistort_outside_model_range_is_nan_not_garbage():
    # Past the fold of a strongly barrel-distorted model no ray maps there: NaN, not a wrong point.
    camera = pinhole([-0.5, 0.0, 0.0, 0.0, 0.0])
    # r·(1 - 0.5 r²) peaks at r = sqrt(2/3) with value 0.544; ask for distorted radius 0.7.
    far = np.array([[0.7 * camera.matrix[0, 0] + camera.matrix[0, 2], camera.matrix[1, 2]]])
    assert np.isnan(camera.undistort_points(far)).all()


def test_pose_properties():
    camera = CAMERAS["pinhole5"]()
    R, _ = cv2.Rodrigues(camera.rvec)
    np.testing.assert_allclose(camera.R, R, atol=1e-15)
    np.testing.assert_allclose(camera.position, -R.T @ camera.tvec, atol=1e-12)
    np.testing.assert_allclose(camera.to_camera(camera.position), 0, atol=1e-12)
    np.testing.assert_allclose(camera.extrinsic_matrix, np.hstack([R, camera.tvec[:, None]]), atol=1e-15)
    # K[R|t] maps to the pixels of the same camera without distortion.
    ideal = camera.replace(dist=np.zeros(5))
    points = points_in_view(camera, 50, np.random.default_rng(5))
    hom = np.hstack([points, np.ones((50, 1))]) @ camera.projection_matrix.T
    np.testing.assert_allclose(hom[:, :2] / hom[:, 2:], ideal.project(points), atol=1e-8)
    moved = camera.with_pose(R.T, -R.T @ camera.tvec)  # the inverse pose, given as a matrix
    np.testing.assert_allclose(moved.R, R.T, atol=1e-12)


def test_camera_coerces_and_validates():
    cam = Camera("a", (640.0, 480), np.eye(3).tolist(), [0, 0, 0, 0], [[0], [0], [0]], (0, 0, 1))
    assert cam.size == (640, 480) and isinstance(cam.size[0], int)
    for array in (cam.matrix, cam.dist, cam.rvec, cam.tvec):
        assert array.dtype == np.float64 and not array.flags.writeable
    assert cam.rvec.shape == (3,) and cam.tvec.shape == (3,)
    good = dict(name="a", size=(640, 480), matrix=np.eye(3), dist=np.zeros(5), rvec=np.zeros(3), tvec=np.zeros(3))
    bad = [
        dict(matrix=np.eye(4)),
        dict(matrix=np.diag([1.0, -1.0, 1.0])),
        dict(dist=np.zeros(6)),
        dict(dist=np.zeros(5), fisheye=True),
        dict(rvec=np.zeros(4)),
        dict(tvec=[0, 0]),
        dict(tvec=[0, np.nan, 0]),
        dict(size=(640,)),
        dict(size=(640.5, 480)),
        dict(name=""),
        dict(rvec=np.ones((3, 3))),  # a 3×3 that is not a rotation
    ]
    for change in bad:
        with pytest.raises(ValueError):
            Camera(**{**good, **change})


def _group():
    return CameraGroup((CAMERAS["pinhole5"](), pinhole(DIST8, name="b", seed=4), fisheye()), {"error": 0.5})


def test_group_project_and_undistort_stack_cameras():
    group = _group()
    points = np.random.default_rng(9).uniform(-0.5, 0.5, (4, 7, 3))
    projected = group.project(points)
    assert projected.shape == (3, 4, 7, 2)
    for i, camera in enumerate(group):
        np.testing.assert_array_equal(projected[i], camera.project(points))
    normalized = group.undistort_points(projected)
    for i, camera in enumerate(group):
        cam = camera.to_camera(points)
        expected = np.where(cam[..., 2:] > 0, cam[..., :2] / cam[..., 2:], np.nan)
        np.testing.assert_allclose(normalized[i], expected, atol=1e-9)
    with pytest.raises(ValueError):
        group.undistort_points(projected[:2])
    assert group.extrinsic_matrices().shape == (3, 3, 4)
    np.testing.assert_allclose(group.projection_matrices()[1], group[1].matrix @ group[1].extrinsic_matrix)


def test_group_access_and_subset():
    group = _group()
    assert group.names == ["cam", "b", "fish"] and len(group) == 3
    assert group["b"] is group[1] and [c.name for c in group] == group.names
    sub = group.subset(["fish", "cam"])
    assert sub.names == ["fish", "cam"] and sub[0] is group[2] and sub.metadata == {"error": 0.5}
    with pytest.raises(CalibrationError, match="'nope'.*'x'|'x'.*'nope'"):
        group.subset(["cam", "nope", "x"])
    with pytest.raises(KeyError):
        group["nope"]
    with pytest.raises(ValueError):
        CameraGroup((group[0], group[0]))
    with pytest.raises(ValueError):
        CameraGroup(())

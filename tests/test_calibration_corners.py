"""Subpixel corners against analytic truth: blurred corners rendered at every subpixel phase, at
right angles and sheared, with sensor noise. The model fit must not lock onto the pixel grid."""

import cv2
import numpy as np
import pytest

from calibration.corners import fit_corners, local_axes


def render_corner(q, normals, blur, *, size=48, supersample=8, noise=0.0, seed=0):
    """A corner at pixel ``q`` (pixel centres at integers) between edges with unit ``normals``:
    drawn at ``supersample``× resolution, blurred, averaged over each pixel's area, noised.
    A sharp edge drawn on the fine grid sits exactly where asked only when ``q`` is a multiple of
    ``1 / supersample`` px (elsewhere it is up to half a fine pixel off), so tests use such ``q``."""
    s = supersample
    ys, xs = np.mgrid[0 : size * s, 0 : size * s].astype(float)
    x, y = (xs + 0.5) / s - 0.5 - q[0], (ys + 0.5) / s - 0.5 - q[1]
    (a1, b1), (a2, b2) = normals
    sign = np.sign(a1 * x + b1 * y) * np.sign(a2 * x + b2 * y)
    hi = cv2.GaussianBlur((128 + 100 * sign).astype(np.float32), (0, 0), blur * s)
    image = cv2.resize(hi, (size, size), interpolation=cv2.INTER_AREA).astype(np.float64)
    return image + np.random.default_rng(seed).normal(0, noise, image.shape)


def axes_for(normals, square_px=30.0):
    """Local board axes: the board's x runs along the first edge, its y along the second."""
    (a1, b1), (a2, b2) = normals
    ex, ey = np.array([-b1, a1]), np.array([-b2, a2])
    return (np.column_stack([ex, ey]) * square_px)[None]


@pytest.mark.parametrize("blur", [0.5, 1.0, 2.0])
def test_no_pixel_locking(blur):
    """Corners at quarter-pixel phases: the fit is unbiased where cornerSubPix is 0.02-0.06 px off."""
    normals = [(1.0, 0.0), (0.0, 1.0)]
    errors, opencv = [], []
    for fx in (0.0, 0.25, 0.5, 0.75):
        for fy in (0.0, 0.375):
            q = np.array([24.0 + fx, 23.0 + fy])
            image = render_corner(q, normals, blur)
            start = q + [0.6, -0.5]
            found, ok = fit_corners(image, start[None], axes_for(normals))
            assert ok.all()
            errors.append(found[0] - q)
            sub = cv2.cornerSubPix(image.astype(np.float32), start.reshape(1, 1, 2).astype(np.float32), (5, 5),
                                   (-1, -1), (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 1e-5))
            opencv.append(sub.reshape(2) - q)
    errors, opencv = np.abs(errors), np.abs(opencv)
    print(f"blur {blur}: fit max {errors.max():.4f} px, cornerSubPix max {opencv.max():.4f} px")
    assert errors.max() < 0.004
    if blur < 1.5:
        assert opencv.max() > 4 * errors.max()  # the reason for the model fit


def test_sheared_corner_with_noise():
    """Edges 60° apart (a board seen obliquely) and 2 grey levels of noise: unbiased, and spread
    as small as the noise allows."""
    normals = [(1.0, 0.0), (np.cos(np.radians(150)), np.sin(np.radians(150)))]
    errors = []
    for seed in range(12):
        q = np.array([24.0, 24.0]) + np.random.default_rng(seed).integers(-4, 5, 2) / 8
        image = render_corner(q, normals, 0.8, noise=2.0, seed=seed)
        found, ok = fit_corners(image, (q + [0.4, 0.3])[None], axes_for(normals))
        assert ok.all()
        errors.append(found[0] - q)
    errors = np.array(errors)
    print(f"sheared: mean {errors.mean(0)}, RMS {np.sqrt((errors ** 2).mean()):.4f} px")
    assert np.all(np.abs(errors.mean(0)) < 0.01)
    assert np.sqrt((errors**2).mean()) < 0.02


def test_flat_patch_fails_instead_of_inventing_a_corner():
    image = np.full((48, 48), 120.0) + np.random.default_rng(0).normal(0, 2.0, (48, 48))
    found, ok = fit_corners(image, np.array([[24.0, 24.0]]), axes_for([(1.0, 0.0), (0.0, 1.0)]))
    assert not ok.any()
    assert np.allclose(found, [[24.0, 24.0]])


def test_corners_on_one_line_fail_instead_of_crashing():
    """A ChArUco view of a single row of corners has no second board axis."""
    grid = np.column_stack([np.arange(6.0), np.zeros(6)])
    pixels = grid * 30 + [50.0, 50.0]
    image = np.random.default_rng(0).normal(120, 2, (120, 300))
    found, ok = fit_corners(image, pixels, local_axes(grid, pixels))
    assert not ok.any()
    assert np.allclose(found, pixels)


def test_local_axes_recover_an_affine_board():
    grid = np.stack(np.meshgrid(np.arange(5), np.arange(4)), -1).reshape(-1, 2).astype(float)
    A = np.array([[31.0, -4.0], [6.0, 22.0]])
    pixels = grid @ A.T + [100.0, 80.0]
    axes = local_axes(grid, pixels)
    assert np.allclose(axes, A, atol=1e-6)


def test_empty_input():
    found, ok = fit_corners(np.zeros((10, 10)), np.zeros((0, 2)), np.zeros((0, 2, 2)))
    assert found.shape == (0, 2) and ok.shape == (0,)

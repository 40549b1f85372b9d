"""Cross-view matching shared by subject selection and association: the one projection, and bounded
memory with many people in view (20 detections per view, 4 cameras)."""

import tracemalloc

import numpy as np
import pytest

from mocap.synthetic import camera_ring, human_motion, observe
from mocap.triangulate import associate, image_bounds, select_subject
from mocap.triangulate.projection import project


def test_projection_is_the_perspective_divide_with_points_behind_a_camera_left_out():
    group = camera_ring(3, seed=3)
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (4, 5, 3)) + [0, 0, 1]
    X[0, 0] = np.nan
    uv, depth, front = project(group.extrinsic_matrices(), X)
    assert uv.shape == (3, 4, 5, 2) and depth.shape == front.shape == (3, 4, 5)
    for c, cam in enumerate(group):
        in_cam = cam.to_camera(X)
        np.testing.assert_allclose(depth[c], in_cam[..., 2])
        np.testing.assert_allclose(uv[c], in_cam[..., :2] / in_cam[..., 2:], rtol=1e-12)
        # Through the lens: the camera's own projection of the same points.
        np.testing.assert_allclose(cam.distort_points(uv[c]), cam.project(X), atol=1e-9)
    assert np.isnan(uv[:, 0, 0]).all() and np.isnan(depth[:, 0, 0]).all() and not front[:, 0, 0].any()
    # A point behind camera 0 (its centre minus its viewing direction) has no image there.
    behind = group[0].position - group[0].R[2]
    p = project(group.extrinsic_matrices(), behind[None])
    assert not p.front[0, 0] and np.isnan(p.uv[0, 0]).all() and p.depth[0, 0] < 0 and p.front[1:, 0].all()


@pytest.fixture(scope="module")
def twenty_people():
    """20 people 1.5 m apart (a 6 x 4.5 m grid) filmed by 4 cameras, every one in every view:
    the most cross-view hypotheses there can be (2 400 per frame). Detections are shuffled."""
    n_frames = 13  # one chunk of frames (13 at 2 400 hypotheses): the peak memory is a chunk's
    group = camera_ring(4, radius=7.0, seed=1)
    rng = np.random.default_rng(0)
    grid = [(1.5 * (i - 2) + rng.uniform(-0.2, 0.2), 1.5 * (j - 1.5) + rng.uniform(-0.2, 0.2))
            for i in range(5) for j in range(4)]
    xyz = np.stack([human_motion(n_frames, seed=i, centre=c) for i, c in enumerate(grid)], 1)
    kp = observe(group, xyz, noise_px=0.5, dropout=0.05, seed=0)
    order = np.argsort(rng.random(kp.xy.shape[:3]), axis=-1)
    xy = np.take_along_axis(kp.xy, order[..., None, None], 2)
    score = np.take_along_axis(kp.score, order[..., None], 2)
    identity = np.where((score > 0).any(-1), order, -1)  # the person behind each slot
    assert (identity >= 0).sum(-1).min() == 20
    return group, group.undistort_points(xy), score, identity


def _peak_mb(fn, *args, **kwargs):
    tracemalloc.start()
    try:
        out = fn(*args, **kwargs)
        return out, tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def test_subject_selection_among_20_people_in_4_views_stays_under_500_mb(twenty_people):
    group, uv, score, identity = twenty_people
    sel, peak = _peak_mb(select_subject, group, uv, score)  # (T, C)
    print(f"\nsubject selection, 20 people x 4 views: peak {peak:.0f} MB (every hypothesis at once: about 9 GB)")
    assert peak < 500
    # Everyone is seen by all four cameras, so any of them may be the subject; but it is one
    # person, in all four views.
    chosen = np.take_along_axis(identity, sel.T[..., None], -1)[..., 0]  # (C, T)
    assert (sel >= 0).all() and (chosen == chosen[:1]).all()


def test_association_finds_each_of_20_people_in_4_views(twenty_people):
    group, uv, score, identity = twenty_people
    extr, focal = group.extrinsic_matrices(), np.array([c.matrix[0, 0] for c in group])
    groups = associate(extr, uv, score, focal, bounds=image_bounds(group))  # (T, M, C)
    who = np.take_along_axis(identity.transpose(1, 0, 2), np.maximum(groups, 0).transpose(0, 2, 1), -1)
    who = np.where(groups >= 0, who.transpose(0, 2, 1), -1)  # (T, M, C) the person behind each member
    found = (groups >= 0).any(-1)
    mixed = sum(len(set(who[t, m][who[t, m] >= 0])) > 1 for t, m in zip(*np.nonzero(found)))
    print(f"association, 20 people x 4 views: {found.sum(1).mean():.1f} groups per frame, {mixed} mixing people")
    assert (found.sum(1) == 20).all() and mixed == 0
    assert ((groups >= 0).sum(-1)[found] == 4).mean() > 0.9  # people overlapping in a view can lose it

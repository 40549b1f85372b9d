"""Cross-view association of several people: groups against the known identity of every detection."""

import numpy as np
import pytest

from mocap.synthetic import crowd_scene
from mocap.triangulate import associate, image_bounds


def _inputs(scene):
    group, kp = scene.group, scene.kp2d
    focal = np.array([c.matrix[0, 0] for c in group.cameras])
    return group.extrinsic_matrices(), group.undistort_points(kp.xy), kp.score, focal


def _associate(scene, **kwargs):
    return associate(*_inputs(scene), bounds=image_bounds(scene.group), **kwargs)


def _purity(groups, identity):
    """Count groups (T, M, C) by what they hold, given the true person of every detection slot
    (C, T, P): ``pure`` one real person, ``mixed`` several real people, ``ghost_pairs`` ghosts only
    (two hallucinations in two views that happen to agree), ``ghost_in_person`` a real person with
    a ghost; and ``found`` the (frame, person) pairs of the pure groups."""
    counts = dict(pure=0, mixed=0, ghost_pairs=0, ghost_in_person=0, ghost_views=[])
    found = set()
    for t, m in zip(*np.nonzero((groups >= 0).any(-1))):
        people = {identity[c, t, p] for c, p in enumerate(groups[t, m]) if p >= 0}
        real = people - {-1}
        if len(real) > 1:
            counts["mixed"] += 1
        elif not real:
            counts["ghost_pairs"] += 1
            counts["ghost_views"].append(int((groups[t, m] >= 0).sum()))
        elif -1 in people:
            counts["ghost_in_person"] += 1
        else:
            counts["pure"] += 1
            found.add((t, real.pop()))
    return counts, found


@pytest.mark.parametrize("n_cams", [4, 6])
def test_groups_are_one_person_each_with_outliers_ghosts_and_missing_views(n_cams):
    scene = crowd_scene(90, n_cameras=n_cams, seed=11)
    groups = _associate(scene)
    counts, found = _purity(groups, scene.identity)
    # Person-frames that two cameras or more saw: what association can find.
    seen_by = np.zeros(scene.truth.shape[:2], dtype=int)
    for c in range(n_cams):
        for t, p in zip(*np.nonzero(scene.identity[c] >= 0)):
            seen_by[t, scene.identity[c, t, p]] += 1
    findable = {(t, n) for t, n in zip(*np.nonzero(seen_by >= 2))}
    print(f"\n{n_cams} cameras: {counts['pure']} one-person groups, {counts['mixed']} mixing people, "
          f"{counts['ghost_in_person']} with a ghost, {counts['ghost_pairs']} ghost-only pairs; "
          f"{len(found & findable)}/{len(findable)} findable person-frames found")
    assert counts["mixed"] + counts["ghost_in_person"] <= 0.01 * counts["pure"]
    assert len(found & findable) >= 0.98 * len(findable)
    # Ghosts are single-view hallucinations: two of them in two views can agree by chance (tracking
    # drops them: they do not last), three never do.
    assert set(counts["ghost_views"]) <= {2}
    assert counts["ghost_pairs"] <= 0.15 * counts["pure"]
    if n_cams == 6:
        # Most such pairs are caught by the cameras that look at that place and see nobody.
        unchecked, _ = _purity(associate(*_inputs(scene)), scene.identity)
        print(f"without the contradiction check: {unchecked['ghost_pairs']} ghost-only pairs")
        assert counts["ghost_pairs"] <= unchecked["ghost_pairs"] / 3
    # At most one detection per camera per group, and no detection in two groups.
    for t in range(groups.shape[0]):
        for c in range(n_cams):
            used = groups[t, :, c][groups[t, :, c] >= 0]
            assert len(used) == len(set(used.tolist()))


def test_a_person_seen_by_two_cameras_counts_and_a_ghost_seen_by_one_does_not():
    scene = crowd_scene(40, n_cameras=4, seed=12, outlier_rate=0.0, missing_view_rate=0.0, false_detections=0)
    kp = scene.kp2d
    xy, score, identity = kp.xy.copy(), kp.score.copy(), scene.identity
    # Person 0 only in cameras 0 and 1; person 1 only in camera 3 (a lone detection, like a ghost).
    for c in range(4):
        for t in range(40):
            for p in range(xy.shape[2]):
                if (identity[c, t, p] == 0 and c >= 2) or (identity[c, t, p] == 1 and c != 3):
                    xy[c, t, p], score[c, t, p] = np.nan, 0.0
    group = scene.group
    focal = np.array([cam.matrix[0, 0] for cam in group.cameras])
    groups = associate(group.extrinsic_matrices(), group.undistort_points(xy), score, focal)
    people = [{identity[c, t, p] for c, p in enumerate(groups[t, m]) if p >= 0}
              for t in range(40) for m in range(groups.shape[1]) if (groups[t, m] >= 0).any()]
    assert all(len(p) == 1 for p in people)
    per_frame = [set().union(*[{identity[c, t, p] for c, p in enumerate(groups[t, m]) if p >= 0}
                               for m in range(groups.shape[1])]) for t in range(40)]
    assert all(0 in s for s in per_frame)  # two cameras suffice
    assert not any(1 in s for s in per_frame)  # one camera never does


def test_empty_views_and_zero_confidence_give_no_groups_not_errors():
    scene = crowd_scene(30, n_cameras=4, seed=13)
    extr, uv, score, focal = _inputs(scene)
    uv, score = uv.copy(), score.copy()
    uv[:, 10:20] = np.nan  # nobody seen anywhere for ten frames
    score[:, 20:] = 0.0  # detections with zero confidence
    groups = associate(extr, uv, score, focal)
    assert (groups[:10] >= 0).any()
    assert (groups[10:] == -1).all()
    empty = associate(extr, np.full_like(uv, np.nan), np.zeros_like(score), focal)
    assert empty.shape == (30, 0, 4)

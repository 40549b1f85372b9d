"""Left/right swaps repaired in 2D by temporal consistency (mocap.pose2d.swaps), on synthetic
sequences whose truth is known: a walking figure whose labels a detector flips for a few frames."""

import dataclasses

import numpy as np

from mocap.data import Keypoints2D, Keypoints3D
from mocap.pose2d.swaps import apply_view_swaps, exchange_limbs, find_swaps, repair_swaps
from mocap.skeleton import INDEX, LEFT_HAND, N_KEYPOINTS, RIGHT_HAND, SWAP_GROUP_NAMES

ARM, LEG, HEAD = (SWAP_GROUP_NAMES.index(n) for n in ("arm", "leg", "head"))


def _walker(T=120, seed=0, facing=1.0, noise=1.5, speed=2.0):
    """(T, 133, 2) a person seen from the front (``facing`` 1; -1 from behind) drifting right,
    swinging arms and legs; all points scored 0.9."""
    rng = np.random.default_rng(seed)
    t = np.arange(T)[:, None]
    xy = np.full((T, N_KEYPOINTS, 2), np.nan)
    cx, swing = 400 + speed * t[:, 0], 40 * np.sin(t[:, 0] / 8)
    # person's left at image right when facing the camera
    for side, s in (("left", facing), ("right", -facing)):
        xy[:, INDEX[f"{side}_shoulder"]] = np.stack([cx + s * 80, np.full(T, 300)], -1)
        xy[:, INDEX[f"{side}_elbow"]] = np.stack([cx + s * 110, 420 + s * swing], -1)
        xy[:, INDEX[f"{side}_wrist"]] = np.stack([cx + s * 130, 530 + s * swing], -1)
        xy[:, INDEX[f"{side}_hip"]] = np.stack([cx + s * 50, np.full(T, 560)], -1)
        xy[:, INDEX[f"{side}_knee"]] = np.stack([cx + s * 55 - s * swing / 2, np.full(T, 760)], -1)
        xy[:, INDEX[f"{side}_ankle"]] = np.stack([cx + s * 60 - s * swing, np.full(T, 950)], -1)
        for j, name in enumerate(("big_toe", "small_toe", "heel")):
            xy[:, INDEX[f"{side}_{name}"]] = np.stack([cx + s * (60 + 10 * j) - s * swing, np.full(T, 975)], -1)
        xy[:, INDEX[f"{side}_eye"]] = np.stack([cx + s * 18, np.full(T, 200)], -1)
        xy[:, INDEX[f"{side}_ear"]] = np.stack([cx + s * 40, np.full(T, 205)], -1)
        hand = LEFT_HAND if side == "left" else RIGHT_HAND
        xy[:, hand] = xy[:, INDEX[f"{side}_wrist"], None] + rng.uniform(-20, 20, (1, 21, 2))
    xy[:, INDEX["nose"]] = np.stack([cx, np.full(T, 215)], -1)
    xy[:, :91] += rng.normal(0, noise, (T, 91, 2))
    score = np.where(np.isfinite(xy[..., 0]), 0.9, 0.0)
    return xy, score


def _flip(xy, score, frames, groups):
    swapped = np.zeros(xy.shape[:1] + (3,), bool)
    for g in groups:
        swapped[list(frames), g] = True
    return exchange_limbs(xy, score, swapped) + (swapped,)


def test_a_few_flipped_frames_are_put_back_exactly():
    xy, score = _walker()
    bad_xy, bad_score, truth = _flip(xy, score, range(50, 62), [ARM])
    bad_xy, bad_score, truth2 = _flip(bad_xy, bad_score, range(90, 93), [LEG])
    found = find_swaps(bad_xy[None], bad_score[None])[0]
    assert np.array_equal(found, truth | truth2)
    fixed, fixed_score = exchange_limbs(bad_xy, bad_score, found)
    np.testing.assert_allclose(fixed, xy)  # hands moved with their arms
    np.testing.assert_array_equal(fixed_score, score)


def test_a_whole_body_mirror_is_put_back_limb_by_limb_even_the_head():
    """A detector that takes the front for the back mirrors everything for a while; the eyes and
    ears lie too close together to tell by themselves, the arms and legs say so."""
    xy, score = _walker(seed=1)
    bad_xy, bad_score, truth = _flip(xy, score, range(40, 70), [ARM, LEG, HEAD])
    found = find_swaps(bad_xy[None], bad_score[None])[0]
    assert np.array_equal(found, truth)


def test_a_glitch_frame_between_does_not_move_the_repair():
    """One half-turned frame just before a flipped run: the run is put back, not the frames before."""
    xy, score = _walker(seed=2)
    bad_xy, bad_score, truth = _flip(xy, score, range(60, 80), [ARM, LEG, HEAD])
    for side, other in (("left", "right"), ("right", "left")):  # frame 56: every pair half-way across
        for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
            a, b = INDEX[f"{side}_{j}"], INDEX[f"{other}_{j}"]
            bad_xy[56, a] = 0.6 * xy[56, a] + 0.4 * xy[56, b]
    found = find_swaps(bad_xy[None], bad_score[None])[0]
    assert found[60:80].all() and not found[:56].any() and not found[80:].any()


def test_no_repair_without_evidence():
    # a steady sequence, a fast one, and a side view where left and right overlap: nothing flipped
    for xy, score in (_walker(seed=3), _walker(seed=4, speed=25.0, noise=6.0)):
        assert not find_swaps(xy[None], score[None]).any()
    xy, score = _walker(seed=5)
    cx = xy[:, [INDEX["nose"]], 0]
    xy[:, :23, 0] = cx + (xy[:, :23, 0] - cx) * 0.05  # seen from the side: left and right nearly coincide
    assert not find_swaps(xy[None], score[None]).any()


def test_track_changes_break_the_chain_and_the_record_recovers_the_raw_output():
    """Two sequences at once (C=2 cameras, P=1), one slot passing to another person half-way: the
    other person's labels are not 'repaired' for being far from the first person's."""
    a, sa = _walker(seed=6)
    b, sb = _walker(seed=7, facing=-1.0)  # seen from behind: the mirror image of a
    xy = np.stack([a, a])[:, :, None].copy()
    score = np.stack([sa, sa])[:, :, None].copy()
    xy[1, 60:, 0], score[1, 60:, 0] = b[60:], sb[60:]
    segment = np.zeros(xy.shape[:3], int)
    segment[1, 60:] = 1
    flipped_xy, flipped_score, truth = _flip(xy[0, :, 0], score[0, :, 0], range(20, 26), [ARM])
    xy[0, :, 0], score[0, :, 0] = flipped_xy, flipped_score
    fixed, fixed_score, swapped = repair_swaps(xy, score, segment)
    assert np.array_equal(swapped[0, :, 0], truth) and not swapped[1].any()
    raw, _ = exchange_limbs(fixed, fixed_score, swapped)
    np.testing.assert_allclose(raw, xy)


def test_triangulation_view_swaps_are_applied_and_recorded():
    xy, score = _walker(T=10, seed=8)
    kp = Keypoints2D(xy=np.stack([xy, xy])[:, :, None], score=np.stack([score, score])[:, :, None],
                     camera_names=("a", "b"), image_sizes=[[1000, 1000]] * 2, frame_index=np.arange(100, 110))
    view_swaps = np.zeros((2, 5, 1, 3), bool)
    view_swaps[1, 2, 0, ARM] = True                           # camera b, frame 102: the arm was exchanged
    detections = np.zeros((2, 5, 1), np.int16)
    k3 = Keypoints3D(xyz=np.zeros((5, 1, 133, 3)), score=np.ones((5, 1, 133)), reproj_error=np.zeros((5, 1, 133)),
                     n_views=np.full((5, 1, 133), 2), frame_index=np.arange(100, 105), camera_names=("b", "a"),
                     detections=detections[::-1].copy(), view_swaps=view_swaps[::-1].copy())
    # the 3D result lists its cameras as (b, a); camera b is the 2D result's second camera
    out = apply_view_swaps(kp, k3)
    assert out.swapped[1, 2, 0].tolist() == [True, False, False] and out.swapped.sum() == 1
    lw, rw = INDEX["left_wrist"], INDEX["right_wrist"]
    np.testing.assert_allclose(out.xy[1, 2, 0, lw], kp.xy[1, 2, 0, rw])
    np.testing.assert_allclose(out.xy[0], kp.xy[0])
    again = apply_view_swaps(out, k3)  # the decision applied twice cancels out
    np.testing.assert_allclose(again.xy, kp.xy)
    assert not again.swapped.any()
    assert apply_view_swaps(kp, dataclasses.replace(k3, camera_names=(), detections=None, view_swaps=None)) is kp

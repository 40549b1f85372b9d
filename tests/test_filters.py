"""Filters over time against signals whose answer is known, and `mocap filter` as a user runs it."""

from dataclasses import replace

import numpy as np
import pytest

from mocap.data import Keypoints3D
from mocap.errors import SettingsError
from mocap.filters import (RIGID_BONES, FilterSettings, butterworth, despike, fill_gaps, filter_keypoints,
                           foot_contacts, kalman_rts, one_euro, rigidify)
from mocap.skeleton import BODY_BONES, INDEX, bone_lengths
from mocap.synthetic import human_motion


def _keypoints(xyz, fps=30.0):
    shape = xyz.shape[:3]
    return Keypoints3D(xyz=xyz, score=np.ones(shape), reproj_error=np.ones(shape), n_views=np.full(shape, 4), fps=fps)


def test_gap_filling_is_exact_on_polynomials_of_its_degree_and_leaves_long_gaps():
    t = np.arange(60.0)
    cubic = 1e-3 * t ** 3 - 0.05 * t ** 2 + 0.3 * t - 2.0
    line = 0.7 * t - 3.0
    x = np.stack([cubic, line], axis=1)[:, None, :]  # (T, 1, 2): any trailing shape
    holes = x.copy()
    holes[[4, 5, 6, 20, 33, 34]] = np.nan
    holes[40:52] = np.nan  # 12 frames: longer than the limit
    holes[:2] = np.nan  # before the first sample: nothing to interpolate from
    cub = fill_gaps(holes, max_gap=5, method="cubic")
    lin = fill_gaps(holes, max_gap=5, method="linear")
    short = [4, 5, 6, 20, 33, 34]
    np.testing.assert_allclose(cub[short], x[short], atol=1e-9)  # cubic exact on the cubic (and the line)
    np.testing.assert_allclose(lin[short, :, 1], x[short, :, 1], atol=1e-12)  # linear exact on the line
    assert np.abs(lin[short, :, 0] - x[short, :, 0]).max() > 1e-3  # ...not on the cubic
    assert np.isnan(cub[40:52]).all() and np.isnan(cub[:2]).all()
    np.testing.assert_array_equal(cub[~np.isnan(holes)], holes[~np.isnan(holes)])  # data untouched


def test_despike_removes_jumps_and_keeps_fast_smooth_motion():
    truth = human_motion(90, seed=7)[:, None]  # hands move up to several m/s
    rng = np.random.default_rng(7)
    spiky = truth.copy()
    hits = rng.random(truth.shape[:-1]) < 0.03
    spiky[hits] += rng.normal(0, 0.3, (hits.sum(), 3)) + np.sign(rng.normal(size=(hits.sum(), 3))) * 0.12
    cleaned = despike(spiky, threshold=0.1)
    removed = np.isnan(cleaned).any(-1)
    assert removed[hits].mean() > 0.97  # the spikes go
    assert removed[~hits].mean() < 0.002  # real motion stays
    filled = fill_gaps(cleaned, max_gap=3, method="cubic")
    err = np.linalg.norm(filled - truth, axis=-1)
    assert np.nanpercentile(err, 99.9) < 0.03 and np.nanmean(np.linalg.norm(spiky - truth, axis=-1)) > 0.01
    with pytest.raises(SettingsError, match="longer than the clip"):
        despike(spiky[:5], window=7)


@pytest.mark.parametrize("order", [2, 4])
def test_butterworth_gain_is_one_half_at_the_cutoff_and_zero_phase(order):
    fps, cutoff = 100.0, 6.0
    t = np.arange(2000) / fps
    gains = {}
    for f in (1.0, cutoff, 20.0):
        x = np.sin(2 * np.pi * f * t)
        y = butterworth(x, fps=fps, cutoff=cutoff, order=order)
        mid = slice(500, 1500)
        gains[f] = np.dot(y[mid], x[mid]) / np.dot(x[mid], x[mid])  # in-phase part: no lag means all of it
        quadrature = np.dot(y[mid], np.cos(2 * np.pi * f * t[mid])) / np.dot(x[mid], x[mid])
        assert abs(quadrature) < 1e-3  # zero phase
    assert gains[cutoff] == pytest.approx(0.5, abs=1e-3)  # -3 dB forward, -3 dB backward
    assert gains[1.0] > 0.99 and gains[20.0] < 0.02


def test_butterworth_keeps_gaps_and_refuses_settings_that_make_no_sense():
    x = np.sin(np.arange(100) / 5.0)[:, None].repeat(3, 1)
    x[40:45, 0] = np.nan
    x[:, 2] = np.nan
    y = butterworth(x, fps=30, cutoff=5)
    assert np.isnan(y[40:45, 0]).all() and np.isfinite(y[:40, 0]).all() and np.isnan(y[:, 2]).all()
    with pytest.raises(SettingsError, match="Nyquist|half the frame rate"):
        butterworth(x, fps=30, cutoff=16)
    with pytest.raises(SettingsError, match="has 10 frames"):
        butterworth(x[:10], fps=30, cutoff=5)


def test_one_euro_lag_on_a_ramp_is_speed_over_2_pi_cutoff_and_beta_cuts_it():
    fps, v = 100.0, 0.5
    t = np.arange(600) / fps
    x = np.stack([v * t, np.zeros_like(t), np.ones_like(t)], -1)[:, None]  # a point moving along x
    slow = one_euro(x, fps=fps, min_cutoff=1.0, beta=0.0)
    lag = x[-1, 0, 0] - slow[-1, 0, 0]
    assert lag == pytest.approx(v / (2 * np.pi * 1.0), rel=1e-3)  # a first-order low-pass: tau * speed
    fast = one_euro(x, fps=fps, min_cutoff=1.0, beta=2.0)
    assert x[-1, 0, 0] - fast[-1, 0, 0] < lag / 4
    # Causal: the output up to a frame does not depend on what comes after it.
    changed = x.copy()
    changed[300:] += 1.0
    np.testing.assert_array_equal(one_euro(changed, fps=fps, min_cutoff=1.0, beta=0.5)[:300],
                                  one_euro(x, fps=fps, min_cutoff=1.0, beta=0.5)[:300])
    # At rest it takes the jitter out.
    rng = np.random.default_rng(0)
    still = rng.normal(0, 0.01, (600, 1, 3))
    assert one_euro(still, fps=fps, min_cutoff=0.5, beta=0.0)[100:].std() < 0.2 * still.std()


def test_kalman_rts_beats_the_raw_measurements_and_bridges_missing_samples():
    fps = 100.0
    t = np.arange(800) / fps
    truth = 0.5 * np.sin(1.3 * t)
    rng = np.random.default_rng(1)
    z = truth + rng.normal(0, 0.01, t.size)
    z[300:310] = np.nan
    s = kalman_rts(z, fps=fps, noise=0.01, acceleration=1.0)
    raw = np.sqrt(np.nanmean((z - truth) ** 2))
    smoothed = np.sqrt(np.nanmean((s - truth) ** 2))
    print(f"\nRTS: rms error {smoothed * 1000:.2f} mm against {raw * 1000:.2f} mm raw")
    assert smoothed < raw / 3
    assert np.isnan(s[300:310]).all()


def test_rigidified_bone_lengths_are_constant_and_stay_near_the_truth():
    truth = np.stack([human_motion(90, seed=1), human_motion(90, seed=2, centre=(2, 0))], axis=1)
    rng = np.random.default_rng(2)
    noisy = truth + rng.normal(0, 0.005, truth.shape)
    noisy[10:12, 0, 9] = np.nan  # a missing wrist: its hand continues from its own points
    rigid = rigidify(noisy)
    lengths = bone_lengths(rigid, RIGID_BONES)  # (T, P, bones)
    spread = np.nanstd(lengths, axis=0)
    assert np.nanmax(spread) < 1e-9
    limbs = [b for b in BODY_BONES if b in RIGID_BONES]
    np.testing.assert_allclose(np.nanmedian(bone_lengths(rigid[:, 0], limbs), 0),
                               bone_lengths(truth[0, 0], limbs), atol=0.005)  # the synthetic bones are rigid
    body = slice(0, 23)
    err = np.linalg.norm(rigid[:, :, body] - truth[:, :, body], axis=-1)
    assert np.nanmean(err) < 0.02  # moved along bones, not across the room
    assert np.isnan(rigid[10:12, 0, 9]).all()


def _walking_feet(n_frames=120, fps=30.0):
    """Feet that alternate stance (still on z = 0) and swing (lifted 10 cm, moving 1.2 m/s), half a
    cycle apart; everything else missing. Returns xyz (T, 1, 133, 3) and the stance mask (T, 2)."""
    from mocap.skeleton import INDEX

    t = np.arange(n_frames)
    xyz = np.full((n_frames, 1, 133, 3), np.nan)
    stance = np.zeros((n_frames, 2), dtype=bool)
    for i, side in enumerate(("left", "right")):
        phase = (t + 20 * i) % 40  # 40-frame cycle: 20 frames stance, 20 swing
        swing = phase >= 20
        s = np.where(swing, phase - 20, 0) / 20.0  # 0..1 through the swing
        steps = (t + 20 * i) // 40
        x = 0.8 * steps + np.where(swing, 0.8 * s, 0.0)
        z = np.where(swing, 0.1 * np.sin(np.pi * s), 0.0)
        offsets = {"heel": (-0.05, 0.0), "big_toe": (0.17, 0.0), "small_toe": (0.14, 0.0), "ankle": (0.0, 0.07)}
        for name, (dx, dz) in offsets.items():
            xyz[:, 0, INDEX[f"{side}_{name}"]] = np.stack([x + dx, np.full(n_frames, 0.1 * (1 - 2 * i)), z + dz], -1)
        stance[:, i] = ~swing
    return xyz, stance


def test_foot_contacts_are_the_stance_phases():
    xyz, stance = _walking_feet()
    on_floor = replace(_keypoints(xyz), world_frame="floor")  # a floor-aligned calibration: z = 0 is the floor
    found = foot_contacts(on_floor)
    contacts = found.contacts[:, 0]
    assert found.floor_known and (found.floor == 0).all() and "known floor" in found.floor_rule
    # Right at the edges of a stance the speed (central differences) blurs by a frame.
    edge = np.zeros_like(stance)
    edge[1:] |= stance[1:] != stance[:-1]
    edge[:-1] |= stance[1:] != stance[:-1]
    assert (contacts == stance)[~edge].all()
    assert contacts.mean() > 0.35
    lifted = xyz.copy()
    lifted[..., 2] += 0.5  # jumping: nothing touches the floor
    assert not foot_contacts(replace(on_floor, xyz=lifted)).contacts.any()


def test_the_contact_floor_is_the_known_floor_or_else_estimated_from_the_feet():
    xyz, stance = _walking_feet()
    raised = xyz.copy()
    raised[..., 2] += 0.3  # walking on a stage 30 cm above z = 0
    # Floor known (world_frame "floor"): z = 0 is the floor, so feet 30 cm above it never touch it.
    known = foot_contacts(replace(_keypoints(raised), world_frame="floor"))
    assert known.floor_known and not known.contacts.any()
    # Floor unknown ("z_up"): each foot's own lowest level is taken as the floor, and says so.
    estimated = foot_contacts(_keypoints(raised))
    assert not estimated.floor_known and "estimated" in estimated.floor_rule
    np.testing.assert_allclose(estimated.floor, 0.3, atol=0.01)  # the soles' lowest level over the clip
    np.testing.assert_array_equal(estimated.contacts,
                                  foot_contacts(replace(_keypoints(xyz), world_frame="floor")).contacts)


def test_filter_keypoints_per_group_settings_and_errors():
    truth = human_motion(120, seed=4)[:, None]
    rng = np.random.default_rng(4)
    noisy = truth + rng.normal(0, 0.004, truth.shape)
    noisy[50:53, 0, :23] = np.nan
    kp = _keypoints(noisy)
    out = filter_keypoints(kp, FilterSettings(fill_gaps=5, butterworth=6.0, rigidify=True),
                           hands=FilterSettings(one_euro=(1.0, 0.5)))
    err_before = np.nanmean(np.linalg.norm(noisy - truth, axis=-1)[..., :23])
    err_after = np.nanmean(np.linalg.norm(out.xyz - truth, axis=-1)[..., :23])
    assert err_after < 0.8 * err_before
    assert np.isfinite(out.xyz[50:53, 0, :23]).all() and (out.n_views[50:53, 0, :23] == 0).all()
    limbs = [b for b in BODY_BONES if b in RIGID_BONES]
    assert np.nanmax(np.nanstd(bone_lengths(out.xyz[:, 0], limbs), 0)) < 1e-9
    with pytest.raises(SettingsError, match="hands filter settings: .*half the frame rate"):
        filter_keypoints(kp, FilterSettings(butterworth=6.0), hands=FilterSettings(butterworth=20.0))
    with pytest.raises(SettingsError, match="choose one smoother"):
        filter_keypoints(kp, FilterSettings(butterworth=6.0, one_euro=(1.0, 0.0)))
    with pytest.raises(SettingsError, match="120 frames"):
        filter_keypoints(kp, FilterSettings(fill_gaps=200))
    nan_track = _keypoints(np.full((30, 2, 133, 3), np.nan))
    assert np.isnan(filter_keypoints(nan_track, FilterSettings(fill_gaps=3, butterworth=5.0, rigidify=True)).xyz).all()


def test_mocap_filter_command_writes_the_filtered_npz_and_trc(tmp_path):
    from test_cli import assert_user_error, mocap

    truth = np.stack([human_motion(90, seed=5), human_motion(90, seed=6, centre=(2.0, 1.0))], axis=1)
    noisy = truth + np.random.default_rng(5).normal(0, 0.004, truth.shape)
    _keypoints(noisy).save(tmp_path / "pose3d.npz")
    result = mocap("filter", tmp_path / "pose3d.npz", "--butterworth", 6, "--fill-gaps", 5, "--rigidify",
                   "--hands-butterworth", 8)
    assert result.returncode == 0, result.stderr
    assert "limb bone-length variation 0.0%" in result.stdout
    for name in ("pose3d_filtered.npz", "pose3d_filtered.trc", "pose3d_filtered_p1.trc", "foot_contacts.npz"):
        assert (tmp_path / name).is_file(), name
    filtered = Keypoints3D.load(tmp_path / "pose3d_filtered.npz")
    assert filtered.xyz.shape == truth.shape
    error = np.linalg.norm(filtered.xyz - truth, axis=-1)
    assert np.nanmean(error) < np.nanmean(np.linalg.norm(noisy - truth, axis=-1))
    assert_user_error(mocap("filter", tmp_path / "pose3d.npz", "--butterworth", 16), "half the frame rate")
    assert_user_error(mocap("filter", tmp_path / "missing.npz", "--butterworth", 6), "missing.npz", "not found")


def test_filled_points_say_they_were_interpolated_and_everything_else_is_carried_through():
    from mocap.data import SOURCE_INTERPOLATED, SOURCE_LIFTED, SOURCE_TRIANGULATED

    truth = human_motion(60, seed=8)[:, None]
    xyz = truth.copy()
    wrist, knee = INDEX["left_wrist"], INDEX["right_knee"]
    xyz[30, 0, wrist] += [0.0, 0.4, 0.0]  # a spike: a wrong two-view match, 40 cm off
    xyz[40:43, 0, knee] = np.nan  # a gap
    T, P, K = xyz.shape[:3]
    source = np.zeros((T, P, K), dtype=np.uint8)
    source[:, 0, INDEX["nose"]] = SOURCE_LIFTED  # e.g. filled in from one camera by lifting
    kp = replace(_keypoints(xyz), frame_index=np.arange(500, 560), world_frame="floor", source=source,
                 camera_names=("a", "b"), detections=np.ones((2, T, P)), view_swaps=np.ones((2, T, P, 3), bool))
    out = filter_keypoints(kp, FilterSettings(despike=0.2, fill_gaps=5))
    filled = [(30, wrist), *((t, knee) for t in range(40, 43))]
    for t, k in filled:
        assert np.linalg.norm(out.xyz[t, 0, k] - truth[t, 0, k]) < 0.02  # refilled where it belongs
        assert out.source[t, 0, k] == SOURCE_INTERPOLATED and out.n_views[t, 0, k] == 0
        assert np.isnan(out.reproj_error[t, 0, k]) and out.score[t, 0, k] == 0
    untouched = np.ones((T, P, K), bool)
    for t, k in filled:
        untouched[t, 0, k] = False
    assert (out.n_views[untouched] == 4).all() and (out.reproj_error[untouched] == 1).all()
    assert (out.source[untouched] == source[untouched]).all() and (out.score[untouched] == 1).all()
    for name in ("frame_index", "detections", "view_swaps"):
        assert np.array_equal(getattr(out, name), getattr(kp, name)), name
    assert out.world_frame == "floor" and out.camera_names == ("a", "b")
    # A spike removed and not filled is simply missing.
    gone = filter_keypoints(kp, FilterSettings(despike=0.2))
    assert np.isnan(gone.xyz[30, 0, wrist]).all() and gone.n_views[30, 0, wrist] == 0
    assert gone.source[30, 0, wrist] == SOURCE_TRIANGULATED and np.isnan(gone.reproj_error[30, 0, wrist])
    assert (gone.n_views[untouched & np.isfinite(xyz).all(-1)] == 4).all()

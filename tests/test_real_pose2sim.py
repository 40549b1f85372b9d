"""The real Pose2Sim demo: 4 phones, Qualisys calibration, OpenPose BODY_25B keypoints, a bystander."""

import warnings

import numpy as np
import pytest

from mocap.api import match_cameras, triangulate_openpose, load_calibration
from mocap.io import read_openpose_json
from mocap.skeleton import INDEX
from mocap.triangulate import select_subject

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def result(pose2sim_demo, tmp_path_factory):
    folders = sorted((pose2sim_demo / "pose2d_openpose_body25b").glob("cam*_json"))
    out = tmp_path_factory.mktemp("pose2sim")
    res = triangulate_openpose(pose2sim_demo / "calibration" / "Calib.qca.txt", folders, out,
                               layout="body_25b", fps=60, persons=1, progress=False)
    return res, folders


def test_reprojection_error_is_small(result):
    kp = result[0].keypoints
    assert kp.xyz.shape == (100, 1, 133, 3) and kp.fps == 60
    body = kp.reproj_error[:, 0, :23]
    print(f"\nPose2Sim demo: median reprojection error {np.nanmedian(body):.2f} px, "
          f"{np.isfinite(kp.xyz[:, 0, :23, 0]).mean():.1%} of body keypoints triangulated")
    # Limbs (shoulders to ankles) in every frame; the left ear is hidden from most views.
    assert np.isfinite(kp.xyz[:, 0, 5:17, 0]).mean() > 0.99
    assert np.isfinite(kp.xyz[:, 0, :23, 0]).mean() > 0.9
    # The lab's calibration fits these phone videos to about 10-20 px per camera (cam03 worst):
    # the reprojection error measures the calibration here, not the triangulation.
    assert np.nanmedian(body) < 15.0
    assert (kp.n_views[:, 0, 5:17] == 4).mean() > 0.9  # all four views agree on the subject


@pytest.mark.parametrize("side", ["left", "right"])
def test_thigh_and_shank_are_human_and_stable(result, side):
    xyz = result[0].keypoints.xyz[:, 0]
    hip, knee, ankle = (xyz[:, INDEX[f"{side}_{j}"]] for j in ("hip", "knee", "ankle"))
    for name, length in (("thigh", np.linalg.norm(knee - hip, axis=-1)),
                         ("shank", np.linalg.norm(ankle - knee, axis=-1))):
        median = np.nanmedian(length)
        spread = np.nanstd(length) / median
        print(f"\n{side} {name}: median {median * 100:.1f} cm, variation {spread:.1%}")
        assert 0.30 < median < 0.55
        assert spread < 0.06
        assert np.isfinite(length).mean() > 0.95


def test_the_world_is_z_up_and_the_subject_stands_on_the_floor(result):
    xyz = result[0].keypoints.xyz[:, 0]
    feet = np.nanmin(xyz[:, 15:23, 2], axis=1)
    head = xyz[:, INDEX["nose"], 2]
    assert np.nanmedian(head - feet) > 1.2  # a standing adult, head well above the feet
    assert -0.15 < np.nanmedian(feet) < 0.4  # balancing on a beam a few cm above the lab floor


def test_the_bystander_is_never_mixed_in(result, pose2sim_demo):
    res, folders = result
    kp2d = read_openpose_json(folders, layout="body_25b", fps=60, progress=False)
    group = match_cameras(load_calibration(pose2sim_demo / "calibration" / "Calib.qca.txt"), kp2d.camera_names,
                          "Calib.qca.txt")
    # Independent of our selection: in cam01/cam02 one detection lies on the projection of the 3D
    # subject and the bystander's lies over 200 px away, in (nearly) every frame. (In one
    # frame OpenPose splits the subject into two partial detections, both near.)
    proj = group.project(res.keypoints.xyz[:, 0, :17])  # (C, T, 17, 2)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dist = np.nanmedian(np.linalg.norm(kp2d.xy[:, :, :, :17] - proj[:, :, None], axis=-1), axis=-1)  # (C, T, P)
    for c in (0, 1):
        assert np.median(np.nanmin(dist[c], axis=-1)) < 25
        assert (np.nanmax(dist[c], axis=-1) > 200).mean() > 0.95
    # The selection never picks the far person (the bystander), in any view or frame.
    score = kp2d.score
    xy = np.where(score[..., None] >= 0.3, kp2d.xy, np.nan)
    sel = select_subject(group, group.undistort_points(xy), np.where(score >= 0.3, score, 0))
    chosen = np.take_along_axis(dist, np.maximum(sel.T, 0)[..., None], -1)[..., 0]
    assert np.nanmax(np.where(sel.T >= 0, chosen, np.nan)) < 100
    assert (sel >= 0).mean() > 0.95


@pytest.fixture(scope="module")
def everyone(pose2sim_demo, tmp_path_factory):
    folders = sorted((pose2sim_demo / "pose2d_openpose_body25b").glob("cam*_json"))
    out = tmp_path_factory.mktemp("pose2sim_everyone")
    return triangulate_openpose(pose2sim_demo / "calibration" / "Calib.qca.txt", folders, out,
                                layout="body_25b", fps=60, persons=None, progress=False)


def test_with_everyone_tracked_the_subject_is_one_track_over_all_100_frames(everyone, result):
    kp, subject = everyone.keypoints, result[0].keypoints
    body = slice(0, 23)
    frames = np.isfinite(kp.xyz[:, :, body, 0]).sum(-1) >= 4  # (T, P) tracks present
    print(f"\nPose2Sim demo, everyone: {kp.n_persons} tracks, frames per track {frames.sum(0).tolist()}")
    # Track 0 is the subject, in every frame, exactly where the subject-only mode puts it.
    assert frames[:, 0].all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gap = np.nanmedian(np.linalg.norm(kp.xyz[:, 0, body] - subject.xyz[:, 0, body], axis=-1))
        others = [np.nanmedian(np.linalg.norm(kp.xyz[:, p, body] - subject.xyz[:, 0, body], axis=-1))
                  for p in range(1, kp.n_persons)]
    assert gap < 1e-3
    # The bystander (cam01/cam02 only) is a track of its own, metres away; no other track.
    assert kp.n_persons == 2 and others[0] > 2.0
    assert frames[:, 1].mean() > 0.9
    assert np.nanmedian(kp.n_views[:, 1, body][kp.n_views[:, 1, body] > 0]) == 2
    assert everyone.more_trc and everyone.more_trc[0].name == "pose3d_p1.trc"


def test_filtering_the_real_subject_steadies_its_bones_and_keeps_it_on_the_images(everyone, pose2sim_demo):
    from mocap.filters import RIGID_BONES, FilterSettings, filter_keypoints
    from mocap.skeleton import BODY_BONES, bone_lengths

    kp = everyone.keypoints
    filtered = filter_keypoints(kp, FilterSettings(fill_gaps=10, butterworth=6.0, rigidify=True))
    folders = sorted((pose2sim_demo / "pose2d_openpose_body25b").glob("cam*_json"))
    kp2d = read_openpose_json(folders, layout="body_25b", fps=60, progress=False)
    group = match_cameras(load_calibration(pose2sim_demo / "calibration" / "Calib.qca.txt"), kp2d.camera_names,
                          "Calib.qca.txt")
    limbs = [b for b in BODY_BONES if b in RIGID_BONES and b[1] >= 5]  # arms, legs, feet
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)

        def variation(xyz):
            lengths = bone_lengths(xyz[:, 0, :23], limbs)
            return np.nanmedian(np.nanstd(lengths, 0) / np.nanmedian(lengths, 0))

        def reprojection(xyz):
            # Distance from each view's nearest detection to the projected subject (median).
            proj = group.project(xyz[:, 0, :23])  # (C, T, 23, 2)
            d = np.linalg.norm(kp2d.xy[:, :, :, :23] - proj[:, :, None], axis=-1)  # (C, T, P, 23)
            per_det = np.nanmedian(d, axis=-1)
            nearest = np.nanargmin(np.where(np.isfinite(per_det), per_det, np.inf), axis=-1)
            return np.nanmedian(np.take_along_axis(d, nearest[..., None, None], 2))

        before, after = variation(kp.xyz), variation(filtered.xyz)
        r_before, r_after = reprojection(kp.xyz), reprojection(filtered.xyz)
    print(f"\nPose2Sim demo subject: median reprojection error {r_before:.1f} px -> {r_after:.1f} px after "
          f"filtering (gaps <= 10 frames, Butterworth 6 Hz, rigid bones); limb bone-length variation "
          f"{before:.1%} -> {after:.2%}")
    assert before > 0.02 and after < 1e-6
    assert r_after < r_before + 3.0  # the smoothed, rigid subject still sits on the detections
    assert np.isfinite(filtered.xyz[:, 0, 5:17]).all()  # limbs in every frame

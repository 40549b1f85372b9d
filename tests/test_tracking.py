"""Several people end to end: association, robust triangulation and 3D tracking against synthetic truth."""

import numpy as np
import pytest

from mocap.data import Keypoints2D
from mocap.errors import SettingsError
from mocap.filters import FilterSettings, filter_keypoints
from mocap.skeleton import BODY
from mocap.synthetic import crowd_scene, match_tracks
from mocap.triangulate import track_people, triangulate


def _summary(kp3d, truth):
    m = match_tracks(kp3d.xyz, truth)
    err = m["error"] * 1000
    tracked = np.isfinite(kp3d.xyz).all(-1).any(-1)  # (T, P)
    # A ghost track: one that no true person explains in most of its frames.
    matched = np.zeros_like(tracked)
    t_i, n_i = np.nonzero(m["track_of"] >= 0)
    matched[t_i, m["track_of"][t_i, n_i]] = True
    ghosts = [p for p in range(kp3d.n_persons) if matched[:, p].sum() < 0.9 * tracked[:, p].sum()]
    return m, err, ghosts


@pytest.fixture(scope="module", params=[4, 6], ids=["4cams", "6cams"])
def crowd(request):
    scene = crowd_scene(120, n_cameras=request.param, seed=21)
    kp3d = triangulate(scene.group, scene.kp2d, persons=None, min_score=0.0)
    return request.param, scene, kp3d


def test_every_person_is_one_track_with_no_switches_and_no_ghosts(crowd):
    n_cams, scene, kp3d = crowd
    m, err, ghosts = _summary(kp3d, scene.truth)
    body = err[..., BODY]
    print(f"\n{n_cams} cameras, 3 people at once + 1 leaving + 1 entering, 2 crossing, 20 % outlier keypoints, "
          f"10 % missing views, ghosts: {kp3d.n_persons} tracks, {m['id_switches']} id switches, "
          f"{len(ghosts)} ghost tracks, {m['missed']:.1%} person-frames missed; error per keypoint "
          f"median {np.nanmedian(err):.2f} mm, body median {np.nanmedian(body):.2f} / "
          f"p90 {np.nanpercentile(body, 90):.1f} mm")
    assert m["id_switches"] == 0
    assert ghosts == []
    assert kp3d.n_persons == 4  # two walkers, one who leaves, one who enters
    # Keypoints from two views that disagree along the epipolar line escape geometry; in time they
    # are spikes, which the filters' spike removal takes out.
    clean = filter_keypoints(kp3d, FilterSettings(despike=0.1, fill_gaps=5, gap_method="cubic"))
    m_clean = match_tracks(clean.xyz, scene.truth)
    mean, mean_clean = np.nanmean(err), np.nanmean(m_clean["error"]) * 1000
    print(f"mean error per keypoint {mean:.1f} mm as triangulated, {mean_clean:.1f} mm after spike removal "
          f"and gap filling ({np.isfinite(m_clean['error']).sum() / np.isfinite(m['error']).sum():.1%} as many found)")
    assert mean_clean < (5.0 if n_cams == 4 else 3.0)
    assert np.isfinite(m_clean["error"]).sum() >= np.isfinite(m["error"]).sum()
    assert m["missed"] < 0.01
    assert np.nanmedian(err) < 3.0
    assert np.nanpercentile(body, 90) < (15.0 if n_cams == 4 else 5.0)
    # Each true person's track covers exactly the frames they are there (birth and death).
    present = np.isfinite(scene.truth).all(-1).any(-1)
    for n in range(4):
        ids = set(m["track_of"][present[:, n], n].tolist()) - {-1}
        assert len(ids) == 1
        track = ids.pop()
        there = np.isfinite(kp3d.xyz[:, track]).all(-1).any(-1)
        assert (there & ~present[:, n]).sum() == 0


def test_each_track_records_the_detections_of_one_person_in_every_view(crowd):
    n_cams, scene, kp3d = crowd
    assert kp3d.camera_names == scene.kp2d.camera_names and kp3d.detections.shape == (n_cams,) + kp3d.xyz.shape[:2]
    assert np.array_equal(kp3d.frame_index, scene.kp2d.frame_index)
    c_i, t_i, p_i = np.nonzero(kp3d.detections >= 0)
    person = scene.identity[c_i, t_i, kp3d.detections[c_i, t_i, p_i]]  # who is behind each recorded detection
    m = match_tracks(kp3d.xyz, scene.truth)
    majority = [np.bincount(person[(p_i == p) & (person >= 0)]).argmax() for p in range(kp3d.n_persons)]
    right = person == np.array(majority)[p_i]
    print(f"{n_cams} cameras: {right.mean():.1%} of {right.size} recorded detections are their track's person")
    assert right.mean() > 0.98 and m["id_switches"] == 0
    # A track is recorded in a frame exactly where it has keypoints.
    present = np.isfinite(kp3d.xyz).all(-1).any(-1)  # (T, P)
    assert ((kp3d.detections >= 0).sum(0) >= 2)[present].all() and not (kp3d.detections >= 0)[:, ~present].any()


def test_the_crossing_walkers_keep_their_ids_when_they_pass_close():
    scene = crowd_scene(90, n_cameras=4, seed=22, crossing_gap=0.45, false_detections=0)
    kp3d = triangulate(scene.group, scene.kp2d, persons=None, min_score=0.0)
    m, _, ghosts = _summary(kp3d, scene.truth)
    hips = scene.truth[:, :2, 11:13].mean(2)
    closest = np.nanmin(np.linalg.norm(hips[:, 0, :2] - hips[:, 1, :2], axis=-1))
    print(f"\ncrossing at {closest:.2f} m: {m['id_switches']} id switches")
    assert closest < 0.5
    assert m["id_switches"] == 0 and ghosts == []


def test_a_person_unseen_for_half_a_second_gets_their_id_back():
    scene = crowd_scene(90, n_cameras=4, seed=23, outlier_rate=0.0, false_detections=0)
    kp = scene.kp2d
    gone = (scene.identity == 0) & (np.arange(90)[None, :, None] >= 40) & (np.arange(90)[None, :, None] < 55)
    xy = np.where(gone[..., None, None], np.nan, kp.xy)
    score = np.where(gone[..., None], 0.0, kp.score)
    kp3d = triangulate(scene.group, Keypoints2D(xy=xy, score=score, camera_names=kp.camera_names,
                                               image_sizes=kp.image_sizes, fps=kp.fps), persons=None)
    m, _, _ = _summary(kp3d, scene.truth)

    def ids(track_of, frames):
        return set(track_of[frames, 0].tolist()) - {-1}

    before, after = ids(m["track_of"], slice(25, 40)), ids(m["track_of"], slice(55, 70))
    assert len(before) == 1 and before == after
    assert (m["track_of"][40:55, 0] == -1).all()
    assert np.isnan(kp3d.xyz[40:55, before.pop()]).all()  # a gap, not an invention
    assert m["id_switches"] == 0
    # With a shorter memory than the absence the person comes back as a new track.
    short = triangulate(scene.group, Keypoints2D(xy=xy, score=score, camera_names=kp.camera_names,
                                                image_sizes=kp.image_sizes, fps=kp.fps), persons=None, max_gap=0.2)
    m2, _, _ = _summary(short, scene.truth)
    assert ids(m2["track_of"], slice(25, 40)).isdisjoint(ids(m2["track_of"], slice(55, 70)))


def test_persons_n_keeps_the_tracks_seen_longest():
    scene = crowd_scene(60, n_cameras=4, seed=24, outlier_rate=0.0)
    two = triangulate(scene.group, scene.kp2d, persons=2)
    assert two.n_persons == 2
    m, _, _ = _summary(two, scene.truth)
    # The two walkers are there all the time; the others come and go.
    walkers = m["track_of"][:, :2]
    assert set(np.unique(walkers)) <= {-1, 0, 1} and (walkers >= 0).mean() > 0.97
    assert set(np.unique(m["track_of"][:, 2:])) == {-1}


def test_tracking_on_its_own_drops_short_tracks_and_orders_by_first_appearance():
    rng = np.random.default_rng(0)
    T, K = 50, 23
    a = rng.normal(0, 0.2, (K, 3)) + np.linspace([0, 0, 1], [1, 0, 1], T)[:, None]
    b = rng.normal(0, 0.2, (K, 3)) + np.linspace([3, 3, 1], [2, 3, 1], T)[:, None]
    xyz = np.full((T, 3, K, 3), np.nan)
    xyz[:, 1], xyz[20:, 0] = a, b[20:]  # b appears at frame 20, in slot 0
    xyz[10:13, 2] = rng.normal(0, 0.2, (3, K, 3)) + [5, -5, 1]  # a 3-frame ghost
    xyz[30:34, 1] = np.nan  # a disappears for 4 frames
    ids = track_people(xyz, fps=30, min_frames=5)
    assert (ids[:, 1][np.isfinite(xyz[:, 1, 0, 0])] == 0).all()
    assert (ids[20:, 0] == 1).all() and (ids[:20, 0] == -1).all()
    assert (ids[:, 2] == -1).all()


def test_bad_input_one_camera_zero_confidence_and_nothing_seen():
    scene = crowd_scene(20, n_cameras=4, seed=25)
    kp = scene.kp2d
    one = Keypoints2D(xy=kp.xy[:1], score=kp.score[:1], camera_names=kp.camera_names[:1],
                      image_sizes=kp.image_sizes[:1])
    from calibration import CameraGroup

    with pytest.raises(SettingsError, match="two cameras.*lifting"):
        triangulate(CameraGroup(scene.group.cameras[:1]), one, persons=None)
    zero = Keypoints2D(xy=kp.xy, score=np.zeros_like(kp.score), camera_names=kp.camera_names,
                       image_sizes=kp.image_sizes)
    out = triangulate(scene.group, zero, persons=None)
    assert out.n_persons == 0 and out.n_frames == 20
    nothing = Keypoints2D(xy=np.full_like(kp.xy, np.nan), score=kp.score, camera_names=kp.camera_names,
                          image_sizes=kp.image_sizes)
    assert triangulate(scene.group, nothing, persons=None).n_persons == 0
    with pytest.raises(SettingsError, match="persons"):
        triangulate(scene.group, kp, persons=0)

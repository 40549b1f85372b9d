"""The data contracts: shapes checked, exact .npz round trips, bad files named, atomic writes."""

import numpy as np
import pytest

from mocap.data import Keypoints2D, Keypoints3D, Motion
from mocap.errors import InputFileError, OutputError
from mocap.fileio import atomic_write


def _kp2d(rng):
    xy = rng.uniform(0, 1000, (3, 5, 2, 133, 2))
    xy[0, 1, 0, 7] = np.nan
    return Keypoints2D(xy=xy, score=rng.uniform(0, 1, (3, 5, 2, 133)), camera_names=["a", "b", "c"],
                       image_sizes=[[1920, 1080], [1080, 1920], [640, 480]], fps=59.94)


def _kp3d(rng):
    xyz = rng.normal(0, 1, (6, 2, 133, 3))
    xyz[2, 1] = np.nan
    return Keypoints3D(xyz=xyz, score=rng.uniform(0, 1, (6, 2, 133)), reproj_error=rng.uniform(0, 3, (6, 2, 133)),
                       n_views=rng.integers(0, 5, (6, 2, 133)), fps=25)


def _motion(rng):
    q = rng.normal(size=(4, 3, 4))
    return Motion(joint_names=["root", "a", "b"], parents=[-1, 0, 1], offsets=rng.normal(size=(3, 3)),
                  root_translation=rng.normal(size=(4, 3)), rotations=q / np.linalg.norm(q, axis=-1, keepdims=True),
                  fps=120)


@pytest.mark.parametrize("make", [_kp2d, _kp3d, _motion])
def test_npz_round_trip_is_exact(tmp_path, make):
    original = make(np.random.default_rng(0))
    loaded = type(original).load(original.save(tmp_path / "x.npz"))
    for name, value in vars(original).items():
        got = getattr(loaded, name)
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(got, value)
            assert got.dtype == value.dtype
        else:
            assert got == value, name


def test_shapes_are_checked():
    rng = np.random.default_rng(1)
    good = _kp2d(rng)
    with pytest.raises(ValueError, match="score"):
        Keypoints2D(xy=good.xy, score=good.score[:, :4], camera_names=good.camera_names, image_sizes=good.image_sizes)
    with pytest.raises(ValueError, match="camera names"):
        Keypoints2D(xy=good.xy, score=good.score, camera_names=["a"], image_sizes=good.image_sizes)
    with pytest.raises(ValueError, match="parents"):
        Motion(joint_names=["a", "b"], parents=[1, -1], offsets=np.zeros((2, 3)), root_translation=np.zeros((1, 3)),
               rotations=np.zeros((1, 2, 4)))


def test_loading_the_wrong_thing_names_the_file(tmp_path):
    rng = np.random.default_rng(2)
    path = _kp3d(rng).save(tmp_path / "pose3d.npz")
    with pytest.raises(InputFileError, match="expected 'Keypoints2D'") as err:
        Keypoints2D.load(path)
    assert str(path) in str(err.value)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputFileError, match="not a readable .npz") as err:
        Keypoints3D.load(junk)
    assert str(junk) in str(err.value)
    with pytest.raises(InputFileError, match="not found"):
        Keypoints3D.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "partial.npz", kind=np.array("Keypoints3D"), xyz=np.zeros((1, 1, 133, 3)))
    with pytest.raises(InputFileError, match="missing arrays"):
        Keypoints3D.load(tmp_path / "partial.npz")


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "motion.bvh"
    target.write_text("the user's file")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as f:
            f.write("half a file")
            raise RuntimeError("crash while writing")
    assert target.read_text() == "the user's file"
    assert [p.name for p in tmp_path.iterdir()] == ["motion.bvh"]
    with atomic_write(target) as f:
        f.write("new")
    assert target.read_text() == "new"
    with pytest.raises(OutputError, match="does not exist"):
        _kp3d(np.random.default_rng(3)).save(tmp_path / "no" / "such" / "folder.npz")


def test_outputs_get_ordinary_permissions_not_the_temporary_files(tmp_path):
    import os
    import stat

    umask = os.umask(0o022)
    try:
        path = _kp3d(np.random.default_rng(4)).save(tmp_path / "pose3d.npz")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        os.chmod(path, 0o640)  # a replaced file keeps the mode its owner gave it
        _kp3d(np.random.default_rng(5)).save(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
    finally:
        os.umask(umask)


def test_files_written_before_the_new_fields_still_load(tmp_path):
    """frame_index, world_frame, source, the per-camera record (3D) and swapped (2D) came later:
    a file without them loads with their defaults."""
    rng = np.random.default_rng(5)
    for original in (_kp2d(rng), _kp3d(rng), _motion(rng)):
        new_fields = {"frame_index", "swapped", "world_frame", "source", "camera_names", "detections", "view_swaps"}
        arrays = {"kind": np.array(original._kind)}
        for name, value in vars(original).items():
            if not (name in new_fields and not (isinstance(original, Keypoints2D) and name == "camera_names")):
                arrays[name] = np.array(value, dtype=str) if isinstance(value, tuple) else np.asarray(value)
        path = tmp_path / f"{original._kind}.npz"
        np.savez(path, **arrays)
        loaded = type(original).load(path)
        np.testing.assert_array_equal(loaded.frame_index, np.arange(loaded.n_frames))
        if isinstance(loaded, Keypoints3D):
            assert loaded.world_frame == "z_up" and not loaded.floor_known
            assert loaded.source.shape == loaded.n_views.shape and not loaded.source.any()
            assert loaded.camera_names == () and loaded.detections.shape == (0,) + loaded.xyz.shape[:2]
        if isinstance(loaded, Keypoints2D):
            assert loaded.swapped.shape == loaded.score.shape[:3] + (3,) and not loaded.swapped.any()


def test_frame_index_is_checked_and_survives_a_round_trip(tmp_path):
    rng = np.random.default_rng(6)
    kp = _kp3d(rng)
    with pytest.raises(ValueError, match="increasing"):
        Keypoints3D(xyz=kp.xyz, score=kp.score, reproj_error=kp.reproj_error, n_views=kp.n_views,
                    frame_index=[0, 2, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="frame_index"):
        Keypoints3D(xyz=kp.xyz, score=kp.score, reproj_error=kp.reproj_error, n_views=kp.n_views, frame_index=[0, 1])
    with pytest.raises(ValueError, match="world_frame"):
        Keypoints3D(xyz=kp.xyz, score=kp.score, reproj_error=kp.reproj_error, n_views=kp.n_views, world_frame="up")
    strided = Keypoints3D(xyz=kp.xyz, score=kp.score, reproj_error=kp.reproj_error, n_views=kp.n_views,
                          frame_index=np.arange(10, 22, 2), world_frame="floor", camera_names=["a", "b"])
    loaded = Keypoints3D.load(strided.save(tmp_path / "p.npz"))
    np.testing.assert_array_equal(loaded.frame_index, [10, 12, 14, 16, 18, 20])
    assert loaded.floor_known and loaded.camera_names == ("a", "b")
    assert loaded.detections.shape == (2, 6, 2) and (loaded.detections == -1).all()

"""Our C3D files read back by an independent reader, the ``c3d`` package (EDS Lab / Leif Johnson)."""

import numpy as np
import pytest

from exporters.c3d import write_c3d
from mocap.errors import OutputError, SettingsError
from mocap.skeleton.wholebody import INDEX, NAMES
from mocap.synthetic import human_motion
from test_armature import keypoints3d

c3d = pytest.importorskip("c3d")
pytestmark = pytest.mark.filterwarnings("ignore:No analog data")  # we write none, on purpose


@pytest.fixture(scope="module")
def markers():
    xyz = np.stack([human_motion(50, 60.0, seed=1), human_motion(50, 60.0, seed=2, centre=(2.0, 0.0))], axis=1)
    xyz[7, 0, INDEX["nose"]] = np.nan
    xyz[10:20, 0, INDEX["left_hand_thumb4"]] = np.nan
    return keypoints3d(xyz, fps=60.0)


def _read(path):
    with open(path, "rb") as f:
        reader = c3d.Reader(f)
        frames = [(n, points.copy()) for n, points, _ in reader.read_frames()]
        meta = dict(rate=reader.point_rate, used=reader.point_used, frames=reader.frame_count,
                    first=reader.first_frame, last=reader.last_frame,
                    labels=[s.strip() for s in reader.point_labels],
                    units=reader.get("POINT:UNITS").string_value.strip(),
                    y_screen=reader.get("POINT:Y_SCREEN").string_value.strip())
    return meta, np.array([n for n, _ in frames]), np.array([p for _, p in frames])


@pytest.mark.parametrize("units, scale", [("mm", 1000.0), ("m", 1.0)])
def test_c3d_package_reads_our_markers(markers, tmp_path, units, scale):
    path = write_c3d(markers, tmp_path / "take.c3d", person=0, units=units)
    assert path.stat().st_size % 512 == 0
    meta, numbers, points = _read(path)
    assert meta["rate"] == 60.0 and meta["used"] == 133 and meta["frames"] == 50
    assert (meta["first"], meta["last"]) == (1, 50) and list(numbers) == list(range(1, 51))
    assert meta["labels"] == list(NAMES) and meta["units"] == units and meta["y_screen"] == "+Z"
    truth = markers.xyz[:, 0]
    valid = points[..., 3] >= 0  # the residual word: -1 marks a missing marker
    assert np.array_equal(valid, np.isfinite(truth).all(-1))
    assert not valid[7, INDEX["nose"]] and not valid[10:20, INDEX["left_hand_thumb4"]].any()
    # Float32 storage, Z up, in the file's units.
    assert np.abs(points[..., :3][valid] / scale - truth[valid]).max() < 1e-6 * max(1.0, np.abs(truth).max() * 2)


def test_c3d_second_person_and_bad_requests(markers, tmp_path):
    path = write_c3d(markers, tmp_path / "other.c3d", person=1)
    _, _, points = _read(path)
    assert np.abs(points[..., :3] / 1000 - markers.xyz[:, 1]).max() < 1e-5
    with pytest.raises(SettingsError, match="person 2"):
        write_c3d(markers, tmp_path / "x.c3d", person=2)
    with pytest.raises(SettingsError, match="units"):
        write_c3d(markers, tmp_path / "x.c3d", units="inch")
    with pytest.raises(OutputError, match="does not exist"):
        write_c3d(markers, tmp_path / "missing" / "x.c3d")

"""Our TRC read by an independent reader (trc-data-reader), the way OpenSim users' tools see it."""

import numpy as np
import pytest

from exporters import write_trc
from mocap.data import Keypoints3D
from mocap.skeleton import NAMES
from mocap.synthetic import human_motion

trc = pytest.importorskip("trc", reason="trc-data-reader is not installed (pip install -e '.[dev]')")


@pytest.mark.parametrize("units, scale", [("m", 1.0), ("mm", 1000.0)])
def test_an_independent_reader_gets_our_markers_y_up(tmp_path, units, scale):
    xyz = human_motion(30, 50.0, seed=2)[:, None]
    xyz[5:8, 0, 10] = np.nan  # right wrist missing for three frames
    n = np.full(xyz.shape[:3], 3)
    kp = Keypoints3D(xyz=xyz, score=np.ones(n.shape), reproj_error=np.zeros(n.shape), n_views=n, fps=50.0)
    path = write_trc(kp, tmp_path / "take.trc", units=units)

    data = trc.TRCData()
    data.load(str(path))
    assert data["DataRate"] == 50.0 and data["NumFrames"] == 30 and data["NumMarkers"] == 133
    assert data["Units"] == units and list(data["Markers"]) == list(NAMES)
    np.testing.assert_allclose(data["Time"], np.arange(30) / 50.0, atol=1e-5)
    for k in (0, 10, 20, 100, 130):
        got = np.array(data[NAMES[k]], dtype=float)  # (T, 3): X, Y (up), Z
        # Our world is Z up; TRC is Y up: world (x, y, z) is written (x, z, -y).
        want = np.stack([xyz[:, 0, k, 0], xyz[:, 0, k, 2], -xyz[:, 0, k, 1]], -1) * scale
        np.testing.assert_allclose(got, want, atol=1e-5 * scale, equal_nan=True)
    assert np.isnan(np.array(data["right_wrist"], dtype=float)[5:8]).all()

"""Export to other tools' files: Qualisys XML round-trips exactly through the reader, on the real
lab file and on a synthetic rig; FreeMoCap's TOML carries millimetres."""

import numpy as np
import pytest

from calibration import load_calibration, read_qualisys
from calibration.export import export_calibration
from mocap.cli import main
from mocap.synthetic import camera_ring


def _same(a, b, tol=1e-9):
    assert a.names == b.names
    for x, y in zip(a, b):
        assert x.size == y.size
        assert np.allclose(x.matrix, y.matrix, atol=tol * 1e3)
        assert np.allclose(x.dist, y.dist, atol=tol)
        assert np.allclose(x.R, y.R, atol=tol)
        assert np.allclose(x.position, y.position, atol=tol)


def test_qualisys_round_trip_of_a_synthetic_rig(tmp_path):
    rig = camera_ring(3, seed=5)
    path = export_calibration(rig, tmp_path / "rig.qca.txt", "qualisys")
    _same(read_qualisys(path), rig)


def test_qualisys_round_trip_of_the_lab_file(pose2sim_demo, tmp_path):
    lab = read_qualisys(pose2sim_demo / "calibration" / "Calib.qca.txt")
    assert main(["calibration", "export", str(pose2sim_demo / "calibration" / "Calib.qca.txt"), "--format", "qualisys",
                 "-o", str(tmp_path / "again.qca.txt")]) == 0
    _same(read_qualisys(tmp_path / "again.qca.txt"), lab)


def test_freemocap_and_pose2sim_exports(tmp_path):
    rig = camera_ring(2, seed=6)
    export_calibration(rig, tmp_path / "p2s.toml", "pose2sim")
    _same(load_calibration(tmp_path / "p2s.toml"), rig)
    export_calibration(rig, tmp_path / "fmc.toml", "freemocap")
    assert 'units = "mm"' in (tmp_path / "fmc.toml").read_text()
    assert np.allclose([float(v) for v in (tmp_path / "fmc.toml").read_text().split("translation = [")[1]
                        .split("]")[0].split(",")], rig[0].tvec * 1000)  # written in millimetres
    with pytest.warns(UserWarning, match="converted to metres"):
        fmc = load_calibration(tmp_path / "fmc.toml")  # read back in metres
    assert np.allclose([c.tvec for c in fmc], [c.tvec for c in rig])
    assert fmc.metadata["units"] == "m" and fmc.metadata["converted_from_units"] == "mm"

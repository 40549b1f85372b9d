"""Helpers of the session tests: sessions built as a user builds them, and ``mocap`` run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CAMS = ("cam01", "cam02", "cam03", "cam04")


def mocap(*args, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    """``python -m mocap.cli --quiet ARGS`` in a real process."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "mocap.cli", "--quiet", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=timeout)


def mocap_process(*args) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "mocap.cli", "--quiet", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def assert_user_error(result, *fragments):
    """Exit status 2, one clean message (no traceback) holding every fragment."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert str(fragment) in result.stderr, (fragment, result.stderr)


def write_settings(root: Path, tables: dict) -> Path:
    """``root/session.toml`` holding only ``tables`` ({table: {key: value}}); the rest are defaults."""
    from mocap.session.settings import toml_value

    lines = []
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    path = root / "session.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def demo_session(root: Path, demo: Path, tables: dict | None = None, *, openpose: bool = True) -> Path:
    """The real Pose2Sim demo as a session: its 4 videos and Qualisys calibration (linked, not
    copied), and, with ``openpose``, its OpenPose JSON as the 2D stage's input."""
    for sub in ("videos", "calibration", "output"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for cam in CAMS:
        os.symlink(demo / "videos" / f"{cam}.mp4", root / "videos" / f"{cam}.mp4")
    os.symlink(demo / "calibration" / "Calib.qca.txt", root / "calibration" / "Calib.qca.txt")
    tables = {k: dict(v) for k, v in (tables or {}).items()}
    if openpose:
        os.symlink(demo / "pose2d_openpose_body25b", root / "openpose")
        tables.setdefault("pose2d", {}).update(backend="openpose-json", json_layout="body_25b")
    write_settings(root, tables)
    return root


def tiny_videos(folder: Path, names=("cam01", "cam02"), *, frames=5, fps=30.0, size=(64, 48)) -> list[Path]:
    """Small MJPG videos (one per camera); ``frames`` and ``fps`` may be per camera (dicts)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, name in enumerate(names):
        n = frames[name] if isinstance(frames, dict) else frames
        rate = fps[name] if isinstance(fps, dict) else fps
        path = folder / f"{name}.avi"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), rate, size)
        for t in range(n):
            writer.write(np.full((size[1], size[0], 3), (40 * i + 5 * t) % 255, np.uint8))
        writer.release()
        paths.append(path)
    return paths


def synthetic_calibration(path: Path, names=("cam01", "cam02")) -> Path:
    import calibration
    from mocap.synthetic import camera_ring

    group = camera_ring(len(names), size=(64, 48), seed=3)
    cams = tuple(__import__("dataclasses").replace(c, name=n) for c, n in zip(group.cameras, names))
    calibration.save_calibration(calibration.CameraGroup(cams), path)
    return path


def manifest(root: Path, stage: str) -> dict:
    return json.loads((root / "output" / f"{stage}.manifest.json").read_text())


def stage_lines(stdout: str) -> dict[str, str]:
    """{stage: its line} from ``mocap run``'s output."""
    from mocap.pipeline import STAGE_NAMES

    out = {}
    for line in stdout.splitlines():
        word = line.split(" ", 1)[0]
        if word in STAGE_NAMES:
            out[word] = line
    return out


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """{relative path: (size, mtime_ns)} of every file under ``folder`` (manifests included)."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def same_outputs(a: Path, b: Path, skip=("report.html",)) -> list[str]:
    """Names of output files that differ between two sessions' output folders: .npz by their
    arrays (exactly), everything else byte for byte; manifests and the report (which record
    times) are not compared. Empty when they agree."""
    def files(folder):
        return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
                and not p.name.endswith(".manifest.json") and p.name != ".lock" and p.name not in skip
                and "report_files" not in p.parts}

    names_a, names_b = files(a), files(b)
    differ = sorted(names_a ^ names_b)
    for name in sorted(names_a & names_b):
        pa, pb = a / name, b / name
        if name.endswith(".npz"):
            with np.load(pa) as x, np.load(pb) as y:
                if sorted(x.files) != sorted(y.files) or not all(
                        np.array_equal(x[k], y[k], equal_nan=x[k].dtype.kind == "f") for k in x.files):
                    differ.append(name)
        elif pa.read_bytes() != pb.read_bytes():
            differ.append(name)
    return differ

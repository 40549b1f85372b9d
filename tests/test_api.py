"""The public API: one function per verb, and a light, GUI-free import of the core packages."""

import os
import subprocess
import sys
from pathlib import Path

import mocap.api as api
from mocap.cli import build_parser

REPO = Path(__file__).resolve().parents[1]

VERB_FUNCTIONS = {
    "triangulate": "triangulate_openpose", "export": "export", "calibration": "import_calibration",
    "calibrate": "calibrate", "filter": "filter_pose3d", "models": "pull_model", "pose2d": "pose2d",
    "retarget": "retarget", "demo": "demo",
    "init": "init_session", "run": "run_session", "report": "build_report",
    "live": "live", "blender": "build_addon",
    "render-pose-maps": "render_pose_maps",
    "lift": "lift", "record": "record", "sync": "sync", "batch": "batch",
}


def test_every_command_line_verb_is_a_function_in_mocap_api():
    verbs = next(a for a in build_parser()._actions if a.dest == "verb").choices
    assert set(verbs) == set(VERB_FUNCTIONS), set(verbs) ^ set(VERB_FUNCTIONS)
    for verb, name in VERB_FUNCTIONS.items():
        assert callable(getattr(api, name)), verb


def test_core_imports_no_gui_and_no_heavy_runtime():
    code = ("import sys, calibration, mocap.api, mocap.data, mocap.triangulate, mocap.filters, exporters; "
            "print(','.join(sorted(m for m in ('onnxruntime', 'torch', 'bpy', 'mediapipe', 'matplotlib.pyplot', "
            "'PyQt5', 'PySide6', 'tkinter', 'ray', 'av') if m in sys.modules)))")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"imported at startup: {out.stdout.strip()}"

"""``mocap blender build-addon``: the Blender extension (``blender_addon/``) as an installable zip.

The zip holds ``blender_manifest.toml`` and the add-on's modules at its root (the layout
Blender's *Install from Disk* and ``bpy.ops.extensions.package_install_files`` expect), plus
``mocap_tables.json``, written here from mocap's own tables so the add-on, which cannot import
mocap, names keypoints and bones as mocap does: the COCO-WholeBody 133 keypoint names and bone
tree (:mod:`mocap.skeleton`) and the SMPL-X template skeleton for fits imported without a model
file (:func:`mocap.smplx_fit.synthetic.rest_joints`).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import blender_addon
from blender_addon.tables import TABLES_FILE
from mocap.data import WHOLEBODY
from mocap.fileio import atomic_path

ADDON_DIR = Path(blender_addon.__file__).parent


def addon_tables() -> dict:
    """What ``mocap_tables.json`` holds (see the module doc)."""
    from mocap.skeleton import BONES, NAMES
    from mocap.smplx_fit.synthetic import rest_joints

    return {"layouts": {WHOLEBODY: {"names": list(NAMES), "bones": [list(b) for b in BONES]}},
            "smplx_template_joints": rest_joints().round(6).tolist()}


def addon_files() -> list[Path]:
    """The add-on's own files: its manifest and modules (no caches, no tests)."""
    files = [ADDON_DIR / "blender_manifest.toml"] + sorted(ADDON_DIR.glob("*.py"))
    return [f for f in files if f.is_file()]


def build_addon(output: str | os.PathLike) -> Path:
    """Write the extension zip to ``output`` (atomically)."""
    output = Path(output)
    with atomic_path(output, suffix=".zip") as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for f in addon_files():
                z.write(f, f.name)
            z.writestr(TABLES_FILE, json.dumps(addon_tables()))
    return output


def _cmd_build_addon(args) -> None:
    path = build_addon(args.output)
    print(f"wrote {path}: install in Blender 4.2+ with Edit > Preferences > Get Extensions > Install from Disk")


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("blender", help="the Blender extension (import results, receive `mocap live`)")
    actions = p.add_subparsers(dest="blender_verb", required=True, metavar="ACTION")
    q = actions.add_parser("build-addon", help="build the Blender 4.2+ extension zip")
    q.add_argument("-o", "--output", default="mocap_addon.zip", help="zip to write (default ./mocap_addon.zip)")
    q.set_defaults(func=_cmd_build_addon)

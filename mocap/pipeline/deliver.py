"""The last stages of ``mocap run``: export and report.

**export** writes the ``[export] formats``: armature formats (bvh, fbx, gltf, glb) from each
retargeted ``motion*.npz`` -> ``motion.bvh``, ``motion_p1.bvh``, ...; marker formats (trc, c3d,
csv) from the filtered keypoints -> ``markers.trc``, ... for the same people.

**report** writes ``report.html`` and its pictures (``report_files/``) from everything the other
stages left in ``output/`` and their manifests (:mod:`mocap.report`).
"""

from __future__ import annotations

import re

from mocap.errors import SettingsError
from mocap.pipeline.manifest import MANIFEST_SUFFIX, Manifest
from mocap.pipeline.reconstruct import retarget_persons
from mocap.fileio import person_suffix
from mocap.pipeline.stage import StageContext

ARMATURE_FORMATS = ("bvh", "fbx", "gltf", "glb")


def export_inputs(ctx: StageContext) -> list:
    return [ctx.output("pose3d_filtered.npz")] + sorted(p for p in ctx.session.output_dir.glob("motion*.npz")
                                                        if re.fullmatch(r"motion(_p\d+)?\.npz", p.name))


def run_export(ctx: StageContext) -> str:
    from mocap.api import export
    from mocap.data import Keypoints3D

    s = ctx.settings["export"]
    rig = ctx.settings["retarget"]["rig"]
    filtered = ctx.output("pose3d_filtered.npz")
    persons = retarget_persons(ctx, Keypoints3D.load(filtered).n_persons)
    written = []
    for fmt in s["formats"]:
        for p in persons:
            suffix = person_suffix(p)
            if fmt in ARMATURE_FORMATS:
                motion = ctx.output(f"motion{suffix}.npz")
                if not motion.is_file():
                    raise SettingsError(f"[export] formats lists {fmt}, which needs the retargeted motion "
                                        f"{motion.name}; the retarget stage did not write it")
                path = export(fmt, motion, ctx.out(f"motion{suffix}.{fmt}"), rig=rig)
            else:
                units = {"trc": s["trc_units"], "c3d": s["c3d_units"]}.get(fmt)
                path = export(fmt, filtered, ctx.out(f"markers{suffix}.{fmt}"), person=p, units=units)
            written.append(path.name)
    return "wrote " + (", ".join(written) if written else "nothing ([export] formats = [])")


def report_inputs(ctx: StageContext) -> list:
    out = ctx.session.output_dir
    names = ("calibration.toml", "sync.toml", "pose2d.npz", "pose3d.npz", "pose3d_filtered.npz", "foot_contacts.npz")
    files = [out / n for n in names if (out / n).is_file()]
    files += sorted(p for p in out.glob(f"*{MANIFEST_SUFFIX}") if not p.name.startswith("report."))
    return files + list(ctx.plan.paths)


def run_report(ctx: StageContext) -> str:
    from mocap.report import write_report

    s = ctx.settings["report"]
    if not s["enabled"]:
        return "no report ([report] enabled = false)"
    stages = [Manifest.read(ctx.session.output_dir, name).__dict__ for name in ctx.stage_names if name != "report"]
    path = write_report(ctx.session, ctx.settings, ctx.out("report.html"), stages=stages, frames=s["frames"])
    return f"output/{path.name}"

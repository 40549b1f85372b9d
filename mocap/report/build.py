"""``output/report.html``: what a session's run produced and how good it is, as one static page.

Sections: the stages (status, time, summary, warnings); calibration per camera (its own error, the
median reprojection error of the triangulated person, outliers flagged; the rig from above);
detection rate per camera and keypoint group; reprojection error over time per camera; bone-length
stability before and after filtering; 3D trajectories; video frames with the skeleton reprojected;
the settings and package versions. Pictures go to ``report_files/`` beside the page; the page
fetches nothing else. The report is of person 0 (the subject, or the first track); the others are
counted.
"""

from __future__ import annotations

import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

from mocap.report import figures, frames as frame_pictures, html
from mocap.report.metrics import (
    REPORT_GROUPS, bone_stability, calibration_pixels, camera_medians, camera_outliers, detection_rates, midpoint,
    reprojection, reprojection_series, subject_slots,
)
from mocap.skeleton import INDEX

PACKAGES = ("mocap", "numpy", "scipy", "opencv-contrib-python", "onnxruntime", "onnxruntime-gpu", "mediapipe",
            "matplotlib", "bpy", "torch", "smplx")
BONES = tuple((f"{side} {part}", f"{side}_{a}", f"{side}_{b}") for side in ("left", "right")
              for part, a, b in (("upper arm", "shoulder", "elbow"), ("forearm", "elbow", "wrist"),
                                 ("thigh", "hip", "knee"), ("shank", "knee", "ankle"), ("foot", "ankle", "big_toe"),
                                 ("heel", "ankle", "heel"))) + \
    (("shoulder width", "left_shoulder", "right_shoulder"), ("hip width", "left_hip", "right_hip"))
TRACKS = (("pelvis", ("left_hip", "right_hip")), ("nose", ("nose", "nose")),
          ("left wrist", ("left_wrist", "left_wrist")), ("right wrist", ("right_wrist", "right_wrist")),
          ("left ankle", ("left_ankle", "left_ankle")), ("right ankle", ("right_ankle", "right_ankle")))


def _load(out: Path):
    import calibration
    from mocap.data import Keypoints2D, Keypoints3D

    def maybe(name, loader):
        return loader(out / name) if (out / name).is_file() else None

    return (maybe("calibration.toml", calibration.load_calibration), maybe("pose2d.npz", Keypoints2D.load),
            maybe("pose3d.npz", Keypoints3D.load), maybe("pose3d_filtered.npz", Keypoints3D.load))


def _versions() -> list[tuple[str, str]]:
    rows = [("python", sys.version.split()[0]), ("platform", platform.platform())]
    for name in PACKAGES:
        try:
            rows.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            pass
    return rows


def _stages_section(stages: list[dict]) -> str:
    rows = []
    for m in stages:
        status = m.get("status", "missing")
        css = "" if status == "done" else "bad"
        warnings = "; ".join(m.get("warnings") or [])
        rows.append((m["stage"], (status, css), f"{m['seconds']:.1f} s" if m.get("seconds") is not None else "",
                     m.get("finished") or "", m.get("error") or m.get("summary") or "", (warnings, "warn")))
    return html.section("Stages", html.table(("stage", "status", "time", "finished", "summary", "warnings"), rows))


def _calibration_rows(group, kp2d, medians, outliers):
    meta = group.metadata
    rms = meta.get("reprojection_rms_px") if isinstance(meta.get("reprojection_rms_px"), dict) else {}
    residual = meta.get("avg_residual") if isinstance(meta.get("avg_residual"), list) else None
    rows = []
    for c, cam in enumerate(group.cameras):
        if cam.name in rms:
            own = f"{rms[cam.name]:.2f} px (board RMS)"
        elif residual is not None and c < len(residual):
            own = f"{residual[c]:.3f} mm (QTM average residual)"
        elif "error" in meta:
            own = f"{float(meta['error']):.2f} (whole rig, as the file says)"
        else:
            own = "not recorded"
        video = "" if kp2d is None or cam.name not in kp2d.camera_names else \
            "×".join(str(int(v)) for v in kp2d.image_sizes[kp2d.camera_names.index(cam.name)])
        m = medians.get(cam.name, np.nan)
        reproj = ("—", "muted") if not np.isfinite(m) else \
            (f"{m:.1f} px (far above the others)", "bad") if outliers.get(cam.name) else f"{m:.1f} px"
        rows.append((cam.name, f"{cam.size[0]}×{cam.size[1]}", video or "—", f"{cam.matrix[0, 0]:.0f}", own, reproj))
    return rows


def write_report(session, settings, html_path: Path, *, stages: list[dict], frames: int = 3,
                 explicit_note: str = "set in session.toml") -> Path:
    """Write ``html_path`` and its pictures (``report_files/`` beside it) from ``session``'s outputs.

    stages: each stage's manifest (as a dict), in order.
    """
    from calibration.toml_values import toml_value

    html_path = Path(html_path)
    pictures = html_path.parent / "report_files"
    pictures.mkdir(parents=True, exist_ok=True)
    group, kp2d, kp3d, filtered = _load(session.output_dir)
    best = filtered if filtered is not None else kp3d
    parts = [_stages_section(stages)]

    facts = []
    if kp2d is not None:
        facts.append(f"{kp2d.n_cameras} cameras ({', '.join(kp2d.camera_names)}), {kp2d.n_frames} frames at "
                     f"{kp2d.fps:g} fps ({kp2d.n_frames / kp2d.fps:.1f} s), video frames {kp2d.frame_index[0]} to "
                     f"{kp2d.frame_index[-1]}")
    if kp3d is not None:
        facts.append(f"{kp3d.n_persons} person(s) in 3D; world frame: {kp3d.world_frame}"
                     + ("" if kp3d.floor_known else " (the floor is not known: heights are relative)"))
    parts.insert(0, "".join(html.paragraph(f) for f in facts))

    slots = series = None
    medians: dict = {}
    outliers: dict = {}
    min_score = settings["triangulate"]["min_score"]
    if group is not None and kp2d is not None and kp3d is not None and set(kp2d.camera_names) <= set(group.names):
        group = group.subset(kp2d.camera_names)
        xy = calibration_pixels(kp2d, group)
        uv = reprojection(group, kp3d.xyz[:, 0])
        known = len(kp3d.camera_names) == kp2d.n_cameras
        slots = subject_slots(xy, kp2d.score, uv, min_score=min_score,
                              detections=kp3d.detections[:, :, 0] if known else None,
                              image_heights=[cam.size[1] for cam in group.cameras])
        series = reprojection_series(xy, kp2d.score, uv, slots, min_score=min_score)
        med = camera_medians(series)
        medians = dict(zip(kp2d.camera_names, med))
        outliers = dict(zip(kp2d.camera_names, camera_outliers(med)))

    if group is not None:
        rows = _calibration_rows(group, kp2d, medians, outliers)
        cal = [html.table(("camera", "calibrated image", "video", "focal (px)", "calibration error",
                           "reprojection of the 3D (median)"), rows)]
        pelvis = midpoint(best.xyz[:, 0], "left_hip", "right_hip") if best is not None else None
        figures.rig_figure(group.names, np.array([c.position for c in group.cameras]),
                           np.array([c.R[2] for c in group.cameras]), pelvis, pictures / "rig.png")
        cal.append(html.figure("report_files/rig.png", "cameras from above (viewing direction) and the pelvis path",
                               420))
        parts.append(html.section("Calibration", *cal))

    if kp2d is not None:
        if slots is None:  # no 3D: the most confident detection of each camera and frame
            slots = np.argmax(kp2d.score.sum(-1), axis=-1)
        rates = detection_rates(kp2d.score, slots, min_score=min_score)
        found = (slots >= 0).mean(axis=1)
        rows = [(name, f"{found[c]:.0%}", *[f"{rates[g][c]:.0%}" for g in REPORT_GROUPS])
                for c, name in enumerate(kp2d.camera_names)]
        parts.append(html.section(
            "Detection", html.paragraph(f"Share of each group's keypoints detected with confidence >= {min_score:g} "
                                        "for the person, over all frames."),
            html.table(("camera", "person found", *REPORT_GROUPS), rows)))

    if series is not None:
        seconds = np.arange(kp2d.n_frames) / kp2d.fps
        figures.reprojection_figure(seconds, series, kp2d.camera_names, pictures / "reprojection.png")
        parts.append(html.section("Reprojection error over time",
                                  html.figure("report_files/reprojection.png",
                                              "median distance between each camera's 2D keypoints and the 3D "
                                              "reprojected into it")))

    if kp3d is not None:
        pairs = np.array([(INDEX[a], INDEX[b]) for _, a, b in BONES])
        raw_len, raw_spread = bone_stability(kp3d.xyz[:, 0], pairs)
        f_len, f_spread = bone_stability(filtered.xyz[:, 0], pairs) if filtered is not None else (None, None)
        rows = []
        for i, (label, _, _) in enumerate(BONES):
            row = [label, _cm(raw_len[i]), _pct(raw_spread[i])]
            if filtered is not None:
                row += [_cm(f_len[i]), _pct(f_spread[i])]
            rows.append(tuple(row))
        headers = ("bone", "length (cm)", "spread") + (("filtered length (cm)", "filtered spread")
                                                      if filtered is not None else ())
        figures.bones_figure([b[0] for b in BONES], raw_spread, f_spread, pictures / "bones.png")
        parts.append(html.section("Bone-length stability",
                                  html.paragraph("Spread: standard deviation of the length over time, relative to "
                                                 "its median. A person's bones keep their length."),
                                  html.table(headers, rows), html.figure("report_files/bones.png", "length spread")))

    if best is not None:
        seconds = np.arange(best.n_frames) / best.fps
        tracks = {name: midpoint(best.xyz[:, 0], a, b) for name, (a, b) in TRACKS}
        figures.trajectories_figure(seconds, tracks, pictures / "trajectories.png")
        parts.append(html.section("3D trajectories", html.figure(
            "report_files/trajectories.png", f"person 0, {'filtered' if filtered is not None else 'triangulated'}")))

    if group is not None and kp2d is not None and kp3d is not None and frames > 0:
        parts.append(_frames_section(session, group, kp2d, kp3d, slots, frames, min_score, pictures))

    values = settings.values_of([t for t in settings.tables])
    lines = []
    for table, keys in values.items():
        lines.append(f"[{table}]")
        for key, value in keys.items():
            mark = f"  # {explicit_note}" if (table, key) in settings.explicit else ""
            lines.append(f"{key} = {toml_value(value) if value is not None else '(unset)'}{mark}")
    parts.append(html.section("Settings", f"<pre>{html.text(chr(10).join(lines))}</pre>"))
    parts.append(html.section("Versions", html.table(("package", "version"), _versions())))
    outputs = sorted(p for p in session.output_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    parts.append(html.section("Outputs", html.table(("file", "size"), [(p.name, _size(p)) for p in outputs])))

    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = html.page(f"mocap session {session.root.name}", f"<p class=\"muted\">written {when}</p>", *parts)
    html_path.write_text(page, encoding="utf-8")
    return html_path


def _frames_section(session, group, kp2d, kp3d, slots, count, min_score, pictures: Path) -> str:
    from mocap.report.metrics import video_pixels

    videos = {p.stem: p for p in session.videos_dir.iterdir() if p.is_file()} if session.videos_dir.is_dir() else {}
    seen = np.isfinite(kp3d.xyz[:, 0, :, 0]).sum(-1) >= 5
    steps = frame_pictures.pick_steps(kp3d.n_frames, count, seen)
    uv = video_pixels(reprojection(group, kp3d.xyz[steps, 0]), kp2d.image_sizes, group)  # (C, S, K, 2)
    own = _video_frames(session, kp2d)  # each camera's own frame of each step (synchronized videos differ)
    figs = []
    for c, name in enumerate(kp2d.camera_names):
        if name not in videos:
            continue
        for s, t in enumerate(steps):
            if own[c, t] < 0:
                continue
            frame = frame_pictures.read_frame(videos[name], own[c, t])
            if frame is None:
                continue
            slot = slots[c, t]
            det = (kp2d.xy[c, t, slot], kp2d.score[c, t, slot]) if slot >= 0 else (None, None)
            image = frame_pictures.draw_frame(frame, det[0], det[1], uv[c, s], min_score=min_score)
            file = f"frame_{name}_{int(kp2d.frame_index[t]):06d}.png"
            frame_pictures.write_png(image, pictures / file)
            figs.append(html.figure(f"report_files/{file}", f"{name}, video frame {int(own[c, t])}"))
    return html.section("Frames", html.paragraph("Grey: the camera's 2D keypoints of the person; colour: the 3D "
                                                 "skeleton reprojected through the calibration."), *figs)


def _video_frames(session, kp2d) -> np.ndarray:
    """(C, T) the video frame of each camera at each step: ``frame_index``, or by output/sync.toml."""
    from mocap.sync.result import SYNC_FILE

    if not (session.root / SYNC_FILE).is_file():
        return np.tile(kp2d.frame_index, (kp2d.n_cameras, 1))
    from mocap.sync import load_sync

    return load_sync(session.root / SYNC_FILE).frame_table(kp2d.camera_names, kp2d.frame_index).frames


def _cm(v) -> str:
    return "—" if not np.isfinite(v) else f"{v * 100:.1f}"


def _pct(v) -> str:
    return "—" if not np.isfinite(v) else f"{v:.1%}"


def _size(path: Path) -> str:
    n = path.stat().st_size
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"

"""The calibration report: reprojection error per camera and per view, image coverage, and a
picture of the rig.

Written beside the calibration file: ``<stem>_report.json`` (numbers) and ``<stem>_report.png``
(cameras and board poses seen from above and from the side, and each camera's detected corners
over its image area). Coverage is the fraction of a 10 × 10 grid of image cells holding at least
one detected corner: low coverage (board only in the middle) leaves distortion and the principal
point poorly determined.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from calibration.fileio import atomic_write_text, publish

GRID = 10


def coverage(detections: dict, size) -> float:
    """Fraction of GRID × GRID image cells with a detected corner."""
    w, h = size
    cells = np.zeros((GRID, GRID), bool)
    for det in detections.values():
        if det is None:
            continue
        i = np.clip((det.corners[:, 0] / w * GRID).astype(int), 0, GRID - 1)
        j = np.clip((det.corners[:, 1] / h * GRID).astype(int), 0, GRID - 1)
        cells[j, i] = True
    return float(cells.mean())


def summary(result, board) -> dict:
    cams = {}
    for cam in result.group:
        intr = result.intrinsics[cam.name]
        dets = result.detections[cam.name]
        entry = {
            "views_tried": len(dets),
            "views_with_board": sum(d is not None for d in dets.values()),
            "views_rejected": [str(k) for k in intr.rejected],
            "intrinsics_rms_px": intr.rms,
            "coverage": coverage(dets, cam.size),
            "fx": cam.matrix[0, 0], "fy": cam.matrix[1, 1], "cx": cam.matrix[0, 2], "cy": cam.matrix[1, 2],
            "dist": cam.dist.tolist(),
        }
        if result.bundle is not None:
            entry["rms_px"] = result.bundle.camera_rms.get(cam.name)
            entry["view_rms_px"] = {str(k): v for (n, k), v in result.bundle.view_rms.items() if n == cam.name}
            entry["position_m"] = cam.position.tolist()
        else:
            entry["rms_px"] = intr.rms
            entry["view_rms_px"] = {str(k): v for k, v in intr.view_rms.items()}
        cams[cam.name] = entry
    out = {"board": board.kind, "world_frame": result.world_frame, "cameras": cams}
    if result.bundle is not None:
        out.update(rms_px=result.bundle.rms, observations=result.bundle.n_observations,
                   outliers=result.bundle.n_outliers)
    return out


def _plot(result, board, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(result.group)
    fig = plt.figure(figsize=(4 * max(n, 2), 8))
    ax_top, ax_side = fig.add_subplot(2, 2, 1), fig.add_subplot(2, 2, 2)
    for ax, (a, b), label in [(ax_top, (0, 1), "top (x, y) m"), (ax_side, (0, 2), "side (x, z) m")]:
        for cam in result.group:
            p, axis = cam.position, cam.R[2] * 0.3
            ax.plot(p[a], p[b], "o")
            ax.plot([p[a], p[a] + axis[a]], [p[b], p[b] + axis[b]], "-")
            ax.annotate(cam.name, (p[a], p[b]))
        centre = np.array(board.extent + (0,)) / 2 * [1, 1, 0]
        pts = np.array([R @ centre + t for R, t in result.board_world.values()]).reshape(-1, 3)
        if len(pts):
            ax.plot(pts[:, a], pts[:, b], "k.", ms=3, label="board")
        ax.set_title(label)
        ax.set_aspect("equal", adjustable="datalim")
    for i, cam in enumerate(result.group):
        ax = fig.add_subplot(2, n, n + i + 1)
        for det in result.detections[cam.name].values():
            if det is not None:
                ax.plot(det.corners[:, 0], det.corners[:, 1], ".", ms=1)
        ax.set_xlim(0, cam.size[0])
        ax.set_ylim(cam.size[1], 0)
        ax.set_aspect("equal")
        ax.set_title(f"{cam.name}: {coverage(result.detections[cam.name], cam.size):.0%} covered", fontsize=9)
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=80)
        publish(tmp, path)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_report(result, board, stem: Path) -> tuple[Path, Path]:
    """``stem_report.json`` and ``stem_report.png``; returns their paths."""
    stem = Path(stem)
    json_path = stem.parent / f"{stem.name}_report.json"
    png_path = stem.parent / f"{stem.name}_report.png"
    atomic_write_text(json_path, json.dumps(summary(result, board), indent=2, default=float))
    _plot(result, board, png_path)
    return json_path, png_path

"""The report's plots, as PNG files (matplotlib, off-screen).

Each function takes arrays and a path, draws one figure and saves it; nothing here reads session files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    plt = _pyplot()
    try:
        fig.tight_layout()
        fig.savefig(path, dpi=90)
    finally:
        plt.close(fig)
    return path


def reprojection_figure(seconds: np.ndarray, series: np.ndarray, names, path: Path) -> Path:
    """Each camera's median reprojection error (px) over time."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.2))
    for name, row in zip(names, series):
        ax.plot(seconds, row, lw=1, label=name)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("median error (px)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(ncol=min(len(names), 8), fontsize=8)
    return _save(fig, path)


def bones_figure(labels, raw: np.ndarray, filtered: np.ndarray | None, path: Path) -> Path:
    """Relative spread of each bone's length over time (%), before and after filtering."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.2))
    x = np.arange(len(labels))
    width = 0.4 if filtered is not None else 0.8
    ax.bar(x - (width / 2 if filtered is not None else 0), np.nan_to_num(raw * 100), width, label="triangulated")
    if filtered is not None:
        ax.bar(x + width / 2, np.nan_to_num(filtered * 100), width, label="filtered")
    ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("length spread (std / median, %)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return _save(fig, path)


def trajectories_figure(seconds: np.ndarray, tracks: dict, path: Path) -> Path:
    """x, y and z over time of a few keypoints (``tracks``: name -> (T, 3) metres), and the top view."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
    for name, xyz in tracks.items():
        for axis, ax in enumerate(axes[:3]):
            ax.plot(seconds, xyz[:, axis], lw=1, label=name)
        axes[3].plot(xyz[:, 0], xyz[:, 1], lw=1, label=name)
    for axis, ax in enumerate(axes[:3]):
        ax.set_title(f"{'xyz'[axis]} (m)", fontsize=9)
        ax.set_xlabel("time (s)")
        ax.grid(alpha=0.3)
    axes[3].set_title("top view: x, y (m)", fontsize=9)
    axes[3].set_aspect("equal", adjustable="datalim")
    axes[3].grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    return _save(fig, path)


def rig_figure(names, positions: np.ndarray, axes_z: np.ndarray, path_xy: np.ndarray | None, path: Path) -> Path:
    """The cameras seen from above (position, viewing direction) and the person's path on the floor."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, p, z in zip(names, positions, axes_z):
        ax.plot(p[0], p[1], "o")
        ax.plot([p[0], p[0] + 0.5 * z[0]], [p[1], p[1] + 0.5 * z[1]], "-")
        ax.annotate(name, (p[0], p[1]), fontsize=8)
    if path_xy is not None and np.isfinite(path_xy).any():
        ax.plot(path_xy[:, 0], path_xy[:, 1], "k-", lw=1, label="pelvis path")
        ax.legend(fontsize=8)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.grid(alpha=0.3)
    return _save(fig, path)

"""Choosing the world frame from a board lying on the floor (else it stays the first camera's;
:func:`calibration.people.floor_from_feet` finds it from people instead), and telling what a
calibration's world frame is (:func:`world_frame`).

Board on the floor (printed side up): its board frame has x along the columns, y along the rows and
z *into* the board, i.e. down into the floor. The world takes the board's origin and axes with
``X = x``, ``Y = -y``, ``Z = -z`` (a 180° turn about x): right-handed, Z up, floor at z = 0.

Every camera ``x_cam = Rc x_old + tc`` and board pose ``x_old = Rk x_board + tk`` is re-expressed:
with the floor board at ``(Rf, tf)`` and ``F = diag(1, -1, -1)``, ``x_old = Rf F x_new + tf``.
"""

from __future__ import annotations

import numpy as np

FLIP = np.diag([1.0, -1.0, -1.0])


def align_to_floor_board(cameras: list, board_world: dict, instant) -> tuple[list, dict]:
    """Cameras and board poses in the frame of the board seen at ``instant`` (Z up)."""
    Rf, tf = board_world[instant]
    M = Rf @ FLIP  # new → old rotation
    cams = [c.with_pose(c.R @ M, c.R @ tf + c.tvec) for c in cameras]
    boards = {k: (M.T @ R, M.T @ (t - tf)) for k, (R, t) in board_world.items()}
    return cams, boards




def world_frame(group) -> str:
    """What the world frame of a calibration is (``mocap.data.WORLD_FRAMES``), from what its file records:

    * "floor": Z up and z = 0 is the floor: a board laid on the floor (``mocap calibrate --floor``),
      the floor found from people's feet, a lab system's calibration (Qualisys: its L-frame lies on
      the floor, Z up), or a file that says ``world_frame = "floor..."``;
    * "unaligned": no known up (the first camera's frame: x right, y down, z forward), which is what
      a board calibration without a floor, intrinsics only, and the anipose / Pose2Sim / FreeMoCap
      files that say nothing give;
    * "z_up": a file that says its world is Z up, floor height unknown (``world_frame = "z_up"``).
    """
    meta = group.metadata
    said = str(meta.get("world_frame", "")).strip().lower()
    if meta.get("source") == "qualisys" or said.startswith(("board on the floor", "floor")):
        return "floor"
    if said.startswith("z_up") or said.startswith("z up"):
        return "z_up"
    return "unaligned"

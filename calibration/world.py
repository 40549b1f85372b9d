"""Choosing the world frame from a board lying on the floor (else it stays the first camera's;
:func:`calibration.people.floor_from_feet` finds it from people instead).

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


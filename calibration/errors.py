"""The one exception the calibration package raises for problems a user can cause.

:class:`CalibrationError` has the same shape as ``mocap.errors.MocapError`` (``calibration/``
must not import ``mocap``): its message reads ``"path: problem"`` when a file is involved, so the
command line can print it as it is. Programming errors (wrong array shapes passed to our own
functions) stay ``ValueError``.
"""

from __future__ import annotations

import os


class CalibrationError(Exception):
    """A calibration file is missing or malformed, or a camera asked for is not in it."""

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = None if path is None else os.fspath(path)
        self.problem = message
        super().__init__(f"{self.path}: {message}" if self.path else message)

"""Errors a user can cause.

Every one is a :class:`MocapError`; its message names the file (when there is one) and what is
wrong with it. The command line prints the message without a traceback and exits with status 2.
Programming errors (wrong array shapes passed between our own functions) stay ``ValueError``.
"""

from __future__ import annotations

import os


class MocapError(Exception):
    """A problem with the user's input, settings or output location."""

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = None if path is None else os.fspath(path)
        self.problem = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class InputFileError(MocapError):
    """An input file or folder is missing, unreadable or malformed."""


class CalibrationFileError(InputFileError):
    """A calibration file is missing, malformed, or does not match the data."""


class OutputError(MocapError):
    """An output cannot be written where the user asked."""


class SettingsError(MocapError):
    """A setting or command-line option makes no sense."""

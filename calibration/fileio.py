"""File plumbing shared by the calibration formats: checked input paths and atomic text writes.

``calibration/`` stands alone (it never imports ``mocap``), so it carries its own ten-line
atomic writer: the text goes to a temporary file in the destination folder, which then replaces
the destination in one ``os.replace``; a crash never leaves half a calibration file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from calibration.errors import CalibrationError


def check_input_file(path: str | os.PathLike) -> Path:
    """``path`` as a Path, or CalibrationError if it is missing or not a file."""
    path = Path(path)
    if not path.exists():
        raise CalibrationError("calibration file not found", path)
    if not path.is_file():
        raise CalibrationError("is not a file (expected a calibration file)", path)
    return path


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CalibrationError(f"is not a text file ({exc.reason} at byte {exc.start})", path) from None
    except OSError as exc:
        raise CalibrationError(f"cannot be read: {exc.strerror}", path) from None


def publish(tmp: str | os.PathLike, path: Path) -> None:
    """Rename ``tmp`` over ``path`` with the permissions a plainly created file would get (or the
    replaced file's own): ``mkstemp`` makes 0600 files, which would hide outputs from other users."""
    if path.exists():
        mode = path.stat().st_mode & 0o7777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; CalibrationError if the folder is unusable."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise CalibrationError("the output folder does not exist", folder)
    if path.is_dir():
        raise CalibrationError("is a folder; expected a file name", path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise CalibrationError(f"cannot write in this folder: {exc.strerror}", folder) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        publish(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path

"""Atomic writes: a crash or an error never leaves half a file where the user's file was.

Every writer in mocap and exporters/ goes through :func:`atomic_write` (text or bytes) or
:func:`atomic_path` (for libraries such as numpy or Blender that want a path to write to).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from calibration.fileio import publish  # one rule for output permissions, shared with calibration/
from mocap.errors import InputFileError, OutputError


def person_suffix(p: int) -> str:
    """"" for person 0, "_p1", "_p2", ... for the others (pose3d.trc, pose3d_p1.trc, motion_p1.npz, ...)."""
    return "" if p == 0 else f"_p{p}"


def check_output_path(path: str | os.PathLike) -> Path:
    """Return ``path`` as a Path after checking that its folder exists and is writable."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError("the output folder does not exist", folder)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError("the output folder is not writable", folder)
    if path.is_dir():
        raise OutputError("is a folder; expected a file name", path)
    return path


def make_output_folder(folder: str | os.PathLike) -> Path:
    """Create ``folder`` (and its parents) if needed and check that it is writable; returns it.
    OutputError naming the folder when it cannot be created or written to."""
    folder = Path(folder) if str(folder) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc.strerror})", folder) from exc
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError("the output folder is not writable", folder)
    return folder


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename.

    The temporary name keeps ``path``'s suffix (or ``suffix``) because some writers (numpy's
    ``savez``, Blender's exporters) choose the format from it.
    """
    path = check_output_path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if not tmp.exists() or tmp.stat().st_size == 0:
            raise OutputError("the writer produced no data", path)
        publish(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None):
    """Open a temporary file beside ``path`` for writing; rename it over ``path`` on success."""
    if mode not in ("w", "wb"):
        raise ValueError("atomic_write opens files for writing only ('w' or 'wb')")
    with atomic_path(path) as tmp:
        kwargs = {} if "b" in mode else {"encoding": encoding, "newline": newline}
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def read_text(path: str | os.PathLike) -> str:
    """A text file's contents; InputFileError naming the file when it is missing or unreadable."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError("file not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read the file ({exc})", path) from None

"""The session folder (ARCHITECTURE.md): where each thing lives, and ``mocap init``.

::

    my_session/
      session.toml    every setting, with its default (mocap init)
      calibration/    a calibration file, or board pictures (one sub-folder of images / one video per camera)
      videos/         one video per camera; the file stem is the camera name
      output/         what the stages write, each stage's manifest beside its outputs
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from mocap.errors import InputFileError, OutputError, SettingsError
from mocap.fileio import atomic_write
from mocap.session.settings import SessionSettings, default_settings, load_settings
from mocap.session.template import session_toml

CALIBRATION_SUFFIXES = (".toml", ".qca.txt", ".qca")


@dataclass(frozen=True)
class Session:
    """Paths of one session folder."""

    root: Path

    @property
    def settings_path(self) -> Path:
        return self.root / "session.toml"

    @property
    def calibration_dir(self) -> Path:
        return self.root / "calibration"

    @property
    def videos_dir(self) -> Path:
        return self.root / "videos"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    def relative(self, path: Path) -> str:
        """``path`` relative to the session folder (as manifests record it), in POSIX form."""
        path = Path(path)
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def settings(self) -> SessionSettings:
        """The validated settings of session.toml (the defaults when there is none)."""
        return load_settings(self.settings_path) if self.settings_path.is_file() else default_settings()

    def calibration_files(self) -> list[Path]:
        """Calibration files directly in calibration/ (TOML, Qualisys), calibration.toml first."""
        if not self.calibration_dir.is_dir():
            return []
        files = [p for p in self.calibration_dir.iterdir()
                 if p.is_file() and p.name.lower().endswith(CALIBRATION_SUFFIXES) and not p.name.startswith(".")
                 and not p.name.endswith("_report.json")]
        return sorted(files, key=lambda p: (p.name != "calibration.toml", p.name))


def open_session(folder: str | os.PathLike) -> Session:
    """The session at ``folder`` (InputFileError when the folder does not exist)."""
    root = Path(folder)
    if not root.is_dir():
        raise InputFileError("session folder not found" if not root.exists() else "not a folder", root)
    return Session(root.resolve())


def _place(source: Path, folder: Path) -> Path:
    """Copy ``source`` into ``folder`` (a hard link when on the same disk: videos are large)."""
    if not source.is_file():
        raise InputFileError("file not found", source)
    target = folder / source.name
    if target.exists():
        raise OutputError("already exists; remove it first or leave it out", target)
    try:
        os.link(source, target)
    except OSError:
        tmp = folder / f".{source.name}.copy"
        shutil.copy2(source, tmp)
        os.replace(tmp, target)
    return target


def init_session(folder: str | os.PathLike, *, videos=(), calibration=None, force: bool = False) -> Session:
    """Create the session layout at ``folder`` with a commented session.toml of every default.

    videos: video files to put into videos/ (one per camera; the file stem is the camera name);
    calibration: a calibration file (or several) to put into calibration/. An existing
    session.toml is kept unless ``force`` (then it is replaced by the defaults).
    """
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise OutputError("exists and is not a folder", root)
    session = Session(root)
    if session.settings_path.exists() and not force:
        raise OutputError("already holds a session.toml; mocap init --force replaces it with the defaults",
                          session.settings_path)
    sources = [Path(v) for v in videos]
    stems = [v.stem for v in sources]
    repeated = sorted({s for s in stems if stems.count(s) > 1})
    if repeated:
        raise SettingsError(f"two videos would have the same camera name {', '.join(repeated)} (the file stem)")
    try:
        for sub in (session.calibration_dir, session.videos_dir, session.output_dir):
            sub.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the session folders ({exc.strerror})", root) from exc
    for video in sources:
        _place(video, session.videos_dir)
    cal = [] if calibration is None else [calibration] if isinstance(calibration, (str, os.PathLike)) else calibration
    for file in cal:
        _place(Path(file), session.calibration_dir)
    with atomic_write(session.settings_path) as f:
        f.write(session_toml())
    return Session(root.resolve())

"""Downloading, verifying, extracting and importing models into the cache.

* **Resume**: bytes go to ``<cache>/.downloads/<file>.part``; a later try asks the server for the
  rest (``Range: bytes=N-``) and appends when it answers 206, starting over on a plain 200.
* **Checksum**: the whole file's sha256 must equal the registry's; otherwise the file is deleted
  and :class:`DownloadError` raised (nothing kept). Unpinned entries report what they got.
* **Archives** (.zip, .tar, .tar.gz, ...) are extracted into a temporary folder in the cache after
  every member was checked: absolute paths, ``..`` components, and links or special files are
  refused (:class:`UnsafeArchiveError`), so nothing can land outside the model's folder. The
  folder is then renamed into place in one step.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from mocap.errors import InputFileError, MocapError
from mocap.fileio import atomic_write
from mocap.models.registry import REGISTRY, InstalledModel, ModelEntry, cache_dir, entry_for_file, get_entry

CHUNK = 1 << 16


class DownloadError(MocapError):
    """A download failed or its checksum did not match."""


class UnsafeArchiveError(InputFileError):
    """An archive has members that would be written outside its folder."""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(url: str, dest: Path, sha256: str | None = None, progress: bool = True, timeout: float = 30) -> str:
    """Download ``url`` to ``dest`` (resuming ``dest.part``); returns the file's sha256."""
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    part.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            if have and resp.status != 206:  # the server ignored the range: start over
                have = 0
            length = resp.headers.get("Content-Length")
            total = (int(length) + have) if length else None
            with open(part, "ab" if have else "wb") as f, tqdm(total=total, initial=have, unit="B", unit_scale=True,
                                                               desc=dest.name, disable=not progress) as bar:
                while True:
                    block = resp.read(CHUNK)
                    if not block:
                        break
                    f.write(block)
                    bar.update(len(block))
            if total is not None and part.stat().st_size < total:
                raise DownloadError(f"download interrupted at {part.stat().st_size} of {total} bytes; run the "
                                    f"same command again to resume", url)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # range past the end: the part file is already complete
            pass
        else:
            raise DownloadError(f"server answered {exc.code} {exc.reason}", url) from exc
    except (urllib.error.URLError, OSError) as exc:
        if isinstance(exc, DownloadError):
            raise
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"download failed ({reason}); run the same command again to resume", url) from exc
    got = sha256_of(part)
    if sha256 and got.lower() != sha256.lower():
        part.unlink()
        raise DownloadError(f"checksum mismatch: expected sha256 {sha256}, got {got}; the file was deleted", url)
    part.replace(dest)
    return got


def _check_member(name: str, target: Path, archive: Path) -> None:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or (p.parts and p.parts[0].endswith(":")):
        raise UnsafeArchiveError(f"archive member {name!r} would be written outside the model folder; refused",
                                 archive)
    if not (target / p).resolve().is_relative_to(target.resolve()):
        raise UnsafeArchiveError(f"archive member {name!r} escapes the model folder; refused", archive)


def safe_extract(archive: Path, target: Path) -> None:
    """Extract a zip or tar ``archive`` into ``target`` after checking every member (see above)."""
    archive, target = Path(archive), Path(target)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                _check_member(info.filename, target, archive)
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise UnsafeArchiveError(f"archive member {info.filename!r} is a symbolic link; refused", archive)
            z.extractall(target)
        return
    try:
        tf = tarfile.open(archive)
    except tarfile.TarError as exc:
        raise InputFileError(f"not a zip or tar archive ({exc})", archive) from exc
    with tf:
        members = tf.getmembers()
        for m in members:
            _check_member(m.name, target, archive)
            if not (m.isfile() or m.isdir()):
                raise UnsafeArchiveError(f"archive member {m.name!r} is a link or special file; refused", archive)
        tf.extractall(target, members=members)


def _is_archive(path: Path) -> bool:
    return zipfile.is_zipfile(path) or (path.suffix != ".onnx" and tarfile.is_tarfile(path))


def _install(source: Path, entry: ModelEntry, cache: Path, sha256: str | None) -> InstalledModel:
    """Put ``source`` (an .onnx file, an archive, or a folder) into ``cache/entry.name``."""
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=cache))
    try:
        if source.is_dir():
            shutil.copytree(source, staging, dirs_exist_ok=True)
        elif _is_archive(source):
            safe_extract(source, staging)
        else:
            shutil.copy2(source, staging / (source.name if source.suffix == ".onnx" else f"{entry.name}.onnx"))
        found = sorted(staging.rglob(entry.onnx_file)) or sorted(staging.rglob("*.onnx"))
        if not found:
            raise InputFileError(f"no ONNX file ({entry.onnx_file}) inside", source)
        onnx_path = found[0]
        _check_onnx(onnx_path, source)
        record = {"entry": entry.to_json(), "onnx": onnx_path.relative_to(staging).as_posix(), "sha256": sha256}
        with atomic_write(staging / "model.json") as f:
            json.dump(record, f, indent=2)
        final = cache / entry.name
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
        return InstalledModel(entry, final, final / record["onnx"])
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _check_onnx(path: Path, source: Path) -> None:
    """Refuse a file that ONNX Runtime cannot load (checked once, on the CPU)."""
    import onnxruntime as ort

    try:
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise InputFileError(f"{path.name} is not a loadable ONNX model ({first})", source) from exc


def pull(name: str, cache: Path | None = None, registry: dict[str, ModelEntry] | None = None,
         progress: bool = True) -> tuple[InstalledModel, str]:
    """Download registry model ``name`` into the cache; returns (model, sha256 of the download)."""
    entry = get_entry(name, registry if registry is not None else REGISTRY)
    if not entry.url:
        raise DownloadError(f"model {name!r} has no download URL; use `mocap models import PATH --name {name}`")
    cache = Path(cache) if cache else cache_dir()
    file_name = entry.url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or f"{name}.bin"
    dest = cache / ".downloads" / file_name
    got = download(entry.url, dest, entry.sha256, progress)
    try:
        model = _install(dest, entry, cache, got)
    finally:
        dest.unlink(missing_ok=True)
    return model, got


def import_model(path, name: str, kind: str = "pose", input_size=None, cache: Path | None = None) -> InstalledModel:
    """Copy a local model (``.onnx``, archive, or mmdeploy folder) into the cache as ``name``.

    The registry entry called ``name`` describes it when there is one; otherwise a new entry with
    ``kind`` and the input size the model declares (or ``input_size``)."""
    path = Path(path)
    if not path.exists():
        raise InputFileError("model file not found", path)
    if name in REGISTRY:
        entry = REGISTRY[name]
    else:
        entry = entry_for_file(path, name, kind, input_size, licence="unknown (imported)")
    return _install(path, entry, Path(cache) if cache else cache_dir(), None)

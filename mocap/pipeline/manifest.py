"""Stage manifests: what a stage read, with which settings and code, what it wrote, and whether it finished.

Each stage keeps ``output/<stage>.manifest.json`` beside its outputs::

    {"stage": "filter", "status": "done",          # or "running", "failed", "interrupted"
     "key": "<sha256 of stage, code, settings and input digests>",
     "code": "<sha256 of the stage's source files>", "version": "0.1.0",
     "settings": {"filter": {...}}, "facts": {...},   # facts: e.g. the cameras' names
     "inputs":  {"output/pose3d.npz": {"size": ..., "mtime_ns": ..., "sha256": "..."}},
     "outputs": {"output/pose3d_filtered.npz": {...}},
     "started": "...", "finished": "...", "seconds": 0.4,
     "summary": "...", "warnings": [...], "error": null}

A stage is up to date when its manifest says "done", its key equals the key computed now, and its
outputs are still the files it wrote. Digests are of content: a ``.npz`` is digested member by
member on its uncompressed bytes (numpy's zip entries carry the time they were written, so two
runs writing the same arrays give different bytes but the same digest); other files byte for byte.
A file whose size and modification time equal those a manifest recorded is not read again.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from mocap.fileio import atomic_write

MANIFEST_SUFFIX = ".manifest.json"
_CHUNK = 1 << 20


def content_digest(path: Path) -> str:
    """sha256 of the file's content (of the uncompressed members for .npz, see the module docstring)."""
    h = hashlib.sha256()
    if path.suffix == ".npz":
        try:
            with zipfile.ZipFile(path) as z:
                for name in sorted(z.namelist()):
                    h.update(name.encode() + b"\0")
                    with z.open(name) as member:
                        while block := member.read(_CHUNK):
                            h.update(block)
            return "npz:" + h.hexdigest()
        except zipfile.BadZipFile:
            h = hashlib.sha256()  # not a zip after all: digest its bytes
    with open(path, "rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


class Digests:
    """Content digests of files, reusing those manifests recorded for files that did not change."""

    def __init__(self, root: Path):
        self.root = root
        self._known: dict[str, tuple[int, int, str]] = {}

    def learn(self, records: dict) -> None:
        for rel, r in records.items():
            self._known[rel] = (r["size"], r["mtime_ns"], r["sha256"])

    def record(self, rel: str) -> dict:
        """{"size", "mtime_ns", "sha256"} of the session file ``rel``."""
        path = self.root / rel
        st = path.stat()
        known = self._known.get(rel)
        if known and known[0] == st.st_size and known[1] == st.st_mtime_ns:
            digest = known[2]
        else:
            digest = content_digest(path)
            self._known[rel] = (st.st_size, st.st_mtime_ns, digest)
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}

    def unchanged(self, rel: str, recorded: dict) -> bool:
        """Whether the session file ``rel`` still holds what ``recorded`` describes."""
        path = self.root / rel
        if not path.is_file():
            return False
        st = path.stat()
        if st.st_size == recorded["size"] and st.st_mtime_ns == recorded["mtime_ns"]:
            return True
        return self.record(rel)["sha256"] == recorded["sha256"]


_CODE_DIGESTS: dict = {}


def code_root() -> Path:
    """The project root: where the source files a stage's code digest covers are found."""
    import mocap

    return Path(mocap.__file__).resolve().parents[1]



def code_digest(root: Path, parts) -> str:
    """sha256 of the source files of ``parts`` (files or packages, relative to the project root).

    Computed once per process: the code a process runs is the code it loaded, even when the files
    change under it."""
    key = (root, tuple(parts))
    if key not in _CODE_DIGESTS:
        _CODE_DIGESTS[key] = _code_digest(root, parts)
    return _CODE_DIGESTS[key]


def _code_digest(root: Path, parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        path = root / part
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if file.is_file():
                h.update(file.relative_to(root).as_posix().encode() + b"\0" + file.read_bytes())
    return h.hexdigest()


def stage_key(stage: str, code: str, settings: dict, inputs: dict) -> str:
    payload = {"stage": stage, "code": code, "settings": settings,
               "inputs": {rel: r["sha256"] for rel, r in sorted(inputs.items())}}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Manifest:
    stage: str
    status: str = "missing"
    key: str = ""
    code: str = ""
    version: str = ""
    settings: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    started: str | None = None
    finished: str | None = None
    seconds: float | None = None
    summary: str = ""
    warnings: list = field(default_factory=list)
    error: str | None = None

    @staticmethod
    def path(output_dir: Path, stage: str) -> Path:
        return output_dir / f"{stage}{MANIFEST_SUFFIX}"

    @classmethod
    def read(cls, output_dir: Path, stage: str) -> "Manifest":
        """The stage's manifest, or an empty one (status "missing") when there is none or it is unreadable."""
        try:
            data = json.loads(cls.path(output_dir, stage).read_text(encoding="utf-8"))
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except (OSError, ValueError, TypeError):
            return cls(stage)

    def write(self, output_dir: Path) -> Path:
        path = self.path(output_dir, self.stage)
        with atomic_write(path) as f:
            json.dump(self.__dict__, f, indent=1, sort_keys=False, default=str)
        return path

"""The contracts' ``.npz`` files read and written a stretch of time at a time, so that a stage's
memory does not grow with the session's length.

The files are the ones :meth:`mocap.data.Keypoints2D.save` and friends write (numpy's ``.npz``:
one ``.npy`` member per field, deflated), and stay readable by their ``load``.

* :class:`TimeReader` reads frames ``[t0, t1)`` of every array that has a time axis, streaming
  from the zip: an array whose time axis is not the first (``Keypoints2D.xy`` is (C, T, ...)) is
  read through one decompressing stream per camera, each only ever moving forward, so the whole
  file is decompressed about (C + 1) / 2 times in all and never held.
* :class:`TimeWriter` appends frames to one raw temporary file per array (the page cache holds
  them, not the process), and on :meth:`~TimeWriter.close` streams each into its member of the
  ``.npz``, which then replaces the target in one rename.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import numpy.lib.format as npy

from mocap.errors import InputFileError
from mocap.fileio import atomic_path

_BLOCK = 1 << 24
STATIC_MAX = 4096  # elements: the untimed fields read whole (names, sizes, rates)


def _header(stream):
    version = npy.read_magic(stream)
    shape, fortran, dtype = npy.read_array_header_1_0(stream) if version == (1, 0) else \
        npy.read_array_header_2_0(stream)
    if fortran:
        raise ValueError("Fortran-ordered arrays are not read by time")
    return shape, np.dtype(dtype), stream.tell()


class TimeReader:
    """Frames of a contract ``.npz`` by time: ``reader.read(t0, t1)`` -> {field: array}.

    ``time_axis`` maps each field with a time axis to that axis (0 or 1); every other small field
    (names, image sizes, rates: up to :data:`STATIC_MAX` values) is read whole once
    (:attr:`static`), and other large ones are not read.
    """

    def __init__(self, path: str | os.PathLike, time_axis: dict[str, int]):
        self.path = Path(path)
        if not self.path.is_file():
            raise InputFileError("file not found", self.path)
        try:
            self._zip = zipfile.ZipFile(self.path)
            names = set(self._zip.namelist())
        except (OSError, zipfile.BadZipFile) as exc:
            raise InputFileError(f"not a readable .npz file ({exc})", self.path) from exc
        self.static, self._streams, self.shapes = {}, {}, {}
        for name in sorted(names):
            field = name[:-4] if name.endswith(".npy") else name
            with self._zip.open(name) as f:
                shape, dtype, offset = _header(f)
            if field not in time_axis:
                if int(np.prod(shape)) <= STATIC_MAX:  # names, rates, tags; a big untimed array is not read
                    with self._zip.open(name) as f:
                        self.static[field] = np.lib.format.read_array(f, allow_pickle=False)
                continue
            axis = time_axis[field]
            self.shapes[field] = (shape, dtype, axis, offset)
        self.n_frames = next(iter(s[0][s[2]] for s in self.shapes.values()), 0)
        self._next = 0

    def check_kind(self, contract) -> None:
        """InputFileError unless the file holds ``contract`` (its ``kind`` tag), as ``contract.load`` says."""
        kind = str(self.static.get("kind", ""))
        if kind != contract._kind:
            raise InputFileError(f"holds {kind or 'unknown data'!r}, expected {contract._kind!r}", self.path)

    def _open(self, field: str):
        """One stream per block before the time axis, each at its block's first frame."""
        shape, dtype, axis, offset = self.shapes[field]
        blocks = int(np.prod(shape[:axis])) if axis else 1
        row = int(np.prod(shape[axis + 1:])) * dtype.itemsize
        streams = []
        for b in range(blocks):
            f = self._zip.open(f"{field}.npy")
            f.seek(offset + b * shape[axis] * row)
            streams.append(f)
        self._streams[field] = (streams, row)

    def read(self, t0: int, t1: int) -> dict:
        """Frames ``t0`` to ``t1`` (exclusive) of every timed field; calls must move forward in time."""
        if t0 != self._next:
            raise ValueError(f"TimeReader reads forward only: expected frame {self._next}, got {t0}")
        out = {}
        for field, (shape, dtype, axis, _) in self.shapes.items():
            if field not in self._streams:
                self._open(field)
            streams, row = self._streams[field]
            size = shape[:axis] + (t1 - t0,) + shape[axis + 1:]
            parts = [np.frombuffer(s.read(row * (t1 - t0)), dtype=dtype) for s in streams]
            out[field] = np.stack(parts).reshape(size) if parts else np.zeros(size, dtype)
        self._next = t1
        return out

    def close(self) -> None:
        for streams, _ in self._streams.values():
            for s in streams:
                s.close()
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_by_time(path: str | os.PathLike, contract, time_axis: dict[str, int], chunk: int):
    """Yield (t0, contract object of frames t0 .. t0 + chunk) over the whole file."""
    with TimeReader(path, time_axis) as reader:
        reader.check_kind(contract)
        for t0 in range(0, reader.n_frames, chunk):
            t1 = min(t0 + chunk, reader.n_frames)
            yield t0, contract.from_arrays({**reader.static, **reader.read(t0, t1)}, path)


class TimeWriter:
    """Build a contract ``.npz`` frame range by frame range (see the module docstring)."""

    def __init__(self, path: str | os.PathLike, kind: str, n_frames: int):
        self.path, self.kind, self.n_frames = Path(path), kind, n_frames
        self._tmp = tempfile.TemporaryDirectory(prefix=".chunks_", dir=self.path.parent)
        self._files: dict[str, tuple] = {}  # field -> (file, dtype, per-frame shape, axis, blocks)
        self.static: dict = {}

    def append(self, arrays: dict, time_axis: dict[str, int]) -> None:
        """Frames of the timed fields (each in its own time axis), in order."""
        for name, value in arrays.items():
            value = np.ascontiguousarray(value)
            axis = time_axis[name]
            if name not in self._files:
                blocks = value.shape[:axis]
                files = [open(Path(self._tmp.name) / f"{name}.{b}", "wb") for b in range(int(np.prod(blocks)))]
                self._files[name] = (files, value.dtype, value.shape[axis + 1:], axis, blocks)
            files, dtype, _, _, blocks = self._files[name]
            per_block = value.reshape((len(files),) + value.shape[axis:])
            for f, part in zip(files, per_block):
                f.write(np.ascontiguousarray(part, dtype=dtype).tobytes())

    def discard(self) -> None:
        """Drop what was appended (after an error): nothing is written."""
        for files, *_ in self._files.values():
            for f in files:
                f.close()
        self._tmp.cleanup()

    def close(self) -> Path:
        """Write the ``.npz`` (timed fields, then :attr:`static`, then the kind tag) and clean up."""
        try:
            with atomic_path(self.path, suffix=".npz") as tmp:
                with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as z:
                    z.writestr("kind.npy", _npy_bytes(np.array(self.kind)))
                    for name, (files, dtype, rest, axis, blocks) in self._files.items():
                        shape = tuple(blocks) + (self.n_frames,) + tuple(rest)
                        with z.open(f"{name}.npy", "w", force_zip64=True) as member:
                            npy.write_array_header_1_0(member, {"descr": npy.dtype_to_descr(dtype),
                                                                "fortran_order": False, "shape": shape})
                            for f in files:
                                f.close()
                                with open(f.name, "rb") as raw:
                                    while block := raw.read(_BLOCK):
                                        member.write(block)
                    for name, value in self.static.items():
                        value = np.array(value, dtype=str) if isinstance(value, tuple) else np.asarray(value)
                        z.writestr(f"{name}.npy", _npy_bytes(value))
        finally:
            for files, *_ in self._files.values():
                for f in files:
                    with contextlib.suppress(OSError):
                        f.close()
            self._tmp.cleanup()
        return self.path


def _npy_bytes(value) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(value), allow_pickle=False)
    return buffer.getvalue()

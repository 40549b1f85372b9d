"""Cameras: devices, stream URLs and video files standing in for cameras, for ``mocap record`` and
``mocap live``.

One mechanism for what both need, each policy on top where it is used:

* what a spec names (:func:`kind_of`, :func:`default_name`; :mod:`mocap.cameras.spec`);
* opening: :func:`open_source` opens one, :func:`open_all` several at once (each in its own
  thread; none is left open when one fails). OpenCV's FFmpeg backend opens one stream at a time
  (a lock of its own, unless ``OPENCV_FFMPEG_IS_THREAD_SAFE=1``), so silent streams cost their
  time-outs one after another; devices and files open alongside. A
  device or stream (:class:`Camera`) must deliver a first frame within ``timeout`` seconds; a
  file (:class:`VideoFile`) must be a readable video. Failures raise one ``InputFileError``
  naming the spec;
* one clock for capture times: ``time.monotonic_ns()`` (:class:`Frame`; a :class:`Clock`
  converts to Unix seconds at the edge that needs them; :mod:`mocap.cameras.frame`);
* grabbing: a camera's frame is stamped at the middle of its grab (:mod:`mocap.cameras.device`);
* a video file plays at its rate on its schedule, frames numbered as in the file
  (:mod:`mocap.cameras.video_file`).

The policies: ``mocap record`` (:mod:`mocap.record.recorder`) takes every frame, a file's with a
small buffer for a late reader, and reopens a failed camera; ``mocap live``
(:mod:`mocap.live.cameras`) keeps each camera's newest frame and plays files on one shared
clock, slipping it when decoding falls behind.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from mocap.cameras.device import Camera
from mocap.cameras.frame import Clock, Frame
from mocap.cameras.spec import default_name, kind_of
from mocap.cameras.video_file import VideoFile
from mocap.errors import InputFileError

__all__ = ["Camera", "Clock", "Frame", "VideoFile", "default_name", "kind_of", "open_all", "open_source"]


def open_source(spec, *, fps: float | None = None, size=None, timeout: float = 10.0, loop: bool = False,
                name: str | None = None, position: int = 0) -> Camera | VideoFile:
    """The camera or video file ``spec`` names, opened (module doc). ``fps``: the rate asked of a
    camera, or the rate a file plays at (default its own); ``size`` (width, height) is asked of
    cameras; ``loop`` restarts a file at its end; ``name`` defaults to
    ``default_name(spec, position)``."""
    spec = str(spec)
    name = name or default_name(spec, position)
    if kind_of(spec) == "file":
        if not Path(spec).is_file():
            raise InputFileError("not a camera index, a stream URL or an existing video file", spec)
        return VideoFile(spec, fps=fps, loop=loop, name=name)
    return Camera(spec, fps=fps, size=size, timeout=timeout, name=name).open()


def open_all(specs, *, names=None, timeout: float = 10.0, **options) -> list:
    """:func:`open_source` for every spec at once (``names``: one each, default theirs); when any
    fails, the others are closed and the first error is raised. A source still opening
    ``timeout + 30`` seconds on (a driver that hangs) fails with its spec named."""
    specs = [str(s) for s in specs]
    names = list(names) if names else [None] * len(specs)
    results: list = [None] * len(specs)
    lock, given_up = threading.Lock(), threading.Event()

    def work(i):
        try:
            source = open_source(specs[i], timeout=timeout, name=names[i], position=i, **options)
        except Exception as exc:  # re-raised below in the caller's thread
            results[i] = exc
            return
        with lock:
            if given_up.is_set():  # opened after the caller stopped waiting for it
                source.close()
            else:
                results[i] = source

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(specs))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout + 30
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    with lock:
        given_up.set()
        opened = [r for r in results if isinstance(r, (Camera, VideoFile))]
    if len(opened) < len(specs):
        for r in opened:
            r.close()
        first = next((r for r in results if isinstance(r, BaseException)), None)
        if first is not None:
            raise first
        hung = specs[results.index(None)]
        raise InputFileError(f"did not open within {timeout + 30:g} s", hung)
    return results

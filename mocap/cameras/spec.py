"""What a camera spec names: a device, a stream, or a video file standing in for a camera.

``kind_of``: digits or ``/dev/...`` are a device (``0``, ``/dev/video2``), ``scheme://...`` a
stream URL (``rtsp://``, ``http://`` ...), anything else a video file. ``default_name``: the
camera's name (a file stem everywhere it is used): ``cam<digits>`` for a device, ``stream<position>``
for a stream (a URL's last part is often ``stream`` or ``video`` for every camera, or holds
characters a file name cannot), the file's stem for a file.
"""

from __future__ import annotations

import re
from pathlib import Path


def kind_of(spec) -> str:
    spec = str(spec)
    if spec.isdigit() or spec.startswith("/dev/"):
        return "device"
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", spec):
        return "stream"
    return "file"


def default_name(spec, position: int) -> str:
    spec = str(spec)
    kind = kind_of(spec)
    if kind == "device":
        return f"cam{re.sub(r'[^0-9]', '', spec) or position}"
    if kind == "stream":
        return f"stream{position}"
    return Path(spec).stem

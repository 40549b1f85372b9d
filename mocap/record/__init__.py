"""Recording several cameras (devices, stream URLs, or video files standing in for cameras).

:func:`record` (``mocap.api.record``, ``mocap record``) writes ``videos/<cam>.mp4``,
``videos/<cam>_timestamps.csv`` (frame, monotonic nanoseconds at the middle of the grab) and
``videos/record.json`` (per camera: frames, dropped, duplicated, failures).
:mod:`mocap.record.timestamps` reads the timestamps back and puts frames on their frame periods,
which :mod:`mocap.sync` uses.
"""

from mocap.record.recorder import CODECS, CameraReport, RecordResult, record  # noqa: F401
from mocap.record.timestamps import count_dropped, frame_slots, read_timestamps, timestamps_path  # noqa: F401

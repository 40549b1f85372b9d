"""Camera synchronization: frame offsets from recorded timestamps, audio, or 2D keypoint motion.

Public API (what ``mocap sync`` and the session runner use):

* :func:`sync_session` (``mocap.api.sync``): measure and write ``output/sync.toml``
  (:func:`measure_sync`: measure only);
* :func:`load_sync`: read it back (a session folder or the file) as a :class:`SyncResult`;
  ``result.start_frames`` (each video's first synchronized frame), ``result.steps(stride)``
  (the common timeline, what ``Keypoints2D.frame_index`` holds) and
  ``result.source_frames(camera, steps)`` (each camera's own frame of each step, with drift and
  dropped frames) are what a stage reading the videos needs;
* :func:`apply_sync`: put 2D keypoints of unsynchronized videos on the common timeline;
* :func:`first_available`: the first method a session allows (what ``auto`` picks from).

The format of sync.toml and the meaning of every number are in :mod:`mocap.sync.result`.
"""

from mocap.sync.apply import apply_sync  # noqa: F401
from mocap.sync.result import CameraSync, SyncResult, load_sync, save_sync  # noqa: F401
from mocap.sync.session import AUTO_ORDER, METHODS, first_available, measure_sync, sync_session  # noqa: F401

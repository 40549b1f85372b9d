"""Live streaming: ``mocap live`` sends frames to the Blender add-on and/or VMC receivers.

Sources: ``--replay`` a recorded result (:mod:`mocap.live.replay`), or cameras run through the
live pipeline (:mod:`mocap.live.pipeline`: 2D -> 3D -> one-euro -> retarget, newest frames only).
Outputs: the add-on's stream (:class:`StreamSender`, the wire protocol of
:mod:`blender_addon.protocol`) and VMC (:class:`VMCSender`, OSC over UDP).
:func:`live` is the verb as one call (``mocap.api.live``).
"""

from __future__ import annotations

from dataclasses import dataclass

from mocap.errors import SettingsError
from mocap.live.frames import LiveFrame, LiveSkeleton  # noqa: F401
from mocap.live.sender import StreamSender, parse_address
from mocap.live.vmc import MARIONETTE_PORT, VMCSender

__all__ = ["live", "LiveResult", "LiveFrame", "LiveSkeleton", "StreamSender", "VMCSender", "parse_address"]


@dataclass
class LiveResult:
    stats: object  # ReplayStats or LiveStats
    outputs: list  # what each output says about itself (frames sent / dropped)


def make_outputs(send=None, vmc=None) -> list:
    """The outputs for ``--send HOST:PORT`` and ``--vmc HOST:PORT`` (the add-on's stream when neither is given)."""
    outputs = []
    if send is not None or vmc is None:
        outputs.append(StreamSender(*parse_address(send or "")))
    if vmc is not None:
        outputs.append(VMCSender(*parse_address(vmc, MARIONETTE_PORT)))
    return outputs


def live(*, replay=None, cameras=None, calibration=None, send=None, vmc=None, person: int = 0, rig: str = "default",
         keypoints: bool = True, fps: float | None = None, loop: bool = False, max_frames: int | None = None,
         duration: float | None = None, backend: str = "mediapipe", model=None, detector=None, device: str = "auto",
         one_euro=(1.0, 0.5), calibration_frames: int = 15, timeout: float = 10.0, progress: bool = True,
         stop=None) -> LiveResult:
    """Stream a replay (``replay``: pose3d.npz / motion.npz) or cameras (``cameras``: device
    indices, stream URLs, video files, with ``calibration``) to ``send`` / ``vmc`` addresses.
    ``timeout``: seconds a camera or stream may take to deliver its first frame."""
    if (replay is None) == (not cameras):
        raise SettingsError("give either --replay FILE or --cameras SOURCE ... (with --calibration)")
    if max_frames is not None and max_frames < 1:
        raise SettingsError(f"--frames must be at least 1, got {max_frames}")
    if replay is not None:
        from mocap.live.replay import load_take
        from mocap.live.replay import replay as run_replay

        take = load_take(replay, person=person, rig=rig, keypoints=keypoints)
        outputs = make_outputs(send, vmc)
        try:
            stats = run_replay(take, outputs, fps=fps, loop=loop, max_frames=max_frames, duration=duration,
                               progress=progress, stop=stop)
        finally:
            for out in outputs:
                out.close()
        return LiveResult(stats, [out.describe() for out in outputs])

    from mocap.api import load_calibration, match_cameras
    from mocap.live.cameras import open_sources
    from mocap.live.pipeline import run_cameras
    from mocap.pose2d import make_backend

    if calibration is None:
        raise SettingsError("--cameras needs --calibration CAL (the cameras' calibration file)")
    if len(cameras) < 2:
        raise SettingsError("live triangulation needs at least two cameras")
    if not timeout > 0:
        raise SettingsError(f"--timeout must be positive seconds, got {timeout}")
    group = load_calibration(calibration)
    sources = open_sources(cameras, loop=loop, timeout=timeout)
    try:
        group = match_cameras(group, [s.name for s in sources], calibration)
        pose = make_backend(backend, model, detector, device)
        outputs = make_outputs(send, vmc)
        try:
            stats = run_cameras(sources, group, outputs, pose, fps=fps, one_euro=one_euro, rig=rig,
                                calibration_frames=calibration_frames, keypoints=keypoints, max_frames=max_frames,
                                duration=duration, progress=progress, stop=stop)
        finally:
            for out in outputs:
                out.close()
            if hasattr(pose, "close"):
                pose.close()
    finally:
        for s in sources:
            s.close()
    return LiveResult(stats, [out.describe() for out in outputs])

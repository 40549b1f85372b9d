"""The live receiver in Blender: a timer drains the socket and poses armatures with the newest frame.

:func:`start` opens a :class:`.receiver.Receiver` and registers :func:`tick` with
``bpy.app.timers`` (every 4 ms). Each tick:

1. polls the receiver for at most ``budget`` seconds (2 ms): every message waiting is decoded,
   nothing is left to pile up between ticks, and Blender is never held longer than that plus
   one pose;
2. for each subject applies only its **newest** frame (:class:`.rig.Poser`: one
   ``foreach_set`` for all bones) to the chosen armature (subject 0), or to an armature it
   builds from the stream's rest pose on the first frame (``mocap_live``, ``mocap_live_1`` ...;
   rebuilt when a different skeleton arrives). Bones the armature lacks are skipped and
   counted (``missing_bones``);
3. with ``show_keypoints``, moves a point object (``mocap_live_points``: a vertex per keypoint,
   the layout's bones as edges) to the raw keypoints a frame carries (missing ones stay put);
4. when recording, keeps every frame received (not only the applied ones); :func:`stop` keys
   them into an action at their capture times: scene frame
   ``frame_start + (timestamp - first timestamp) * scene fps`` (to a thousandth of a frame).

With ``set_fps`` the scene takes the stream's frame rate (from the message headers).
:func:`tick` is a plain function, so tests call it directly (timers do not fire while a
background-mode script is busy). The status line (:func:`status`) shows frames/s received, the
age and latency of the last frame, and the problem counters.
"""

from __future__ import annotations


import bpy
import numpy as np

from . import rig, tables
from .receiver import COUNTERS, Receiver

INTERVAL = 0.004
LIVE_NAME = "mocap_live"


class LiveSession:
    def __init__(self, scene, host: str, port: int, *, allow_remote: bool = False, target=None,
                 record: bool = False, set_fps: bool = True, show_keypoints: bool = True, budget: float = 0.002):
        self.scene_name = scene.name
        self.receiver = Receiver(host, port, allow_remote=allow_remote).start()
        self.target_name = target.name if target is not None else None
        self.record, self.set_fps, self.budget = record, set_fps, budget
        self.show_keypoints = show_keypoints
        self._points: dict[int, np.ndarray] = {}  # subject -> last keypoint positions shown
        self.posers: dict[int, rig.Poser] = {}
        self.recorded: dict[int, list] = {}
        self.counts = {"frames_applied": 0, "frames_superseded": 0, "missing_bones": 0}
        self.fps_set = False

    @property
    def scene(self):
        return bpy.data.scenes.get(self.scene_name)

    def _armature(self, subject: int, skel):
        """The armature of ``subject``, built from ``skel`` when there is none yet."""
        if subject == 0 and self.target_name is not None:
            obj = bpy.data.objects.get(self.target_name)
            if obj is not None and obj.type == "ARMATURE":
                return obj
        name = LIVE_NAME if subject == 0 else f"{LIVE_NAME}_{subject}"
        obj = bpy.data.objects.get(name)
        if obj is None or obj.type != "ARMATURE":
            obj = rig.new_armature(name, skel.joint_names, skel.parents, skel.offsets, self.scene.collection)
        elif "mocap_live_skeleton" in obj and obj["mocap_live_skeleton"] != str(skel.id):
            rig.set_rest(obj, skel.joint_names, skel.parents, skel.offsets)  # built by a live session: rebuild
        obj["mocap_live_skeleton"] = str(skel.id)
        return obj

    def _poser(self, frame) -> rig.Poser:
        subject, skel = frame.pose.subject, frame.skeleton
        poser = self.posers.get(subject)
        try:  # the user may have deleted the armature meanwhile
            alive = poser is not None and poser.obj.name in bpy.data.objects
        except ReferenceError:
            alive = False
        if not alive or poser.skeleton_id != skel.id:
            poser = rig.Poser(self._armature(subject, skel), skel)
            self.posers[subject] = poser
            self.counts["missing_bones"] = sum(len(p.missing) for p in self.posers.values())
        return poser

    def tick(self) -> None:
        result = self.receiver.poll(self.budget)
        if not result.frames:
            return
        if self.set_fps and not self.fps_set and result.frames[-1].header.fps > 0:
            fps = result.frames[-1].header.fps
            render = self.scene.render
            render.fps = max(1, int(round(fps)))
            render.fps_base = render.fps / fps
            self.fps_set = True
        self.counts["frames_superseded"] += len(result.frames) - len(result.newest)
        for subject, frame in result.newest.items():
            self._poser(frame).apply(frame.pose)
            self.counts["frames_applied"] += 1
            if self.show_keypoints and frame.pose.keypoints is not None:
                self._show_points(subject, frame)
        if self.record:
            for frame in result.frames:
                self.recorded.setdefault(frame.pose.subject, []).append(frame)

    def _show_points(self, subject: int, frame) -> None:
        kp = frame.pose.keypoints
        name = f"{LIVE_NAME}_points" if subject == 0 else f"{LIVE_NAME}_points_{subject}"
        obj = bpy.data.objects.get(name)
        if obj is None or obj.type != "MESH" or len(obj.data.vertices) != len(kp):
            names = frame.skeleton.keypoint_names
            bones = tables.keypoint_bones(tables.WHOLEBODY, len(kp))
            if tables.keypoint_names(tables.WHOLEBODY, len(kp)) != names:
                bones = []
            mesh = bpy.data.meshes.new(name)
            mesh.from_pydata(np.zeros((len(kp), 3)).tolist(), bones, [])
            obj = bpy.data.objects.new(name, mesh)
            self.scene.collection.objects.link(obj)
            self._points[subject] = np.zeros((len(kp), 3))
        shown = self._points.setdefault(subject, np.zeros((len(kp), 3)))
        found = np.isfinite(kp).all(-1)
        shown[found] = kp[found]
        obj.data.vertices.foreach_set("co", shown.astype(np.float32).ravel())
        obj.data.update()

    def status(self) -> str:
        line = self.receiver.status()
        if self.counts["missing_bones"]:
            line += f", {self.counts['missing_bones']} bones missing in the armature"
        if self.record:
            line += f", recording {sum(len(v) for v in self.recorded.values())} frames"
        return line

    def counters(self) -> dict:
        return {**self.receiver.counts, **self.counts, "frames_received": self.receiver.frames_received}

    def write_recordings(self) -> list:
        """Key every recorded frame into an action per subject; returns the actions."""
        scene, actions = self.scene, []
        fps = scene.render.fps / scene.render.fps_base
        for subject, frames in self.recorded.items():
            poser = self.posers.get(subject)
            if poser is None or not frames:
                continue
            skel = frames[-1].skeleton
            frames = [f for f in frames if f.skeleton.id == skel.id]
            times = np.array([f.header.timestamp for f in frames])
            order = np.argsort(times, kind="stable")
            times = times[order]
            # To a thousandth of a frame: Unix timestamps in float64 carry ~1e-7 s of rounding.
            keys = scene.frame_start + np.round((times - times[0]) * fps, 3)
            rotations = np.stack([frames[i].pose.rotations for i in order])
            roots = np.stack([frames[i].pose.root for i in order])
            actions.append(rig.key_motion(poser.obj, f"{poser.obj.name}_take", skel.joint_names, skel.parents, keys,
                                          roots, rotations))
            scene.frame_end = max(scene.frame_end, int(np.ceil(keys[-1])))
        self.recorded.clear()
        return actions

    def close(self) -> list:
        try:
            return self.write_recordings()
        finally:
            self.receiver.stop()


_session: LiveSession | None = None


def session() -> LiveSession | None:
    return _session


def tick():
    """The timer callback: one :meth:`LiveSession.tick`, then redraw the panels showing status."""
    if _session is None:
        return None
    try:
        _session.tick()
    except Exception as exc:  # never let a timer die silently: stop and say why
        print(f"mocap live: stopped ({exc!r})")
        stop()
        return None
    wm = bpy.context.window_manager
    for window in (wm.windows if wm is not None else ()):
        for area in window.screen.areas:
            if area.type == "VIEW_3D":  # the sidebar's status line
                area.tag_redraw()
    return INTERVAL


def start(scene, **settings) -> LiveSession:
    """Start receiving (see :class:`LiveSession` for the settings); raises OSError / PermissionError."""
    global _session
    stop()
    _session = LiveSession(scene, **settings)
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=0.0)
    return _session


def stop() -> list:
    """Stop receiving; returns the recorded actions it keyed."""
    global _session
    current, _session = _session, None
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
    return current.close() if current is not None else []


def status() -> str:
    return _session.status() if _session is not None else "stopped"


__all__ = ["LiveSession", "start", "stop", "tick", "status", "session", "COUNTERS"]

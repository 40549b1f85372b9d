"""Operators, settings and the sidebar panel (bpy); :func:`register` / :func:`unregister`.

File → Import gains "mocap 3D keypoints", "mocap motion", "mocap SMPL-X fit" and "mocap session";
the 3D viewport's sidebar gets a *mocap* tab with the same imports and the live receiver: address
(``127.0.0.1`` and a fixed default port; another interface only with *Allow remote senders*,
shown in red while set), target armature, recording, start / stop and the status line.
"""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, PointerProperty, StringProperty

from . import importers, live, readers
from .protocol import DEFAULT_PORT
from .receiver import is_loopback

_DISPLAY = [("EMPTIES", "Empties", "One empty per keypoint and person"),
            ("POINTS", "Point object", "One mesh per person: a vertex per keypoint, the bones as edges")]


def _run(op, fn, *args, **kwargs):
    try:
        _, message = fn(*args, **kwargs)
    except readers.FileProblem as exc:
        op.report({"ERROR"}, str(exc))
        return {"CANCELLED"}
    op.report({"INFO"}, message)
    return {"FINISHED"}


class _ImportCommon:
    """What every import operator has: the scene's rate and range, and a file browser on invoke."""

    set_fps: BoolProperty(name="Set Scene Frame Rate", default=True,
                          description="Set the scene's frame rate and range to the file's (else report them)")
    frame_start: IntProperty(name="Start Frame", default=1, description="Scene frame of the file's first frame")

    def invoke(self, context, event):
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}


class _FileImport(_ImportCommon):
    filepath: StringProperty(name="File Path", subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.npz", options={"HIDDEN"})


class MOCAP_OT_import_pose3d(bpy.types.Operator, _FileImport):
    """Import mocap 3D keypoints (pose3d.npz) as empties or point objects"""
    bl_idname = "import_scene.mocap_pose3d"
    bl_label = "Import mocap 3D keypoints"
    bl_options = {"REGISTER", "UNDO"}
    display: EnumProperty(name="Display", items=_DISPLAY, default="EMPTIES")

    def execute(self, context):
        return _run(self, importers.import_keypoints, context, self.filepath, display=self.display,
                    set_fps=self.set_fps, frame_start=self.frame_start)


class MOCAP_OT_import_motion(bpy.types.Operator, _FileImport):
    """Import a mocap motion (motion.npz) as an armature with its action"""
    bl_idname = "import_scene.mocap_motion"
    bl_label = "Import mocap motion"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        return _run(self, importers.import_motion, context, self.filepath, set_fps=self.set_fps,
                    frame_start=self.frame_start)


class MOCAP_OT_import_smplx(bpy.types.Operator, _FileImport):
    """Import an SMPL-X fit (mocap retarget --smplx-model, or AMASS) as an armature, and the mesh with the model file"""
    bl_idname = "import_scene.mocap_smplx"
    bl_label = "Import SMPL-X fit"
    bl_options = {"REGISTER", "UNDO"}
    model_path: StringProperty(name="SMPL-X Model", subtype="FILE_PATH",
                               description="SMPLX_NEUTRAL.npz (or its folder); empty: $MOCAP_SMPLX_MODEL, "
                                           "else a template skeleton without mesh")
    with_mesh: BoolProperty(name="Mesh", default=True, description="Add the shaped mesh, skinned to the armature")

    def execute(self, context):
        return _run(self, importers.import_smplx, context, self.filepath, model_path=self.model_path,
                    with_mesh=self.with_mesh, set_fps=self.set_fps, frame_start=self.frame_start)


class MOCAP_OT_import_session(bpy.types.Operator, _ImportCommon):
    """Import the newest results of a mocap session folder (keypoints, motion, SMPL-X fit, cameras)"""
    bl_idname = "import_scene.mocap_session"
    bl_label = "Import mocap session"
    bl_options = {"REGISTER", "UNDO"}
    directory: StringProperty(name="Session Folder", subtype="DIR_PATH")
    filter_folder: BoolProperty(default=True, options={"HIDDEN"})
    display: EnumProperty(name="Keypoints", items=_DISPLAY, default="POINTS")
    cameras: BoolProperty(name="Cameras", default=True, description="Add the calibrated cameras")
    model_path: StringProperty(name="SMPL-X Model", subtype="FILE_PATH")

    def execute(self, context):
        return _run(self, importers.import_session, context, self.directory, display=self.display,
                    cameras=self.cameras, model_path=self.model_path, set_fps=self.set_fps,
                    frame_start=self.frame_start)


def _is_armature(_, obj):
    return obj.type == "ARMATURE"


class MocapLiveSettings(bpy.types.PropertyGroup):
    host: StringProperty(name="Address", default="127.0.0.1",
                         description="Interface to listen on: 127.0.0.1 (this computer only) unless remote senders "
                                     "are allowed")
    port: IntProperty(name="Port", default=DEFAULT_PORT, min=1, max=65535)
    allow_remote: BoolProperty(name="Allow Remote Senders", default=False,
                               description="Listen on a non-loopback interface: anyone who can reach the port can "
                                           "drive the armature")
    target: PointerProperty(name="Armature", type=bpy.types.Object, poll=_is_armature,
                            description="Armature to drive (empty: one is built from the stream's rest pose)")
    record: BoolProperty(name="Record", default=False, description="Key every received frame into an action on stop")
    set_fps: BoolProperty(name="Set Scene Frame Rate", default=True)
    show_keypoints: BoolProperty(name="Show Keypoints", default=True,
                                 description="Show the raw 3D keypoints frames carry as a point object")


class MOCAP_OT_live_start(bpy.types.Operator):
    """Listen for frames from `mocap live`"""
    bl_idname = "mocap.live_start"
    bl_label = "Start Receiving"

    def execute(self, context):
        s = context.scene.mocap_live
        try:
            live.start(context.scene, host=s.host, port=s.port, allow_remote=s.allow_remote, target=s.target,
                       record=s.record, set_fps=s.set_fps, show_keypoints=s.show_keypoints)
        except (OSError, PermissionError, ValueError) as exc:
            self.report({"ERROR"}, f"cannot listen on {s.host}:{s.port}: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, live.status())
        return {"FINISHED"}


class MOCAP_OT_live_stop(bpy.types.Operator):
    """Stop receiving (and key the recording, if any)"""
    bl_idname = "mocap.live_stop"
    bl_label = "Stop Receiving"

    def execute(self, context):
        actions = live.stop()
        self.report({"INFO"}, f"stopped; recorded {len(actions)} take(s)" if actions else "stopped")
        return {"FINISHED"}


class VIEW3D_PT_mocap(bpy.types.Panel):
    bl_label = "mocap"
    bl_idname = "VIEW3D_PT_mocap"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "mocap"

    def draw(self, context):
        layout = self.layout
        col = layout.column(align=True)
        col.label(text="Import")
        col.operator(MOCAP_OT_import_session.bl_idname, text="Session Folder", icon="FILE_FOLDER")
        col.operator(MOCAP_OT_import_pose3d.bl_idname, text="3D Keypoints", icon="EMPTY_DATA")
        col.operator(MOCAP_OT_import_motion.bl_idname, text="Motion", icon="ARMATURE_DATA")
        col.operator(MOCAP_OT_import_smplx.bl_idname, text="SMPL-X Fit", icon="OUTLINER_OB_ARMATURE")
        s = context.scene.mocap_live
        box = layout.box()
        box.label(text="Live", icon="REC")
        running = live.session() is not None
        sub = box.column()
        sub.enabled = not running
        row = sub.row(align=True)
        row.prop(s, "host", text="")
        row.prop(s, "port", text="")
        sub.prop(s, "allow_remote")
        if not is_loopback(s.host):
            warn = sub.row()
            warn.alert = True
            warn.label(text="Non-loopback: reachable from the network" if s.allow_remote
                       else "Needs 'Allow Remote Senders'", icon="ERROR")
        sub.prop(s, "target")
        sub.prop(s, "record")
        sub.prop(s, "set_fps")
        sub.prop(s, "show_keypoints")
        if running:
            box.operator(MOCAP_OT_live_stop.bl_idname, icon="PAUSE")
        else:
            box.operator(MOCAP_OT_live_start.bl_idname, icon="PLAY")
        box.label(text=live.status())


def _menu_import(self, context):
    self.layout.operator(MOCAP_OT_import_pose3d.bl_idname, text="mocap 3D keypoints (.npz)")
    self.layout.operator(MOCAP_OT_import_motion.bl_idname, text="mocap motion (.npz)")
    self.layout.operator(MOCAP_OT_import_smplx.bl_idname, text="mocap SMPL-X fit (.npz)")
    self.layout.operator(MOCAP_OT_import_session.bl_idname, text="mocap session (folder)")


CLASSES = (MOCAP_OT_import_pose3d, MOCAP_OT_import_motion, MOCAP_OT_import_smplx, MOCAP_OT_import_session,
           MocapLiveSettings, MOCAP_OT_live_start, MOCAP_OT_live_stop, VIEW3D_PT_mocap)


@bpy.app.handlers.persistent
def _stop_on_load(*_):
    """A newly loaded file replaces the objects a live session drives: stop it first."""
    live.stop()


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.mocap_live = PointerProperty(type=MocapLiveSettings)
    bpy.types.TOPBAR_MT_file_import.append(_menu_import)
    bpy.app.handlers.load_pre.append(_stop_on_load)


def unregister():
    live.stop()
    if _stop_on_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_stop_on_load)
    bpy.types.TOPBAR_MT_file_import.remove(_menu_import)
    del bpy.types.Scene.mocap_live
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)

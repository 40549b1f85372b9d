"""Import what mocap writes into the scene (bpy): 3D keypoints, motions, SMPL-X fits, cameras, sessions.

Each ``import_*`` function is what its operator (:mod:`.ui`) runs and returns what it created plus a
message for the status bar. Our world is Blender's (right-handed, Z up, metres), so positions go in
as they are; frame ``t`` of a file is keyed at scene frame ``frame_start + t``. With
``set_fps`` the scene takes the file's frame rate (``fps`` / ``fps_base`` give non-integer rates
exactly) and its frame range grows to cover the take; without, the message says both rates.

* 3D keypoints: per person either one empty per keypoint (named ``p0_left_wrist`` ...) or one
  point object (a mesh with a vertex per keypoint and the layout's bones as edges, vertex
  positions animated). Keys only where a keypoint was found (Blender's interpolation bridges
  gaps); keypoints never found get no empty / vertex. The source frame numbers are kept in the
  custom property ``mocap_frame_index``.
* Motion: an armature in the motion's rest pose with its take as an action (see :mod:`.skeleton`).
* SMPL-X: the 55-joint armature (:func:`.readers.smplx_motion`); with the model file the exact
  shaped skeleton and, optionally, the shaped mesh skinned to it (vertex groups from the model's
  weights, an Armature modifier: SMPL-X's linear blend skinning; the pose-corrective blend shapes,
  millimetres, and expressions are not applied).
* Cameras: one camera object per calibrated camera: a pinhole with the focal length of the
  frame's wider side and the principal point as lens shift (Blender's pixels are square, so a
  different fy is not modelled, nor is lens distortion).
"""

from __future__ import annotations

import os
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from . import readers, rig, tables

ENV_SMPLX_MODEL = "MOCAP_SMPLX_MODEL"


def _collection(context, name: str):
    coll = bpy.data.collections.new(name)
    context.scene.collection.children.link(coll)
    return coll


def set_rate(scene, fps: float, n_frames: int, frame_start: int, set_fps: bool) -> str:
    """Set the scene's frame rate and frame range to the take's (or, without ``set_fps``, say how
    they differ)."""
    fps = float(fps)
    scene_fps = scene.render.fps / scene.render.fps_base
    end = frame_start + n_frames - 1
    if set_fps and fps > 0:
        scene.render.fps = max(1, int(round(fps)))
        scene.render.fps_base = scene.render.fps / fps
        scene.frame_start, scene.frame_end = frame_start, end
        return f"scene set to {fps:g} fps, frames {frame_start}-{end}"
    if abs(scene_fps - fps) > 1e-6:
        return f"file at {fps:g} fps, scene at {scene_fps:g} fps: frames {frame_start}-{end} hold one sample each"
    return f"{fps:g} fps, frames {frame_start}-{end}"


# --- 3D keypoints -----------------------------------------------------------------------------


def import_keypoints(context, path, *, display: str = "EMPTIES", set_fps: bool = True, frame_start: int = 1):
    """pose3d.npz -> per person, empties or a point object; returns (objects, message)."""
    data = readers.read_keypoints(path)
    xyz = data["xyz"]
    T, P, K = xyz.shape[:3]
    names = tables.keypoint_names(data["layout"], K)
    frames = frame_start + np.arange(T, dtype=float)
    coll = _collection(context, Path(path).stem)
    objects = []
    for p in range(P):
        valid = np.isfinite(xyz[:, p]).all(-1)  # (T, K)
        seen = np.flatnonzero(valid.any(0))
        if not seen.size:
            continue
        if display == "POINTS":
            objects.append(_point_object(coll, f"p{p}_{Path(path).stem}", xyz[:, p], valid, seen, frames,
                                         tables.keypoint_bones(data["layout"], K)))
        else:
            sub = bpy.data.collections.new(f"{Path(path).stem}_p{p}")
            coll.children.link(sub)
            for k in seen:
                objects.append(_empty(sub, f"p{p}_{names[k]}", xyz[:, p, k], valid[:, k], frames))
    for obj in objects:
        obj["mocap_frame_index"] = [int(i) for i in data["frame_index"]]
    note = set_rate(context.scene, data["fps"], T, frame_start, set_fps)
    if data["world_frame"] == "unaligned":
        note += "; the keypoints' world has no known up direction (uncalibrated floor): Z may not be up"
    return objects, f"{len(objects)} objects for {P} person(s), {T} frames; {note}"


def _empty(coll, name: str, xyz: np.ndarray, valid: np.ndarray, frames: np.ndarray):
    obj = bpy.data.objects.new(name, None)
    obj.empty_display_type = "SPHERE"
    obj.empty_display_size = 0.01
    coll.objects.link(obj)
    obj.location = xyz[np.argmax(valid)]
    action = rig.new_action(obj, name + "Action")
    for i in range(3):
        rig.key_channel(action, obj, "location", i, frames[valid], xyz[valid, i], "Location")
    return obj


def _point_object(coll, name: str, xyz, valid, seen, frames, bones):
    where = {int(k): v for v, k in enumerate(seen)}
    first = xyz[np.argmax(valid[:, seen], axis=0), seen]
    edges = [(where[a], where[b]) for a, b in bones if a in where and b in where]
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(first.tolist(), edges, [])
    obj = bpy.data.objects.new(name, mesh)
    coll.objects.link(obj)
    action = rig.new_action(mesh, name + "Action")
    for v, k in enumerate(seen):
        ok = valid[:, k]
        for i in range(3):
            rig.key_channel(action, mesh, f"vertices[{v}].co", i, frames[ok], xyz[ok, k, i], f"kp{k}")
    obj["mocap_keypoints"] = [int(k) for k in seen]
    return obj


# --- armatures --------------------------------------------------------------------------------


def armature_from_motion(context, motion: readers.MotionData, coll=None, frame_start: int = 1):
    coll = coll if coll is not None else context.scene.collection
    obj = rig.new_armature(motion.name, motion.joint_names, motion.parents, motion.offsets, coll)
    frames = frame_start + np.arange(len(motion.rotations), dtype=float)
    rig.key_motion(obj, motion.name + "Action", motion.joint_names, motion.parents, frames,
                   motion.root_translation, motion.rotations)
    obj["mocap_frame_index"] = [int(i) for i in motion.frame_index]
    return obj


def import_motion(context, path, *, set_fps: bool = True, frame_start: int = 1):
    """motion.npz -> an armature with its action; returns (objects, message)."""
    rig.ensure_object_mode(context)
    motion = readers.read_motion(path)
    obj = armature_from_motion(context, motion, frame_start=frame_start)
    note = set_rate(context.scene, motion.fps, len(motion.rotations), frame_start, set_fps)
    return [obj], f"armature {obj.name}: {len(motion.joint_names)} bones, {len(motion.rotations)} frames; {note}"


def smplx_model_path(given: str, gender: str) -> Path | None:
    """The model file from the operator's setting or $MOCAP_SMPLX_MODEL (as mocap finds it), or None."""
    given = given or os.environ.get(ENV_SMPLX_MODEL, "")
    return readers.model_file(bpy.path.abspath(given), gender) if given else None


def import_smplx(context, path, *, model_path: str = "", with_mesh: bool = True, set_fps: bool = True,
                 frame_start: int = 1):
    """SMPL-X fit -> armature (+ mesh with the model file); returns (objects, message)."""
    rig.ensure_object_mode(context)
    fit = readers.read_smplx_fit(path)
    model_file = smplx_model_path(model_path, fit["gender"])
    model = readers.read_smplx_model(model_file) if model_file else None
    motion = readers.smplx_motion(fit, model, name=Path(path).stem)
    arm = armature_from_motion(context, motion, frame_start=frame_start)
    objects = [arm]
    if model is not None and with_mesh:
        objects.append(_smplx_mesh(context, arm, model, fit["betas"]))
    note = set_rate(context.scene, motion.fps, len(motion.rotations), frame_start, set_fps)
    how = (f"model {model_file.name}" if model is not None
           else "template skeleton (no model file: bone lengths approximate)")
    return objects, f"SMPL-X {arm.name}: {len(motion.rotations)} frames, {how}; {note}"


def _smplx_mesh(context, arm, model: dict, betas):
    vertices, _, _ = readers.smplx_shape(model, betas)
    vertices = vertices @ readers.C_MATRIX.T  # canonical -> world rest pose (Z up)
    faces = np.asarray(model["f"], dtype=np.int64)
    mesh = bpy.data.meshes.new(arm.name + "_mesh")
    mesh.vertices.add(len(vertices))
    mesh.vertices.foreach_set("co", vertices.astype(np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.ravel().astype(np.int32))
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.polygons.foreach_set("loop_total", np.full(len(faces), 3, dtype=np.int32))
    mesh.update()
    mesh.validate()
    mesh.polygons.foreach_set("use_smooth", np.ones(len(faces), dtype=bool))
    obj = bpy.data.objects.new(arm.name + "_mesh", mesh)
    for coll in arm.users_collection:
        coll.objects.link(obj)
    weights = np.asarray(model["weights"], dtype=float)
    for j, name in enumerate(tables.SMPLX_JOINTS):
        group = obj.vertex_groups.new(name=name)
        rows = np.flatnonzero(weights[:, j] > 1e-6)
        values = weights[rows, j]
        for w in np.unique(values):  # one call per distinct weight
            group.add(rows[values == w].tolist(), float(w), "REPLACE")
    obj.parent = arm
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = arm
    return obj


# --- cameras and sessions ---------------------------------------------------------------------


_CV_TO_BLENDER = np.diag([1.0, -1.0, -1.0])  # OpenCV camera axes (y down, z forward) -> Blender's


def import_cameras(context, path, *, set_resolution: bool = True):
    """calibration.toml -> one camera object per camera; returns (objects, message)."""
    cameras = readers.read_cameras(path)
    coll = _collection(context, "cameras")
    objects = []
    for cam in cameras:
        w, h = cam["size"]
        K, R, t = cam["matrix"], cam["rotation"], cam["translation"]
        data = bpy.data.cameras.new(cam["name"])
        data.sensor_fit = "HORIZONTAL" if w >= h else "VERTICAL"
        data.sensor_width = data.sensor_height = 36.0
        side = max(w, h)
        data.lens = (K[0, 0] if w >= h else K[1, 1]) * 36.0 / side
        # Shifting Blender's frame by +s moves the image content by -s (in units of the larger
        # side); OpenCV's pixel (0, 0) is centred half a pixel inside the frame's edge.
        data.shift_x = (w / 2 - K[0, 2] - 0.5) / side
        data.shift_y = (K[1, 2] + 0.5 - h / 2) / side
        obj = bpy.data.objects.new(cam["name"], data)
        world = np.eye(4)
        world[:3, :3] = R.T @ _CV_TO_BLENDER
        world[:3, 3] = -R.T @ t
        obj.matrix_world = Matrix(world.tolist())
        obj["mocap_image_size"] = [int(w), int(h)]
        coll.objects.link(obj)
        objects.append(obj)
    if set_resolution and objects:
        context.scene.render.resolution_x, context.scene.render.resolution_y = cameras[0]["size"]
        context.scene.render.resolution_percentage = 100
        context.scene.camera = objects[0]
    return objects, f"{len(objects)} cameras"


def import_session(context, folder, *, display: str = "EMPTIES", cameras: bool = True, model_path: str = "",
                   set_fps: bool = True, frame_start: int = 1):
    """The newest results of a session folder (:func:`.readers.session_outputs`); returns (objects, message)."""
    found = readers.session_outputs(folder)
    objects, notes = [], []
    steps = [("keypoints", lambda p: import_keypoints(context, p, display=display, set_fps=set_fps,
                                                      frame_start=frame_start)),
             ("motion", lambda p: import_motion(context, p, set_fps=set_fps, frame_start=frame_start)),
             ("smplx", lambda p: import_smplx(context, p, model_path=model_path, set_fps=set_fps,
                                              frame_start=frame_start))]
    if cameras:
        steps.append(("calibration", lambda p: import_cameras(context, p)))
    for key, run in steps:
        if key in found:
            made, note = run(found[key])
            objects += made
            notes.append(f"{found[key].name}: {note}")
    return objects, "; ".join(notes)

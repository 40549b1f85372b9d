"""Armatures and animation in Blender (bpy): build a rest pose, key a take, pose a frame.

The math lives in :mod:`.skeleton` (rest positions, bone tails and rolls, the world-axes ->
pose-basis conversion); this module only talks to Blender. Keys are written one channel at a time
with ``keyframe_points.foreach_set`` (linear, one key per frame), which is what keeps importing
thousands of frames fast, through the API of the running Blender (4.4+: action slots via
``fcurve_ensure_for_datablock``; 4.2 / 4.3: ``action.fcurves.new``).
"""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Vector

from . import quat, skeleton

LINEAR = 1  # Blender's enum value of 'LINEAR' interpolation


def ensure_object_mode(context) -> None:
    obj = context.view_layer.objects.active
    if obj is not None and obj.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")


def _override(obj) -> dict:
    """A context in which ``bpy.ops.object.mode_set`` works on ``obj``, also from a timer."""
    ctx = dict(active_object=obj, object=obj, selected_objects=[obj], selected_editable_objects=[obj])
    wm = bpy.context.window_manager
    if wm is not None and wm.windows and bpy.context.window is None:
        window = wm.windows[0]
        ctx.update(window=window, screen=window.screen)
    return ctx


def set_rest(obj, names, parents, offsets) -> None:
    """(Re)build ``obj``'s bones as the rest pose of ``names`` / ``parents`` / ``offsets``."""
    rest = skeleton.rest_positions(parents, offsets)
    vectors = skeleton.bone_vectors(parents, offsets)
    rolls = skeleton.roll_axes(vectors)
    view_layer = bpy.context.view_layer
    previous = view_layer.objects.active
    view_layer.objects.active = obj
    with bpy.context.temp_override(**_override(obj)):
        bpy.ops.object.mode_set(mode="EDIT")
        edit_bones = obj.data.edit_bones
        for b in list(edit_bones):
            edit_bones.remove(b)
        made = []
        for j, name in enumerate(names):
            b = edit_bones.new(name)
            b.head = Vector(rest[j])
            b.tail = Vector(rest[j] + vectors[j])
            b.align_roll(Vector(rolls[j]))
            b.use_connect = False
            if parents[j] >= 0:
                b.parent = made[parents[j]]
            made.append(b)
        bpy.ops.object.mode_set(mode="OBJECT")
    view_layer.objects.active = previous if previous is not None else obj
    for name in names:
        obj.pose.bones[name].rotation_mode = "QUATERNION"


def new_armature(name: str, names, parents, offsets, collection) -> bpy.types.Object:
    """A new armature object in ``collection`` with the given rest pose."""
    obj = bpy.data.objects.new(name, bpy.data.armatures.new(name))
    collection.objects.link(obj)
    obj.show_in_front = True
    set_rest(obj, names, parents, offsets)
    return obj


def rest_frames(obj, names) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rest-frame quaternions (J, 4), rotation matrices (J, 3, 3) and heads (J, 3) of the named bones."""
    bones = obj.data.bones
    mats = np.array([np.array(bones[n].matrix_local.to_3x3()) for n in names]).reshape(-1, 3, 3)
    heads = np.array([tuple(bones[n].head_local) for n in names]).reshape(-1, 3)
    return quat.from_matrix(mats), mats, heads


def new_action(id_data, name: str) -> bpy.types.Action:
    if id_data.animation_data is None:
        id_data.animation_data_create()
    action = bpy.data.actions.new(name)
    id_data.animation_data.action = action
    return action


def key_channel(action, id_data, path: str, index: int, frames, values, group: str = "") -> None:
    """One F-curve of ``values`` at ``frames`` (linear keys), created on ``action``."""
    if hasattr(action, "fcurve_ensure_for_datablock"):
        fc = action.fcurve_ensure_for_datablock(id_data, path, index=index, group_name=group)
    else:  # Blender 4.2 / 4.3
        fc = action.fcurves.new(path, index=index, action_group=group)
    n = len(frames)
    fc.keyframe_points.add(n)
    co = np.empty((n, 2), dtype=np.float32)
    co[:, 0], co[:, 1] = frames, values
    fc.keyframe_points.foreach_set("co", co.ravel())
    fc.keyframe_points.foreach_set("interpolation", np.full(n, LINEAR, dtype=np.int32))
    fc.update()


def key_motion(obj, action_name: str, names, parents, frames, root_translation, rotations) -> bpy.types.Action:
    """Key a take on an armature whose bones carry ``names`` (bones it lacks are skipped):
    rotations (T, J, 4) local in world axes, root translation (T, 3)."""
    have = [j for j, n in enumerate(names) if n in obj.pose.bones]
    action = new_action(obj, action_name)
    rest_q, rest_m, heads = rest_frames(obj, [names[j] for j in have])
    basis = quat.make_continuous(skeleton.pose_basis(rest_q, np.asarray(rotations)[:, have]))
    for k, j in enumerate(have):
        name = names[j]
        obj.pose.bones[name].rotation_mode = "QUATERNION"
        path = f'pose.bones["{name}"]'
        for i in range(4):
            key_channel(action, obj, path + ".rotation_quaternion", i, frames, basis[:, k, i], name)
        if parents[j] < 0:
            loc = skeleton.root_location(rest_m[k], heads[k], root_translation)
            for i in range(3):
                key_channel(action, obj, path + ".location", i, frames, loc[:, i], name)
    return action


class Poser:
    """Poses one armature from live frames of one skeleton: the stream's joints are matched to
    the armature's bones by name once, then each frame is one ``foreach_set``."""

    def __init__(self, obj, stream_skeleton):
        self.obj, self.skeleton_id = obj, stream_skeleton.id
        bones = obj.pose.bones
        names = stream_skeleton.joint_names
        found = [(j, bones.find(n)) for j, n in enumerate(names)]
        self.joints = np.array([j for j, b in found if b >= 0], dtype=np.int64)
        self.bones = np.array([b for _, b in found if b >= 0], dtype=np.int64)
        self.missing = tuple(names[j] for j, b in found if b < 0)
        for b in self.bones:
            bones[int(b)].rotation_mode = "QUATERNION"
        self.rest_q, rest_m, heads = rest_frames(obj, [names[j] for j in self.joints])
        roots = [k for k, j in enumerate(self.joints) if stream_skeleton.parents[j] < 0]
        self.root = (int(self.bones[roots[0]]), rest_m[roots[0]], heads[roots[0]]) if roots else None
        self.buffer = np.zeros(len(bones) * 4, dtype=np.float32)
        bones.foreach_get("rotation_quaternion", self.buffer)

    def apply(self, pose) -> None:
        basis = skeleton.pose_basis(self.rest_q, pose.rotations[self.joints])
        self.buffer.reshape(-1, 4)[self.bones] = basis
        pose_bones = self.obj.pose.bones
        pose_bones.foreach_set("rotation_quaternion", self.buffer)
        if self.root is not None:
            index, rest_m, head = self.root
            pose_bones[index].location = skeleton.root_location(rest_m, head, pose.root)
        self.obj.update_tag()

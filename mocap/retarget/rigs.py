"""Rig presets: our whole-body armature renamed and reshaped for the skeletons tools expect.

A preset maps each of our 60 joints to a target bone name (joints a rig lacks, such as finger
tips for Unreal, are dropped: only leaves may be), inserts the extra bones a rig has where we
have one (Mixamo's Spine1 / Spine2 along our single trunk bone, Unreal's metacarpals, Rigify's
split upper-arm and thigh deform bones), and may add a ``root`` bone on the floor.

Every change keeps the joint world positions exactly: an inserted bone sits at a fraction of the
way along the bone it splits with an identity local rotation, and the children that bone led to
hang from the last inserted one with the remaining offset. A root bone takes the root motion
(``root_translation`` minus the pelvis' rest height, so it stays on the floor in the rest pose and
follows the pelvis) and the pelvis keeps its rest offset above it.

Rest pose: every preset keeps our rest pose (T-pose, Z up, facing -Y, palms down): FBX and
glTF files declare their axes, and engines convert on import. Each preset also records the axes
its tools use natively (``up`` / ``forward``: Mixamo and Unity Y up facing +Z, Unreal Z up
facing +Y, Rigify Blender's Z up facing -Y) and which local bone axis runs along a bone
(``primary_bone_axis``: X for Unreal's skeleton, Y for the others, Blender's convention), which
the FBX writer passes to Blender's exporter.

Names follow the skeletons as shipped: Mixamo's ``mixamorig:`` bones, the UE5 mannequin (Manny),
Unity's HumanBodyBones, Rigify's generated ``DEF-`` deform bones (metarig "Human").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap import rotations as rot
from mocap.data import Motion
from mocap.errors import SettingsError
from mocap.retarget.wholebody_armature import JOINT_NAMES

_FINGERS = ("thumb", "index", "middle", "ring", "pinky")
_SIDES = ("left", "right")


@dataclass(frozen=True)
class Insert:
    """Bones ``names`` inserted after our joint ``after``, at ``fractions`` (increasing, in (0, 1))
    of the way toward its child ``along``; every child of ``after`` with that child's offset
    then hangs from the last inserted bone."""

    after: str
    along: str
    names: tuple[str, ...]
    fractions: tuple[float, ...]


@dataclass(frozen=True)
class RigPreset:
    name: str
    names: dict[str, str]  # our joint -> target bone (absent: dropped)
    inserts: tuple[Insert, ...] = ()
    root: str | None = None
    up: str = "Z"
    forward: str = "-Y"
    primary_bone_axis: str = "Y"
    secondary_bone_axis: str = "X"
    notes: str = ""


def _default() -> RigPreset:
    return RigPreset("default", {n: n for n in JOINT_NAMES}, notes="our own joint names (mocap.retarget.JOINT_NAMES)")


def _mixamo() -> RigPreset:
    p = "mixamorig:"
    names = {"pelvis": "Hips", "spine": "Spine", "neck": "Neck", "head": "Head"}
    for s in _SIDES:
        S = s.capitalize()
        names.update({f"{s}_clavicle": f"{S}Shoulder", f"{s}_shoulder": f"{S}Arm", f"{s}_elbow": f"{S}ForeArm",
                      f"{s}_wrist": f"{S}Hand", f"{s}_hip": f"{S}UpLeg", f"{s}_knee": f"{S}Leg",
                      f"{s}_ankle": f"{S}Foot", f"{s}_toe": f"{S}ToeBase"})
        for f in _FINGERS:
            for j in range(1, 5):
                names[f"{s}_{f}{j}"] = f"{S}Hand{f.capitalize()}{j}"
    return RigPreset("mixamo", {k: p + v for k, v in names.items()},
                     (Insert("spine", "neck", (p + "Spine1", p + "Spine2"), (1 / 3, 2 / 3)),),
                     up="Y", forward="Z", notes="Mixamo (mixamorig:) skeleton, fingers 1-4 with the tips")


def _unreal() -> RigPreset:
    names = {"pelvis": "pelvis", "spine": "spine_01", "neck": "neck_01", "head": "head"}
    inserts = [Insert("spine", "neck", tuple(f"spine_0{k}" for k in range(2, 6)), (0.2, 0.4, 0.6, 0.8)),
               Insert("neck", "head", ("neck_02",), (0.5,))]
    for s in _SIDES:
        x = s[0]
        names.update({f"{s}_clavicle": f"clavicle_{x}", f"{s}_shoulder": f"upperarm_{x}",
                      f"{s}_elbow": f"lowerarm_{x}", f"{s}_wrist": f"hand_{x}", f"{s}_hip": f"thigh_{x}",
                      f"{s}_knee": f"calf_{x}", f"{s}_ankle": f"foot_{x}", f"{s}_toe": f"ball_{x}"})
        for f in _FINGERS:
            for j in range(1, 4):  # UE5 fingers stop at the last phalanx (no tip bones)
                names[f"{s}_{f}{j}"] = f"{f}_0{j}_{x}"
            if f != "thumb":
                inserts.append(Insert(f"{s}_wrist", f"{s}_{f}1", (f"{f}_metacarpal_{x}",), (0.35,)))
    return RigPreset("unreal", names, tuple(inserts), root="root", up="Z", forward="Y", primary_bone_axis="X",
                     secondary_bone_axis="Y", notes="UE5 mannequin (Manny/Quinn) bone names and chain, "
                     "no twist or IK bones; lengths in metres (the FBX writer scales to UE's centimetres)")


def _unity() -> RigPreset:
    names = {"pelvis": "Hips", "spine": "Spine", "neck": "Neck", "head": "Head"}
    part = {1: "Proximal", 2: "Intermediate", 3: "Distal"}
    for s in _SIDES:
        S = s.capitalize()
        names.update({f"{s}_clavicle": f"{S}Shoulder", f"{s}_shoulder": f"{S}UpperArm",
                      f"{s}_elbow": f"{S}LowerArm", f"{s}_wrist": f"{S}Hand", f"{s}_hip": f"{S}UpperLeg",
                      f"{s}_knee": f"{S}LowerLeg", f"{s}_ankle": f"{S}Foot", f"{s}_toe": f"{S}Toes"})
        for f in _FINGERS:
            F = "Little" if f == "pinky" else f.capitalize()
            for j in range(1, 4):
                names[f"{s}_{f}{j}"] = f"{S}{F}{part[j]}"
    return RigPreset("unity", names, (Insert("spine", "neck", ("Chest", "UpperChest"), (1 / 3, 2 / 3)),),
                     up="Y", forward="Z", notes="Unity Humanoid (HumanBodyBones) names: the avatar maps itself")


def _rigify() -> RigPreset:
    names = {"pelvis": "DEF-spine", "spine": "DEF-spine.001", "neck": "DEF-spine.004", "head": "DEF-spine.006"}
    inserts = [Insert("spine", "neck", ("DEF-spine.002", "DEF-spine.003"), (1 / 3, 2 / 3)),
               Insert("neck", "head", ("DEF-spine.005",), (0.5,))]
    for s in _SIDES:
        x = s[0].upper()
        names.update({f"{s}_clavicle": f"DEF-shoulder.{x}", f"{s}_shoulder": f"DEF-upper_arm.{x}",
                      f"{s}_elbow": f"DEF-forearm.{x}", f"{s}_wrist": f"DEF-hand.{x}", f"{s}_hip": f"DEF-thigh.{x}",
                      f"{s}_knee": f"DEF-shin.{x}", f"{s}_ankle": f"DEF-foot.{x}", f"{s}_toe": f"DEF-toe.{x}"})
        for a, b in (("shoulder", "elbow"), ("elbow", "wrist"), ("hip", "knee"), ("knee", "ankle")):
            inserts.append(Insert(f"{s}_{a}", f"{s}_{b}", (names[f"{s}_{a}"].replace(f".{x}", f".{x}.001"),), (0.5,)))
        for k, f in enumerate(_FINGERS):
            prefix = "DEF-thumb" if f == "thumb" else f"DEF-f_{f}"
            for j in range(1, 4):
                names[f"{s}_{f}{j}"] = f"{prefix}.0{j}.{x}"
            if f != "thumb":
                inserts.append(Insert(f"{s}_wrist", f"{s}_{f}1", (f"DEF-palm.0{k}.{x}",), (0.15,)))
    return RigPreset("rigify", names, tuple(inserts), up="Z", forward="-Y",
                     notes="Blender Rigify human deform (DEF-) bones, limbs split in two segments")


PRESETS = {p.name: p for p in (_default(), _mixamo(), _unreal(), _unity(), _rigify())}


def get_preset(name: str) -> RigPreset:
    if name not in PRESETS:
        raise SettingsError(f"unknown rig preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def apply_rig(motion: Motion, rig: str | RigPreset) -> Motion:
    """Rename and reshape a whole-body :class:`Motion` for a rig preset (see the module doc)."""
    preset = get_preset(rig) if isinstance(rig, str) else rig
    names = list(motion.joint_names)
    parents = motion.parents
    T = motion.n_frames
    index = {n: i for i, n in enumerate(names)}
    missing = [n for n in preset.names if n not in index]
    if missing:
        raise ValueError(f"rig {preset.name!r} maps joints the motion lacks: {missing[:5]}")
    for j, n in enumerate(names):
        if n not in preset.names and any(parents[c] == j and names[c] in preset.names for c in range(len(names))):
            raise ValueError(f"rig {preset.name!r} drops {n!r} but keeps its children")
    inserts = {}
    for ins in preset.inserts:
        inserts.setdefault(ins.after, []).append(ins)

    out_names, out_parents, out_offsets, out_rot = [], [], [], []
    new_index = {}  # our joint -> its row in the output
    reparent = {}  # our joint -> (output parent row, offset)
    ident = rot.identity(T)

    def add(name, parent, offset, q):
        out_names.append(name)
        out_parents.append(parent)
        out_offsets.append(np.asarray(offset, dtype=float))
        out_rot.append(q)
        return len(out_names) - 1

    root_translation = motion.root_translation
    if preset.root:
        add(preset.root, -1, np.zeros(3), ident)
        root_translation = motion.root_translation - motion.offsets[0]
    for j, n in enumerate(names):
        if n not in preset.names:
            continue
        if j in reparent:
            parent, offset = reparent[j]
        else:
            parent = new_index[parents[j]] if parents[j] >= 0 else (0 if preset.root else -1)
            offset = motion.offsets[j]
        new_index[j] = add(preset.names[n], parent, offset, motion.rotations[:, j])
        for ins in inserts.get(n, ()):
            along = motion.offsets[index[ins.along]]
            prev, done = new_index[j], 0.0
            for bone, f in zip(ins.names, ins.fractions):
                prev = add(bone, prev, (f - done) * along, ident)
                done = f
            for c in np.flatnonzero(parents == j):
                if np.abs(motion.offsets[c] - along).max() < 1e-12:
                    reparent[int(c)] = (prev, (1.0 - done) * along)
    return Motion(joint_names=tuple(out_names), parents=np.array(out_parents), offsets=np.array(out_offsets),
                  root_translation=root_translation, rotations=np.stack(out_rot, axis=1), fps=motion.fps,
                  frame_index=motion.frame_index)

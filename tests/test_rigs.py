"""Rig presets: bone names and parent chains as each target skeleton has them (written out here
from the rigs' own published hierarchies), and the renamed armature keeps every joint's world
position exactly."""

import numpy as np
import pytest

from exporters import read_bvh, write_bvh
from mocap.retarget import forward_kinematics
from mocap.errors import SettingsError
from mocap.retarget import JOINT_NAMES, PRESETS, apply_rig, get_preset, retarget, whole_body_motion
from mocap.synthetic import human_motion
from test_armature import keypoints3d

# (bone, parent) chains each rig must contain, left side (the right mirrors it).
EXPECTED = {
    "mixamo": [("mixamorig:Spine", "mixamorig:Hips"), ("mixamorig:Spine1", "mixamorig:Spine"),
               ("mixamorig:Spine2", "mixamorig:Spine1"), ("mixamorig:Neck", "mixamorig:Spine2"),
               ("mixamorig:Head", "mixamorig:Neck"), ("mixamorig:LeftShoulder", "mixamorig:Spine2"),
               ("mixamorig:LeftArm", "mixamorig:LeftShoulder"), ("mixamorig:LeftForeArm", "mixamorig:LeftArm"),
               ("mixamorig:LeftHand", "mixamorig:LeftForeArm"), ("mixamorig:LeftHandThumb1", "mixamorig:LeftHand"),
               ("mixamorig:LeftHandThumb4", "mixamorig:LeftHandThumb3"),
               ("mixamorig:LeftHandIndex1", "mixamorig:LeftHand"), ("mixamorig:LeftHandPinky4", "mixamorig:LeftHandPinky3"),
               ("mixamorig:LeftUpLeg", "mixamorig:Hips"), ("mixamorig:LeftLeg", "mixamorig:LeftUpLeg"),
               ("mixamorig:LeftFoot", "mixamorig:LeftLeg"), ("mixamorig:LeftToeBase", "mixamorig:LeftFoot"),
               ("mixamorig:RightHandMiddle2", "mixamorig:RightHandMiddle1")],
    "unreal": [("pelvis", "root"), ("spine_01", "pelvis"), ("spine_02", "spine_01"), ("spine_03", "spine_02"),
               ("spine_04", "spine_03"), ("spine_05", "spine_04"), ("neck_01", "spine_05"), ("neck_02", "neck_01"),
               ("head", "neck_02"), ("clavicle_l", "spine_05"), ("upperarm_l", "clavicle_l"),
               ("lowerarm_l", "upperarm_l"), ("hand_l", "lowerarm_l"), ("thumb_01_l", "hand_l"),
               ("thumb_03_l", "thumb_02_l"), ("index_metacarpal_l", "hand_l"), ("index_01_l", "index_metacarpal_l"),
               ("pinky_03_l", "pinky_02_l"), ("thigh_l", "pelvis"), ("calf_l", "thigh_l"), ("foot_l", "calf_l"),
               ("ball_l", "foot_l"), ("ring_metacarpal_r", "hand_r")],
    "unity": [("Spine", "Hips"), ("Chest", "Spine"), ("UpperChest", "Chest"), ("Neck", "UpperChest"),
              ("Head", "Neck"), ("LeftShoulder", "UpperChest"), ("LeftUpperArm", "LeftShoulder"),
              ("LeftLowerArm", "LeftUpperArm"), ("LeftHand", "LeftLowerArm"), ("LeftThumbProximal", "LeftHand"),
              ("LeftThumbDistal", "LeftThumbIntermediate"), ("LeftLittleProximal", "LeftHand"),
              ("LeftUpperLeg", "Hips"), ("LeftLowerLeg", "LeftUpperLeg"), ("LeftFoot", "LeftLowerLeg"),
              ("LeftToes", "LeftFoot"), ("RightIndexIntermediate", "RightIndexProximal")],
    "rigify": [("DEF-spine.001", "DEF-spine"), ("DEF-spine.002", "DEF-spine.001"),
               ("DEF-spine.003", "DEF-spine.002"), ("DEF-spine.004", "DEF-spine.003"),
               ("DEF-spine.005", "DEF-spine.004"), ("DEF-spine.006", "DEF-spine.005"),
               ("DEF-shoulder.L", "DEF-spine.003"), ("DEF-upper_arm.L", "DEF-shoulder.L"),
               ("DEF-upper_arm.L.001", "DEF-upper_arm.L"), ("DEF-forearm.L", "DEF-upper_arm.L.001"),
               ("DEF-forearm.L.001", "DEF-forearm.L"), ("DEF-hand.L", "DEF-forearm.L.001"),
               ("DEF-palm.01.L", "DEF-hand.L"), ("DEF-f_index.01.L", "DEF-palm.01.L"),
               ("DEF-f_pinky.03.L", "DEF-f_pinky.02.L"), ("DEF-thumb.01.L", "DEF-hand.L"),
               ("DEF-thigh.L", "DEF-spine"), ("DEF-thigh.L.001", "DEF-thigh.L"), ("DEF-shin.L", "DEF-thigh.L.001"),
               ("DEF-foot.L", "DEF-shin.L.001"), ("DEF-toe.L", "DEF-foot.L"), ("DEF-f_ring.02.R", "DEF-f_ring.01.R")],
}
ROOTS = {"default": "pelvis", "mixamo": "mixamorig:Hips", "unreal": "root", "unity": "Hips", "rigify": "DEF-spine"}
COUNTS = {"default": 60, "mixamo": 62, "unreal": 64, "unity": 52, "rigify": 69}


@pytest.fixture(scope="module")
def person():
    xyz = human_motion(60, 30.0, seed=4)
    return xyz, whole_body_motion(keypoints3d(xyz))


@pytest.mark.parametrize("rig", list(PRESETS))
def test_bone_names_and_hierarchy_are_the_target_rigs(person, rig):
    _, motion = person
    rigged = apply_rig(motion, rig)
    names = rigged.joint_names
    assert len(names) == len(set(names)) == COUNTS[rig]
    assert names[0] == ROOTS[rig] and rigged.parents[0] == -1 and (rigged.parents[1:] >= 0).all()
    parent_of = {n: (names[p] if p >= 0 else None) for n, p in zip(names, rigged.parents)}
    for bone, parent in EXPECTED.get(rig, []):
        assert parent_of.get(bone, "missing") == parent, (rig, bone)
    # Every one of our joints the rig keeps sits exactly where it was.
    preset = get_preset(rig)
    ours = forward_kinematics(motion)
    theirs = forward_kinematics(rigged)
    kept = [n for n in JOINT_NAMES if n in preset.names]
    assert np.abs(theirs[:, [names.index(preset.names[n]) for n in kept]]
                  - ours[:, [JOINT_NAMES.index(n) for n in kept]]).max() < 1e-12
    # Inserted bones turn with their parent (identity local rotations) and lie on the bone they split.
    inserted = [j for j, n in enumerate(names) if n not in preset.names.values() and n != preset.root]
    assert len(inserted) == COUNTS[rig] - len(kept) - (preset.root is not None)
    if inserted:
        assert np.abs(np.abs(rigged.rotations[:, inserted, 0]) - 1).max() < 1e-12


def test_unreal_root_stays_on_the_floor_and_tips_are_dropped(person):
    _, motion = person
    ue = apply_rig(motion, "unreal")
    assert not any("_04_" in n for n in ue.joint_names) and "index_03_l" in ue.joint_names
    rest_pelvis = motion.offsets[0]
    assert np.allclose(ue.offsets[1], rest_pelvis) and np.allclose(ue.offsets[0], 0)
    assert np.allclose(ue.root_translation + rest_pelvis, motion.root_translation)


def test_rigged_bvh_round_trip(person, tmp_path):
    _, motion = person
    rigged = apply_rig(motion, "mixamo")
    back = read_bvh(write_bvh(rigged, tmp_path / "mixamo.bvh"))
    assert set(back.joint_names) == set(rigged.joint_names)
    order = [back.joint_names.index(n) for n in rigged.joint_names]
    assert np.abs(forward_kinematics(back)[:, order] - forward_kinematics(rigged)).max() < 1e-6


def test_unknown_rig_is_a_user_error(person):
    xyz, _ = person
    with pytest.raises(SettingsError, match="unknown rig preset 'maya'.*mixamo"):
        retarget(keypoints3d(xyz), rig="maya")

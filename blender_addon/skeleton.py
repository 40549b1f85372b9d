"""Armature math shared by the importers and the live receiver (numpy only, no bpy).

An armature is given as mocap's :class:`Motion` gives it: joint names, ``parents`` (J,) (parents
first), rest ``offsets`` (J, 3) from each parent in world axes (Z up, metres), and per frame a
root translation and local rotations (w, x, y, z) relative to the parent in world axes, with the
rest pose meaning all-identity rotations.

Bones in Blender:

* head at the joint's rest position; tail toward its main child (the farthest child; a
  zero-offset child, such as mocap's spine starting where the pelvis does, lends its own
  direction), a leaf continuing its own offset at half its length, at least 1 cm;
* roll: the bone's Z axis turned toward world -Y (forward), or toward +Z for bones lying along
  Y (feet, thumbs), so limbs of both sides roll alike.

Blender stores a pose bone's rotation relative to its rest frame ``B`` (the bone's axes in
armature space). A local rotation ``q`` in world axes is the basis ``B^T q B``, i.e. the
quaternion ``conj(b) q b`` with ``b`` the rest frame's quaternion: then the armature-space
rotation of every bone relative to its rest is the product of the ``q`` down its chain, as in
mocap's forward kinematics. The root's location is ``B^T (p - head)``.
"""

from __future__ import annotations

import numpy as np

from . import quat


def rest_positions(parents, offsets) -> np.ndarray:
    """(J, 3) rest position of every joint: the offsets summed down the chain."""
    offsets = np.asarray(offsets, dtype=float)
    rest = np.zeros_like(offsets)
    for j, p in enumerate(parents):
        rest[j] = offsets[j] + (rest[p] if p >= 0 else 0.0)
    return rest


def bone_vectors(parents, offsets) -> np.ndarray:
    """(J, 3) tail minus head of every bone (see the module doc)."""
    offsets = np.asarray(offsets, dtype=float)
    J = len(parents)
    kids = [[c for c in range(J) if parents[c] == j] for j in range(J)]
    length = np.linalg.norm(offsets, axis=1)
    out = np.zeros((J, 3))
    for j in reversed(range(J)):  # children first: a zero-offset child's vector is known
        far = [c for c in kids[j] if length[c] > 1e-6]
        zero = [c for c in kids[j] if length[c] <= 1e-6]
        if zero:
            out[j] = out[zero[0]]
        elif far:
            out[j] = offsets[max(far, key=lambda c: length[c])]
        else:
            own = offsets[j] if length[j] > 1e-6 else np.array([0.0, 0.0, 0.1])
            out[j] = own / np.linalg.norm(own) * max(0.01, 0.5 * np.linalg.norm(own))
        n = np.linalg.norm(out[j])
        if n < 0.01:  # Blender drops bones shorter than its epsilon
            out[j] = (out[j] / n if n > 1e-9 else np.array([0.0, 0.0, 1.0])) * 0.01
    return out


def roll_axes(vectors) -> np.ndarray:
    """(J, 3) the direction each bone's Z axis is turned toward (``EditBone.align_roll``)."""
    v = np.asarray(vectors, dtype=float)
    u = v / np.linalg.norm(v, axis=1, keepdims=True)
    return np.where(np.abs(u[:, 1:2]) > 0.7, np.array([0.0, 0.0, 1.0]), np.array([0.0, -1.0, 0.0]))


def pose_basis(rest_quats, rotations) -> np.ndarray:
    """Blender pose-bone quaternions (..., J, 4) from local rotations in world axes (..., J, 4)
    and the bones' rest-frame quaternions (J, 4): ``conj(b) q b``."""
    b = np.asarray(rest_quats, dtype=float)
    return quat.multiply(quat.multiply(quat.conjugate(b), rotations), b)


def root_location(rest_matrix, rest_head, translation) -> np.ndarray:
    """Pose-bone location (..., 3) of a root bone moved to ``translation`` (..., 3):
    ``B^T (p - head)`` with the bone's rest axes ``B`` (3, 3) (row vectors: ``(p - head) @ B``)."""
    return (np.asarray(translation, dtype=float) - np.asarray(rest_head, dtype=float)) @ np.asarray(rest_matrix)

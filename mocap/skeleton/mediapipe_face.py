"""MediaPipe Face Mesh (468 vertices) -> the 68 iBUG face points.

``FACE468_TO_FACE68[k]`` is the Face Mesh vertex at the anatomical place of iBUG point ``k``.
(The refined 478-point mesh shares vertices 0-467; its 10 iris points have no iBUG counterpart.)

How the table was made: from the vertex groups MediaPipe itself names (its face-oval, eye, eyebrow
and lip contours, :mod:`mediapipe.python.solutions.face_mesh_connections`) and the vertex positions
of MediaPipe's canonical face model (``canonical_face_model.obj``; x to the person's left, y up,
z towards the camera, exactly left/right symmetric), each iBUG point was placed as follows:

* one half of the face was chosen, and every left-half point is the exact mirror vertex (x -> -x)
  of its right-half partner, so the table is symmetric by construction;
* jaw 0-8: the face-oval contour from the vertex level with the outer eye corner (127) down to the
  chin (152), points taken at equal arc length along the contour seen from the front (iBUG spaces
  its jaw points evenly);
* brows: the upper brow contour (5 vertices, outer end to inner end);
* nose bridge: 27 at the nasion between the eyes (168), 30 the most forward vertex of the nose
  (4), 28-29 at equal arc length along the midline profile between them; lower nose: 33 where the
  columella meets the lip (2), 31/35 the lowest outer points of the nostril wings, 32/34 between;
* eyes: the corners, and the lid points at one and two thirds of the lid contours' arc length;
* lips: the corners, the top and bottom centres, the Cupid's-bow peaks for 50/52, and the other
  points at equal arc length along MediaPipe's outer and inner lip contours.

The choices agree with the commonly used public MediaPipe-to-dlib tables except where those
disagree among themselves (jaw spacing, the nose bridge), where the geometric rule above decided.
``tests/test_skeleton.py`` checks the table on a real face-mesh result: symmetric, nose tip most
forward, chin lowest, jaw ordered across the face, each group inside MediaPipe's own contour.
"""

from __future__ import annotations

FACE468_TO_FACE68 = (
    # jaw 0-16: right side (image left) at eye level, chin 152, left side
    127, 234, 93, 132, 58, 136, 150, 176, 152, 400, 379, 365, 288, 361, 323, 454, 356,
    # right brow 17-21 (outer -> inner), left brow 22-26 (inner -> outer)
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
    # nose bridge 27-30 (nasion -> tip)
    168, 197, 195, 4,
    # lower nose 31-35 (right wing -> under the tip -> left wing)
    98, 97, 2, 326, 327,
    # right eye 36-41: outer corner, upper lid x2, inner corner, lower lid x2
    33, 160, 158, 133, 153, 144,
    # left eye 42-47: inner corner, upper lid x2, outer corner, lower lid x2
    362, 385, 387, 263, 373, 380,
    # outer lips 48-59: right corner, upper lip, left corner 54, lower lip back to the right
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,
    # inner lips 60-67: right corner, upper, left corner 64, lower
    78, 81, 13, 311, 308, 402, 14, 178,
)

assert len(FACE468_TO_FACE68) == 68 and len(set(FACE468_TO_FACE68)) == 68

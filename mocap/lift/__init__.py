"""Monocular 3D on the mocap side: lifting backends run over videos, ``lifted.npz``, single-camera
sessions and fill-in of triangulation gaps. The math is :mod:`lifting`'s; this package runs the
models, reads calibrations and files, and builds the data contracts.

* :func:`estimate_lifted` / :class:`LiftedViews` (:mod:`mocap.lift.views`): each camera's 2D and
  root-relative 3D, saved as ``lifted.npz``;
* :func:`lift_camera` (:mod:`mocap.lift.single`): one camera -> :class:`~mocap.data.Keypoints3D`;
* :func:`fill_with_lifting` (:mod:`mocap.lift.fill`): triangulated keypoints + lifted views ->
  the keypoints fewer than two cameras agreed on filled;
* :func:`lift` and :func:`fill_pose3d` (:mod:`mocap.lift.run`): the same on files (``mocap lift``).
"""

from mocap.lift.fill import fill_with_lifting, match_detections  # noqa: F401
from mocap.lift.single import SingleCameraResult, UncalibratedWarning, lift_camera  # noqa: F401
from mocap.lift.views import (  # noqa: F401
    LIFTING_BACKENDS, LiftedViews, estimate_lifted, lifted_path, make_lifting_backend, normalized, skeletons,
)

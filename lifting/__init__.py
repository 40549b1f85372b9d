"""Monocular 3D: keypoints seen by fewer than two cameras.

* :mod:`lifting.rtmw3d`: RTMW3D-style SimCC depth decoding (metres relative to the hips, bins from
  the output's shape) and the camera-frame skeleton a depth map and 2D keypoints make;
* :mod:`lifting.body`: a skeleton's height from its bone lengths (the scale of monocular 3D);
* :mod:`lifting.placement`: one camera's root-relative skeletons placed in the world (scale, depth
  by reprojection, feet on a known floor, depth smoothed over time);
* :mod:`lifting.align`: batched weighted similarity transforms;
* :mod:`lifting.fill`: fill-in of triangulation gaps from lifted 3D.

Inputs are plain arrays: root-relative metric keypoints (T, P, 133, 3) in a camera's axes (x right,
y down, z forward), whichever model made them (RTMW3D, MediaPipe's world landmarks). Running the
models, calibrations and files are the caller's (``mocap.lift``). May import numpy, onnxruntime,
``mocap.data`` and ``mocap.skeleton`` only (ARCHITECTURE.md).
"""

from lifting.align import Similarity, similarity  # noqa: F401
from lifting.body import TYPICAL_HEIGHT, root_of, stature  # noqa: F401
from lifting.fill import FillResult, fill_in, nearest_present_ancestor  # noqa: F401
from lifting.placement import Placement, gaussian_smooth, place  # noqa: F401
from lifting.rtmw3d import RTMW3D_OUTPUTS, RTMW3D_Z_RANGE, decode_simcc_depth, skeleton_from_depth  # noqa: F401

"""Monocular 3D: keypoints seen by fewer than two cameras (RTMW3D-style ONNX decoding, MediaPipe
world landmarks, fill-in of triangulation gaps).

Nothing is implemented here yet (see the README's table); ``mocap triangulate`` refuses a single
camera with a clear error until it is. May import numpy, onnxruntime, ``mocap.data`` and
``mocap.skeleton`` only (ARCHITECTURE.md).
"""

"""Photographs of a calibration board with exact truth: for tests, the benchmark and demos.

Rendering follows the physics of a camera in two steps, so that the truth is exact:

1. The board image is warped into an *undistorted* canvas by the true homography of its pose
   (``K [r1 r2 t]`` composed with the board-pixel → metre map), at ``supersample``× resolution.
2. Lens distortion is applied by ``cv2.remap``: for every pixel of the distorted output the map
   holds the undistorted canvas position, computed with the camera's own
   :meth:`~calibration.camera.Camera.undistort_points` (exact Newton inverse). The map depends
   only on the camera, so it is built once per camera.

Then the supersampled image is averaged down (anti-aliasing), blurred and given sensor noise.
Pixel convention: centres at integer coordinates, as everywhere in this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from calibration.camera import Camera
from calibration.rotation import rvec_to_matrix


@dataclass
class BoardRenderer:
    """Renders one board into cameras; caches each camera's distortion map."""

    board: object
    pixels_per_square: int = 120
    supersample: int = 2
    background: int = 110
    _maps: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.margin = int(round(0.5 * self.pixels_per_square))
        self.image = self.board.image(self.pixels_per_square, margin_squares=0.5)

    def _camera_map(self, camera: Camera):
        key = id(camera)
        if key in self._maps:
            return self._maps[key]
        s = self.supersample
        w, h = camera.size
        ys, xs = np.mgrid[0 : h * s, 0 : w * s].astype(np.float64)
        # Supersampled pixel centre → full-resolution pixel coordinates.
        pix = np.stack([(xs + 0.5) / s - 0.5, (ys + 0.5) / s - 0.5], axis=-1)
        normalized = camera.undistort_points(pix)
        K = camera.matrix
        u = s * (K[0, 0] * normalized[..., 0] + K[0, 1] * normalized[..., 1] + K[0, 2] + 0.5) - 0.5
        v = s * (K[1, 1] * normalized[..., 1] + K[1, 2] + 0.5) - 0.5
        finite = np.isfinite(u) & np.isfinite(v)
        ox, oy = -np.floor(np.min(u[finite])) + 2, -np.floor(np.min(v[finite])) + 2
        u, v = np.where(finite, u + ox, -10), np.where(finite, v + oy, -10)
        canvas = (int(np.max(u[finite])) + 4, int(np.max(v[finite])) + 4)
        # Canvas camera matrix: normalized → canvas pixels.
        Kc = np.array([[s * K[0, 0], s * K[0, 1], s * (K[0, 2] + 0.5) - 0.5 + ox],
                       [0, s * K[1, 1], s * (K[1, 2] + 0.5) - 0.5 + oy], [0, 0, 1]])
        self._maps[key] = (u.astype(np.float32), v.astype(np.float32), canvas, Kc)
        return self._maps[key]

    def render(self, camera: Camera, board_rvec, board_tvec, *, blur: float = 0.6, noise: float = 2.0,
               rng: np.random.Generator | None = None) -> np.ndarray:
        """Grey uint8 image of the board posed ``board_rvec, board_tvec`` (board → world) in ``camera``."""
        rng = rng or np.random.default_rng(0)
        mapx, mapy, canvas, Kc = self._camera_map(camera)
        Rb, tb = rvec_to_matrix(board_rvec), np.asarray(board_tvec, float)
        R = camera.R @ Rb
        t = camera.R @ tb + camera.tvec
        w, h = camera.size
        out = np.full((h, w), self.background, np.float32)
        if t[2] > 0 and (R[:, 2] @ t) > 0:  # board in front of the camera, printed face towards it
            pps, sq, m = self.pixels_per_square, self.board.square_size, self.margin
            # Board-image pixel centre (u, v) → metres on the board (homogeneous).
            A = np.array([[sq / pps, 0, (0.5 - m) * sq / pps], [0, sq / pps, (0.5 - m) * sq / pps], [0, 0, 1]])
            H = Kc @ np.column_stack([R[:, 0], R[:, 1], t]) @ A
            warped = cv2.warpPerspective(self.image, H, canvas, flags=cv2.INTER_LINEAR,
                                         borderMode=cv2.BORDER_CONSTANT, borderValue=self.background)
            hi = cv2.remap(warped, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=self.background)
            out = cv2.resize(hi.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
        if blur > 0:
            out = cv2.GaussianBlur(out, (0, 0), blur)
        out = out + rng.normal(0.0, noise, out.shape)
        return np.clip(np.round(out), 0, 255).astype(np.uint8)


def board_poses(camera_positions: np.ndarray, board, n_frames: int, *, centre=(0.0, 0.0, 1.0), spread: float = 0.35,
                tilt_deg: float = 35.0, close_fraction: float = 0.0, close_distance: float = 0.9,
                seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random board poses (board → world ``(rvec, tvec)``) near ``centre``, each turned towards a
    random camera and tilted up to ``tilt_deg`` from facing it, so that neighbouring cameras share
    views and opposite ones never do. A ``close_fraction`` of the poses are instead held
    ``close_distance`` in front of one camera, filling its image (what one does for intrinsics)."""
    rng = np.random.default_rng(seed)
    positions = np.asarray(camera_positions, float)
    w, h = board.extent
    poses = []
    for _ in range(n_frames):
        viewer = positions[rng.integers(len(positions))]
        centre_f = np.asarray(centre, float) + rng.uniform(-spread, spread, 3) * [1, 1, 0.5]
        if rng.random() < close_fraction:
            towards = np.asarray(centre, float) - viewer
            towards /= np.linalg.norm(towards)
            centre_f = viewer + close_distance * towards + rng.uniform(-0.25, 0.25, 3) * close_distance
        facing = viewer - centre_f
        facing /= np.linalg.norm(facing)
        tilt = cv2.Rodrigues(rng.normal(size=3) / np.sqrt(3) * np.radians(tilt_deg))[0]
        z = -(tilt @ facing)  # board z points away from the viewer
        helper = np.array([0.0, 0.0, 1.0])
        x = np.cross(helper, z)
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        roll = rng.uniform(-np.pi, np.pi) * 0.25
        x, y = np.cos(roll) * x + np.sin(roll) * y, -np.sin(roll) * x + np.cos(roll) * y
        Rb = np.column_stack([x, y, z])
        tb = centre_f - Rb @ np.array([w / 2, h / 2, 0.0])
        poses.append((cv2.Rodrigues(Rb)[0].ravel(), tb))
    return poses

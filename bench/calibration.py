"""Board calibration benchmark: ours against aniposelib on the same synthetic images.

A 4-camera ring (640×480, principal points 10-40 px off centre, barrel distortion k1 -0.05…-0.25)
films a ChArUco board in 60 random poses; images are rendered with the true lens model, blur and
noise (:mod:`calibration.synthetic`). Both tools get the same images (each runs its own detector);
errors are against the truth: focal length (%), principal point (px), rotation of each camera
relative to the first (°) and
after turning the whole found rig onto the truth (°, gauge-free), baseline to the first camera (mm per metre), reprojection RMS (px),
wall time (s).

    python bench/calibration.py [--frames 60] [--size 640x480] [--no-aniposelib]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from calibration.boards import CharucoBoard  # noqa: E402
from calibration.pipeline import calibrate_detections  # noqa: E402
from calibration.synthetic import BoardRenderer, board_poses  # noqa: E402
from mocap.synthetic import camera_ring  # noqa: E402


def errors(truth, found) -> dict:
    """Worst-camera errors of ``found`` (list of (K, R, position)) against ``truth`` (Cameras)."""
    f, pp, rot, base = [], [], [], []
    R0t, p0t = truth[0].R, truth[0].position
    K0, R0f, p0f = found[0]
    for cam, (K, R, pos) in zip(truth, found):
        f.append(abs(K[0, 0] / cam.matrix[0, 0] - 1) * 100)
        pp.append(np.abs(K[:2, 2] - cam.matrix[:2, 2]).max())
        rel_t, rel_f = cam.R @ R0t.T, R @ R0f.T
        rot.append(np.degrees(np.arccos(np.clip((np.trace(rel_t.T @ rel_f) - 1) / 2, -1, 1))))
        bt, bf = np.linalg.norm(cam.position - p0t), np.linalg.norm(pos - p0f)
        base.append(abs(bf - bt) / max(bt, 1e-9) * 1000 if bt > 0 else 0.0)
    # Gauge-free rotation error: the found rig turned onto the truth (chordal mean), then per camera.
    U, _, Vt = np.linalg.svd(sum(cam.R.T @ R for cam, (_, R, _) in zip(truth, found)))
    Q = U @ Vt
    aligned = [np.degrees(np.arccos(np.clip((np.trace((cam.R @ Q).T @ R) - 1) / 2, -1, 1)))
               for cam, (_, R, _) in zip(truth, found)]
    return {"focal %": max(f), "pp px": max(pp), "rot° rel cam1": max(rot), "rot° aligned": max(aligned),
            "baseline mm/m": max(base)}


def run_ours(board, rig, images):
    t = time.perf_counter()
    detections = {n: {k: board.detect(img) for k, img in imgs.items()} for n, imgs in images.items()}
    result = calibrate_detections(detections, {c.name: c.size for c in rig}, board)
    wall = time.perf_counter() - t
    found = [(c.matrix, c.R, c.position) for c in result.group]
    return {**errors(rig, found), "RMS px": result.bundle.rms, "time s": wall}


def run_aniposelib(board, rig, images):
    import aniposelib.boards
    import aniposelib.cameras

    t = time.perf_counter()
    ab = aniposelib.boards.CharucoBoard(board.squares[0], board.squares[1], board.square_size, board.marker_size,
                                        marker_bits=4, dict_size=50)
    rows = []
    for cam in rig:
        cam_rows = []
        for i, (key, img) in enumerate(images[cam.name].items()):
            corners, ids = ab.detect_image(img)
            if corners is not None and len(corners) > 0:
                cam_rows.append({"framenum": (0, i), "corners": corners, "ids": ids})
        rows.append(cam_rows)
    group = aniposelib.cameras.CameraGroup.from_names([c.name for c in rig])
    for cam, acam in zip(rig, group.cameras):
        acam.set_size(cam.size)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints its camera tables whatever verbose says
        error = group.calibrate_rows(rows, ab, init_intrinsics=True, init_extrinsics=True, verbose=False)
    wall = time.perf_counter() - t
    found = []
    for acam in group.cameras:
        R = __import__("cv2").Rodrigues(np.asarray(acam.get_rotation(), float))[0]
        tvec = np.asarray(acam.get_translation(), float)
        found.append((np.asarray(acam.get_camera_matrix()), R, -R.T @ tvec))
    return {**errors(rig, found), "RMS px": float(error), "time s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--close", type=float, default=0.3, help="fraction of board poses close to one camera")
    parser.add_argument("--no-aniposelib", action="store_true")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    board = CharucoBoard((7, 5), 0.1, 0.075, "DICT_4X4_50")
    rig = camera_ring(4, radius=1.5 * w / 640, height=1.3, target=(0, 0, 1.0), size=(w, h), seed=1)
    poses = board_poses(np.array([c.position for c in rig]), board, args.frames, spread=0.9, tilt_deg=45,
                        close_fraction=args.close, close_distance=0.9 * w / 640, seed=0)
    renderer = BoardRenderer(board, pixels_per_square=80)
    images = {c.name: {f"{i:03d}": renderer.render(c, *p, rng=np.random.default_rng(i)) for i, p in enumerate(poses)}
              for c in rig}
    results = {"ours": run_ours(board, rig, images)}
    if not args.no_aniposelib:
        try:
            results["aniposelib 0.8"] = run_aniposelib(board, rig, images)
        except Exception as exc:  # report, do not hide, a failure of the other tool
            print(f"aniposelib failed: {type(exc).__name__}: {exc}")
    keys = list(next(iter(results.values())))
    print(f"{args.frames} board poses, 4 cameras {w}×{h}; worst camera shown")
    print(f"{'':16s}" + "".join(f"{k:>15s}" for k in keys))
    for name, row in results.items():
        print(f"{name:16s}" + "".join(f"{row[k]:15.4f}" for k in keys))


if __name__ == "__main__":
    main()

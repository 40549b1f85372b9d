"""Board calibration benchmark: ours against aniposelib on the same synthetic images.

A 4-camera ring (640×480, principal points 10-40 px off centre, barrel distortion k1 -0.05…-0.25)
films a ChArUco board in 60 random poses; images are rendered with the true lens model, blur and
noise (:mod:`calibration.synthetic`). Both tools get the same images (each runs its own detector);
errors are against the truth, worst camera: focal length (%), principal point (px), rotation of
each camera relative to the first (°) and after turning the whole found rig onto the truth (°,
gauge-free), baseline to the first camera (mm per metre), reprojection RMS (px), wall time (s).
``--seeds N`` repeats on N different rigs and board paths and prints the mean and the worst
over them; the last row is aniposelib's error (or time) over ours.

    python bench/calibration.py [--frames 60] [--size 640x480] [--seeds 1] [--no-aniposelib]
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


def scene_images(w: int, h: int, frames: int, close: float, seed: int):
    board = CharucoBoard((7, 5), 0.1, 0.075, "DICT_4X4_50")
    rig = camera_ring(4, radius=1.5 * w / 640, height=1.3, target=(0, 0, 1.0), size=(w, h), seed=1 + seed)
    poses = board_poses(np.array([c.position for c in rig]), board, frames, spread=0.9, tilt_deg=45,
                        close_fraction=close, close_distance=0.9 * w / 640, seed=seed)
    renderer = BoardRenderer(board, pixels_per_square=80)
    images = {c.name: {f"{i:03d}": renderer.render(c, *p, rng=np.random.default_rng(1000 * seed + i))
                       for i, p in enumerate(poses)} for c in rig}
    return board, rig, images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--close", type=float, default=0.3, help="fraction of board poses close to one camera")
    parser.add_argument("--seeds", type=int, default=1, help="number of different scenes")
    parser.add_argument("--no-aniposelib", action="store_true")
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    runs: dict[str, list[dict]] = {}
    for seed in range(args.seeds):
        board, rig, images = scene_images(w, h, args.frames, args.close, seed)
        runs.setdefault("ours", []).append(run_ours(board, rig, images))
        if not args.no_aniposelib:
            try:
                runs.setdefault("aniposelib 0.8", []).append(run_aniposelib(board, rig, images))
            except Exception as exc:  # report, do not hide, a failure of the other tool
                print(f"aniposelib failed on scene {seed}: {type(exc).__name__}: {exc}")
    keys = list(runs["ours"][0])
    print(f"{args.frames} board poses, 4 cameras {w}×{h}, {args.seeds} scene(s); worst camera per scene")
    print(f"{'':22s}" + "".join(f"{k:>15s}" for k in keys))
    means = {}
    for name, rows in runs.items():
        table = np.array([[row[k] for k in keys] for row in rows])
        means[name] = table.mean(0)
        print(f"{name + (' (mean)' if len(rows) > 1 else ''):22s}" + "".join(f"{v:15.4f}" for v in table.mean(0)))
        if len(rows) > 1:
            print(f"{name + ' (worst)':22s}" + "".join(f"{v:15.4f}" for v in table.max(0)))
    if len(means) == 2:
        ratio = means["aniposelib 0.8"] / np.maximum(means["ours"], 1e-12)
        print(f"{'aniposelib / ours':22s}" + "".join(f"{v:14.1f}×" for v in ratio))


if __name__ == "__main__":
    main()

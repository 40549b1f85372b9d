"""The Blender extension, installed from the zip `mocap blender build-addon` builds, imports what mocap
wrote (the demo session, the real Pose2Sim demo, an SMPL-X fit of a test-built model) into headless
Blender; objects, frame ranges, frame rates and world positions are compared with mocap's own data.

Blender runs once for the module, in a subprocess with HOME in a temporary folder: it installs and
enables the zip through ``bpy.ops.extensions.package_install_files``, runs every import operator on
a fresh scene, samples what it made at every frame, and saves it for the tests to compare.
"""

import ast
import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from blender_addon import readers
from mocap.data import Keypoints3D
from mocap.retarget import forward_kinematics, retarget

pytestmark = pytest.mark.blender
ROOT = Path(__file__).resolve().parents[1]

BLENDER_SCRIPT = r"""
import json, sys
import bpy
import numpy as np
from bpy_extras.object_utils import world_to_camera_view

zip_path, cases_path, out = sys.argv[1:4]
info = {"install": sorted(bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                                                    enable_on_install=True))}
info["enabled"] = "bl_ext.user_default.mocap" in bpy.context.preferences.addons
arrays = {}

def frames():
    s = bpy.context.scene
    return range(s.frame_start, s.frame_end + 1)

def sample(key, objects):
    scene, depsgraph = bpy.context.scene, bpy.context.evaluated_depsgraph_get()
    empties = [o for o in objects if o.type == "EMPTY"]
    points = [o for o in objects if o.type == "MESH" and "mocap_keypoints" in o]
    arms = [o for o in objects if o.type == "ARMATURE"]
    meshes = [o for o in objects if o.type == "MESH" and o.parent is not None]
    e, p, a = [], [], []
    for f in frames():
        scene.frame_set(f)
        e.append([list(o.matrix_world.translation) for o in empties])
        p.append([[list(o.matrix_world @ v.co) for v in o.evaluated_get(depsgraph).data.vertices] for o in points])
        a.append([[list(o.matrix_world @ b.head) for b in o.pose.bones] for o in arms])
    if empties:
        arrays[key + "/empties"] = np.array(e)
    if points:
        arrays[key + "/points"] = np.array([frame[0] for frame in p])  # the first person's point object
    if arms:
        arrays[key + "/bones"] = np.array(a)[:, 0]
        arm = arms[0]
        # World rotation of every bone relative to its rest, at every frame (armature space).
        rots = []
        for f in frames():
            scene.frame_set(f)
            rots.append([np.array(b.matrix.to_3x3() @ b.bone.matrix_local.to_3x3().inverted())
                         for b in arm.pose.bones])
        arrays[key + "/bone_rotations"] = np.array(rots)
    for o in meshes[:1]:
        v = []
        for f in list(frames())[:3]:
            scene.frame_set(f)
            v.append([list(o.matrix_world @ x.co) for x in o.evaluated_get(depsgraph).data.vertices])
        arrays[key + "/mesh"] = np.array(v)
    s = bpy.context.scene
    return {"objects": sorted(o.name for o in objects), "types": sorted({o.type for o in objects}),
            "empties": [o.name for o in empties], "bones": [b.name for o in arms[:1] for b in o.pose.bones],
            "point_keypoints": [list(o["mocap_keypoints"]) for o in points],
            "point_edges": [len(o.data.edges) for o in points],
            "fps": s.render.fps / s.render.fps_base, "range": [s.frame_start, s.frame_end],
            "frame_index": [list(o["mocap_frame_index"]) for o in objects if "mocap_frame_index" in o][:1],
            "mesh_vertices": [len(o.data.vertices) for o in meshes],
            "mesh_groups": [len(o.vertex_groups) for o in meshes],
            "modifiers": [m.type for o in meshes for m in o.modifiers]}

for case in json.load(open(cases_path)):
    bpy.ops.wm.read_homefile(use_empty=True)
    op = getattr(bpy.ops.import_scene, case.pop("op"))
    key = case.pop("key")
    before = set(bpy.data.objects)
    try:
        result = sorted(op(**case))
        message = ""
    except RuntimeError as exc:  # an operator that reported an error
        result, message = ["CANCELLED"], str(exc)
    made = [o for o in bpy.data.objects if o not in before]
    entry = {"result": result, "message": message}
    if made and result == ["FINISHED"]:
        entry.update(sample(key, made))
        cams = [o for o in made if o.type == "CAMERA"]
        if cams:
            pts = np.load(cases_path + ".points.npy")
            scene = bpy.context.scene
            proj = []
            for cam in cams:
                w, h = cam["mocap_image_size"]
                scene.render.resolution_x, scene.render.resolution_y = w, h
                uv = [world_to_camera_view(scene, cam, __import__("mathutils").Vector(p)) for p in pts]
                proj.append([[c.x * w - 0.5, (1 - c.y) * h - 0.5, c.z] for c in uv])
            arrays[key + "/camera_pixels"] = np.array(proj)
            entry["cameras"] = [c.name for c in cams]
    info[key] = entry
np.savez(out + ".npz", **arrays)
json.dump(info, open(out + ".json", "w"))
"""


def _kp3d(xyz, fps):
    xyz = np.asarray(xyz, dtype=float)
    xyz = xyz[:, None] if xyz.ndim == 3 else xyz
    seen = np.isfinite(xyz).all(-1)
    return Keypoints3D(xyz=xyz, score=seen.astype(float), reproj_error=np.where(seen, 1.0, np.nan),
                       n_views=seen * 3, fps=fps, frame_index=np.arange(len(xyz)) + 7, world_frame="floor")


@pytest.fixture(scope="module")
def addon_zip(tmp_path_factory):
    path = tmp_path_factory.mktemp("addon") / "mocap_addon.zip"
    run = subprocess.run([sys.executable, "-m", "mocap.cli", "blender", "build-addon", "-o", str(path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return path


@pytest.fixture(scope="module")
def smplx_case(tmp_path_factory):
    """A synthetic SMPL-X model file, a fit saved as `mocap retarget --smplx-model` saves it, and
    smplx's own forward pass of it (joints, and vertices without pose correctives)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("smplx")
    from mocap.data import SMPLXFit
    from mocap.smplx_fit.model import load_smplx
    from mocap.smplx_fit.synthetic import synthetic_model_arrays

    folder = tmp_path_factory.mktemp("smplx")
    arrays = synthetic_model_arrays(seed=2)
    np.savez(folder / "SMPLX_NEUTRAL.npz", **arrays)
    np.savez(folder / "flat.npz", **dict(arrays, posedirs=np.zeros_like(arrays["posedirs"])))
    T, rng = 6, np.random.default_rng(3)
    t = np.arange(T)[:, None]
    fit = SMPLXFit(betas=rng.normal(0, 1, 10), global_orient=np.array([[np.pi / 2, 0, 0]]) + 0.1 * np.sin(t),
                   body_pose=rng.normal(0, 0.3, (T, 63)), left_hand_pose=rng.normal(0, 0.3, (T, 45)),
                   right_hand_pose=rng.normal(0, 0.3, (T, 45)), jaw_pose=rng.normal(0, 0.1, (T, 3)),
                   expression=np.zeros((T, 10)), transl=np.hstack([0.1 * t, 0 * t, 0.9 + 0 * t]), fps=30.0)
    path = fit.save(folder / "motion_smplx.npz")
    body = load_smplx(folder / "flat.npz", batch_size=T).double()
    z = torch.zeros(T, 3, dtype=torch.float64)
    tt = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    with torch.no_grad():
        out = body(betas=tt(fit.betas)[None].expand(T, -1), global_orient=tt(fit.global_orient),
                   body_pose=tt(fit.body_pose), left_hand_pose=tt(fit.left_hand_pose),
                   right_hand_pose=tt(fit.right_hand_pose), jaw_pose=tt(fit.jaw_pose), expression=tt(fit.expression),
                   transl=tt(fit.transl), leye_pose=z, reye_pose=z)
    return dict(path=path, model=folder / "SMPLX_NEUTRAL.npz", fit=fit, joints=out.joints[:, :55].numpy(),
                vertices=out.vertices.numpy())


@pytest.fixture(scope="module")
def blender(tmp_path_factory, addon_zip, smplx_case, request):
    if importlib.util.find_spec("bpy") is None:
        pytest.skip("bpy (Blender as a Python module) is not installed")
    folder = tmp_path_factory.mktemp("blender_addon")
    demo = folder / "demo"
    run = subprocess.run([sys.executable, "-m", "mocap.cli", "--quiet", "demo", "-o", str(demo), "--frames", "40"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = demo / "output"
    run = subprocess.run([sys.executable, "-m", "mocap.cli", "retarget", str(out / "pose3d.npz"), "-o",
                          str(out / "motion.npz")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    data = {"demo_kp": Keypoints3D.load(out / "pose3d.npz"), "demo_motion": readers.read_motion(out / "motion.npz")}
    cases = [dict(op="mocap_pose3d", key="demo_empties", filepath=str(out / "pose3d.npz")),
             dict(op="mocap_pose3d", key="demo_points", filepath=str(out / "pose3d.npz"), display="POINTS"),
             dict(op="mocap_motion", key="demo_motion", filepath=str(out / "motion.npz")),
             dict(op="mocap_session", key="session", directory=str(demo)),
             dict(op="mocap_smplx", key="smplx_mesh", filepath=str(smplx_case["path"]),
                  model_path=str(smplx_case["model"])),
             dict(op="mocap_smplx", key="smplx_template", filepath=str(smplx_case["path"]), model_path="",
                  frame_start=10, set_fps=False),
             dict(op="mocap_pose3d", key="bad_kind", filepath=str(out / "pose2d.npz")),
             dict(op="mocap_motion", key="bad_motion", filepath=str(out / "pose3d.npz"))]
    try:
        xyz, fps = request.getfixturevalue("pose2sim_subject")
    except pytest.skip.Exception:
        xyz = None
    if xyz is not None:
        kp = _kp3d(xyz, fps)
        kp.save(folder / "pose2sim_pose3d.npz")
        motion = retarget(kp).motion
        motion.save(folder / "pose2sim_motion.npz")
        data.update(p2s_kp=kp, p2s_motion=readers.read_motion(folder / "pose2sim_motion.npz"))
        cases += [dict(op="mocap_pose3d", key="p2s_empties", filepath=str(folder / "pose2sim_pose3d.npz")),
                  dict(op="mocap_motion", key="p2s_motion", filepath=str(folder / "pose2sim_motion.npz"))]
    cases_path = folder / "cases.json"
    cases_path.write_text(json.dumps(cases))
    truth = Keypoints3D.load(out / "truth3d.npz").xyz[:5, 0, :5].reshape(-1, 3)
    np.save(str(cases_path) + ".points.npy", truth)
    (folder / "home").mkdir()
    env = dict(os.environ, HOME=str(folder / "home"))
    run = subprocess.run([sys.executable, "-c", BLENDER_SCRIPT, str(addon_zip), str(cases_path), str(folder / "out")],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    info = json.loads((folder / "out.json").read_text())
    with np.load(folder / "out.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    data.update(demo=demo, truth_points=truth)
    return info, arrays, data


def test_the_built_zip_validates_installs_and_enables(addon_zip, blender):
    info, _, _ = blender
    assert info["install"] == ["FINISHED"] and info["enabled"]
    with zipfile.ZipFile(addon_zip) as z:
        names = set(z.namelist())
    assert {"blender_manifest.toml", "__init__.py", "protocol.py", "mocap_tables.json"} <= names
    assert not any("__pycache__" in n or n.startswith("tests") for n in names)
    import bpy  # noqa: F401  (only to find Blender's own manifest validator beside it)
    validator = next(Path(importlib.util.find_spec("bpy").origin).parent.glob("*/scripts/addons_core/bl_pkg/cli/"
                                                                                "blender_ext.py"))
    run = subprocess.run([sys.executable, str(validator), "validate", str(addon_zip)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0 and "Success" in run.stdout, run.stdout + run.stderr
    import tomllib
    with zipfile.ZipFile(addon_zip) as z:
        manifest = tomllib.loads(z.read("blender_manifest.toml").decode())
    assert manifest["schema_version"] == "1.0.0" and manifest["blender_version_min"] == "4.2.0"
    assert set(manifest["permissions"]) == {"network", "files"} and all(manifest["permissions"].values())


def test_the_addon_imports_only_bpy_mathutils_numpy_and_the_standard_library():
    allowed = set(sys.stdlib_module_names) | {"bpy", "mathutils", "numpy"}
    for path in (ROOT / "blender_addon").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                tops = [node.module.split(".")[0]]
            else:
                continue
            assert set(tops) <= allowed, f"{path.name} imports {tops}"
    from blender_addon import tables
    from mocap.data import WHOLEBODY
    assert tables.WHOLEBODY == WHOLEBODY


def _check_rate(entry, fps, n_frames, start=1):
    assert entry["result"] == ["FINISHED"], entry
    assert abs(entry["fps"] - fps) < 1e-6 and entry["range"] == [start, start + n_frames - 1]


def test_keypoints_import_as_named_empties_on_the_data(blender):
    info, arrays, data = blender
    for key, kp in (("demo_empties", data["demo_kp"]), ("p2s_empties", data.get("p2s_kp"))):
        if kp is None:
            continue
        entry = info[key]
        _check_rate(entry, kp.fps, kp.n_frames)
        xyz = kp.xyz[:, 0]
        seen = np.flatnonzero(np.isfinite(xyz).all(-1).any(0))
        from mocap.skeleton import NAMES
        assert sorted(entry["empties"]) == sorted(f"p0_{NAMES[k]}" for k in seen)
        assert entry["frame_index"] == [list(map(int, kp.frame_index))]
        column = {name: i for i, name in enumerate(entry["empties"])}
        got = arrays[key + "/empties"][:, [column[f"p0_{NAMES[k]}"] for k in seen]]  # (T, empties, 3)
        want = xyz[:, seen]
        ok = np.isfinite(want).all(-1)
        error = np.linalg.norm(got - want, axis=-1)[ok]
        print(f"\n{key}: {len(seen)} empties, {ok.sum()} positions, max error {error.max() * 1000:.4f} mm")
        assert error.max() < 1e-3


def test_keypoints_import_as_one_point_object(blender):
    info, arrays, data = blender
    entry, kp = info["demo_points"], data["demo_kp"]
    _check_rate(entry, kp.fps, kp.n_frames)
    (keypoints,) = entry["point_keypoints"]
    got = arrays["demo_points/points"]  # (T, vertices, 3)
    want = kp.xyz[:, 0, keypoints]
    ok = np.isfinite(want).all(-1)
    assert got.shape == want.shape and ok.mean() > 0.9
    assert np.linalg.norm(got - want, axis=-1)[ok].max() < 1e-3
    assert entry["point_edges"][0] > 100  # the whole-body bone tree


def _in_order(entry, array, names):
    """Blender keeps bones in its own (hierarchical) order: ``array``'s bone axis put in ``names``' order."""
    assert sorted(entry["bones"]) == sorted(names)
    return array[:, [entry["bones"].index(n) for n in names]]


def _check_armature(entry, bones, motion):
    bones = _in_order(entry, bones, motion.joint_names)
    fk = forward_kinematics(motion)
    error = np.linalg.norm(bones - fk, axis=-1)
    assert error.max() < 1e-3, error.max()
    return error


def test_motion_imports_as_an_armature_on_the_motion(blender):
    info, arrays, data = blender
    for key, mkey in (("demo_motion", "demo_motion"), ("p2s_motion", "p2s_motion")):
        if mkey not in data:
            continue
        m = data[mkey]
        _check_rate(info[key], m.fps, len(m.rotations))
        from mocap.data import Motion
        motion = Motion(joint_names=m.joint_names, parents=m.parents, offsets=m.offsets,
                        root_translation=m.root_translation, rotations=m.rotations, fps=m.fps)
        error = _check_armature(info[key], arrays[key + "/bones"], motion)
        print(f"\n{key}: {len(m.joint_names)} bones x {len(m.rotations)} frames, max {error.max() * 1000:.4f} mm")


def _smplx_world_rotations(fit):
    """Each SMPL-X joint's world rotation (T, 55, 3, 3) from the fit, relative to the Z-up rest
    (our armature's rest is SMPL-X's canonical rest turned +90 deg about X)."""
    from scipy.spatial.transform import Rotation

    from blender_addon.tables import SMPLX_PARENTS
    pose = fit.poses().reshape(fit.n_frames, 55, 3)
    R = Rotation.from_rotvec(pose.reshape(-1, 3)).as_matrix().reshape(fit.n_frames, 55, 3, 3)
    world = np.zeros_like(R)
    for j, p in enumerate(SMPLX_PARENTS):
        world[:, j] = R[:, j] if p < 0 else world[:, p] @ R[:, j]
    C = Rotation.from_euler("x", 90, degrees=True).as_matrix()
    return world @ C.T


def test_smplx_fit_imports_as_armature_and_skinned_mesh(blender, smplx_case):
    info, arrays, _ = blender
    fit, entry = smplx_case["fit"], info["smplx_mesh"]
    _check_rate(entry, 30.0, fit.n_frames)
    from blender_addon.tables import SMPLX_JOINTS
    bones = _in_order(entry, arrays["smplx_mesh/bones"], SMPLX_JOINTS)
    error = np.linalg.norm(bones - smplx_case["joints"], axis=-1)
    print(f"\nSMPL-X: bones to smplx joints max {error.max() * 1000:.4f} mm")
    assert error.max() < 1e-3
    rot_error = np.abs(_in_order(entry, arrays["smplx_mesh/bone_rotations"], SMPLX_JOINTS)
                       - _smplx_world_rotations(fit)).max()
    assert rot_error < 1e-4
    # The mesh: SMPL-X's linear blend skinning (smplx without pose correctives is the truth).
    assert entry["mesh_vertices"] == [10475] and entry["mesh_groups"] == [55] and entry["modifiers"] == ["ARMATURE"]
    verts = arrays["smplx_mesh/mesh"]
    v_error = np.linalg.norm(verts - smplx_case["vertices"][:3], axis=-1)
    print(f"SMPL-X mesh: vertices max {v_error.max() * 1000:.4f} mm")
    assert v_error.max() < 1e-3


def test_smplx_fit_without_the_model_gets_the_template_skeleton_with_exact_rotations(blender, smplx_case):
    info, arrays, _ = blender
    entry = info["smplx_template"]
    assert entry["result"] == ["FINISHED"] and entry["types"] == ["ARMATURE"]
    # Keys from frame 10; without "set scene frame rate" the scene keeps its 24 fps and frames 1-250.
    assert entry["range"] == [1, 250] and entry["fps"] == 24.0
    from blender_addon.tables import SMPLX_JOINTS
    rotations = _in_order(entry, arrays["smplx_template/bone_rotations"], SMPLX_JOINTS)
    rotations = rotations[9:9 + smplx_case["fit"].n_frames]
    rot_error = np.abs(rotations - _smplx_world_rotations(smplx_case["fit"])).max()
    assert rot_error < 1e-4


def test_session_folder_imports_its_newest_results_and_cameras(blender):
    info, arrays, data = blender
    entry = info["session"]
    _check_rate(entry, data["demo_kp"].fps, data["demo_kp"].n_frames)
    assert {"MESH", "ARMATURE", "CAMERA"} <= set(entry["types"])  # keypoints, motion, cameras
    assert len(entry["cameras"]) == 4
    import calibration
    group = calibration.load_calibration(data["demo"] / "calibration" / "calibration.toml")
    pts = data["truth_points"]
    got = arrays["session/camera_pixels"]  # (C, N, 3): u, v (OpenCV pixels), depth
    from scipy.spatial.transform import Rotation
    for c, cam in enumerate(group.cameras):
        R = Rotation.from_rotvec(np.array(cam.rvec, dtype=float).ravel()).as_matrix()
        x = pts @ R.T + np.ravel(cam.tvec)  # in the camera's frame
        K = cam.matrix
        # Blender's camera has square pixels: its focal length is fx (the frame's wider side), so it
        # is the pinhole model with fy = fx to a hundredth of a pixel, and the real one to the
        # difference fy - fx makes (0.1 px here).
        f = K[0, 0] if cam.size[0] >= cam.size[1] else K[1, 1]
        square = x[:, :2] / x[:, 2:] * f + K[:2, 2]
        assert np.abs(got[c, :, :2] - square).max() < 0.01, c
        uv = x[:, :2] / x[:, 2:] * [K[0, 0], K[1, 1]] + K[:2, 2]
        assert np.abs(got[c, :, :2] - uv).max() < 0.5
        assert np.abs(got[c, :, 2] - x[:, 2]).max() < 1e-5


def test_wrong_files_are_refused_with_their_name(blender):
    info, _, data = blender
    for key, problem in (("bad_kind", "holds 'Keypoints2D', expected 'Keypoints3D'"),
                         ("bad_motion", "holds 'Keypoints3D', expected 'Motion'")):
        entry = info[key]
        assert entry["result"] == ["CANCELLED"] and problem in entry["message"] and ".npz" in entry["message"]

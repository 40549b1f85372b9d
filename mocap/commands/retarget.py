"""``mocap retarget``: 3D keypoints -> the whole-body armature (body and fingers) for a rig, as motion.npz."""

from __future__ import annotations

import argparse


def _cmd_retarget(args) -> None:
    from mocap.api import retarget
    from mocap.errors import SettingsError

    if args.smplx_model is not None:
        fit = retarget(args.input, args.output, person=args.person, smplx_model=args.smplx_model, gender=args.gender,
                       progress=not args.quiet)
        print(f"fitted SMPL-X ({fit.gender}) to {fit.n_frames} frames at {fit.fps:g} fps\nwrote {args.output}")
        if args.mesh:
            from pathlib import Path

            from mocap.smplx_fit.mesh import write_mesh_sequence

            model = None if args.smplx_model == "env" else args.smplx_model
            if not Path(args.mesh).is_dir():
                raise SettingsError(f"the mesh folder {args.mesh} does not exist")
            paths = write_mesh_sequence(fit, args.mesh, model, fmt=args.mesh_format)
            print(f"wrote {len(paths)} meshes to {args.mesh}")
        return
    if args.mesh:
        raise SettingsError("--mesh writes the posed SMPL-X mesh: it needs --smplx-model")
    if args.gender != "neutral":
        raise SettingsError("--gender chooses the SMPL-X model file: it needs --smplx-model")
    result = retarget(args.input, args.output, person=args.person, rig=args.rig, foot_lock=args.foot_lock,
                      contacts_path=args.contacts)
    m = result.motion
    print(f"retargeted {m.n_frames} frames at {m.fps:g} fps onto {len(m.joint_names)} {args.rig} bones")
    if result.rest_joints:
        print(f"never seen, left in rest pose: {', '.join(result.rest_joints)}")
    if result.contacts is not None:
        print(f"feet locked: left down {result.contacts[:, 0].mean():.0%}, right {result.contacts[:, 1].mean():.0%} "
              "of frames")
    print(f"wrote {args.output}")


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("retarget", help="pose3d.npz -> motion.npz: whole-body armature with fingers for a rig")
    p.add_argument("input", help="3D keypoints (pose3d.npz or pose3d_filtered.npz)")
    p.add_argument("-o", "--output", required=True, help="motion file to write (.npz); then `mocap export bvh|fbx|gltf`")
    p.add_argument("--rig", default="default", choices=["default", "mixamo", "unreal", "unity", "rigify"],
                   help="bone names and chain of the target skeleton")
    p.add_argument("--person", type=int, default=0, help="which person (P axis)")
    p.add_argument("--foot-lock", action="store_true", help="pin the feet while they stand (contacts detected)")
    p.add_argument("--contacts", metavar="NPZ", help="foot_contacts.npz from `mocap filter` to lock the feet with")
    p.add_argument("--smplx-model", metavar="PATH", nargs="?", const="env",
                   help="fit SMPL-X instead: the model .npz or its folder (licensed: download from "
                        "https://smpl-x.is.tue.mpg.de); without PATH, $MOCAP_SMPLX_MODEL. Writes an AMASS-style .npz")
    p.add_argument("--mesh", metavar="DIR", help="with --smplx-model: also write the posed mesh of every frame here")
    p.add_argument("--mesh-format", choices=["obj", "glb"], default="obj", help="posed mesh files (OBJ Z up, GLB Y up)")
    p.add_argument("--gender", choices=["neutral", "female", "male"], default="neutral", help="SMPL-X model gender")
    p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_retarget)

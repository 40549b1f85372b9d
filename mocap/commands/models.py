"""``mocap models list / pull NAME / import PATH --name NAME``: the ONNX model registry and cache."""

from __future__ import annotations

import argparse


def _cmd_list(args) -> None:
    from mocap.models import REGISTRY, cache_dir, installed

    cache = cache_dir()
    print(f"model cache: {cache} (set MOCAP_MODELS_DIR to move it)")
    names = sorted(set(REGISTRY) | ({p.name for p in cache.iterdir() if (p / "model.json").is_file()}
                                    if cache.is_dir() else set()))
    for name in names:
        have = installed(name, cache)
        e = have.entry if have else REGISTRY[name]
        state = "installed" if have else ("downloadable" if e.url else "import only")
        w, h = e.input_size
        print(f"  {name:20s} {e.kind:8s} {w}x{h:<4d} {e.licence:18s} {state:12s} {e.description}")


def _cmd_pull(args) -> None:
    from mocap.models import pull

    model, sha = pull(args.name, progress=not args.quiet)
    pinned = model.entry.sha256
    print(f"sha256 {sha} ({'verified' if pinned else 'not pinned in the registry: recorded in the cache'})")
    print(f"installed {args.name}: {model.onnx_path}")


def _cmd_import(args) -> None:
    from mocap.models import import_model

    model = import_model(args.path, args.name, kind=args.kind, input_size=args.input_size)
    print(f"installed {args.name}: {model.onnx_path}")


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("models", help="ONNX model registry: list, pull, import")
    sub = p.add_subparsers(dest="models_verb", required=True, metavar="ACTION")
    q = sub.add_parser("list", help="registry entries and cached models")
    q.set_defaults(func=_cmd_list)
    q = sub.add_parser("pull", help="download a registry model (progress, resume, sha256 check)")
    q.add_argument("name")
    q.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS)
    q.set_defaults(func=_cmd_pull)
    q = sub.add_parser("import", help="copy a local .onnx file, archive or mmdeploy folder into the cache")
    q.add_argument("path")
    q.add_argument("--name", required=True)
    q.add_argument("--kind", choices=["pose", "detector"], default="pose")
    q.add_argument("--input-size", type=int, nargs=2, metavar=("W", "H"))
    q.set_defaults(func=_cmd_import)

"""``mocap init DIR``: a new session folder with a commented session.toml of every setting."""

from __future__ import annotations


def _cmd_init(args) -> None:
    from mocap.api import init_session

    session = init_session(args.folder, videos=args.videos or (), calibration=args.calibration or None,
                           force=args.force)
    print(f"wrote {session.settings_path} (every setting with its default)")
    for folder in (session.videos_dir, session.calibration_dir):
        names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        print(f"{folder}/: {', '.join(names) if names else 'empty'}")
    print(f"next: put one video per camera into videos/ and a calibration (file or board pictures) into "
          f"calibration/, then `mocap run {args.folder}`")


def register(verbs, calibration_actions=None) -> None:
    p = verbs.add_parser("init", help="new session folder (videos/, calibration/, output/) with a commented "
                                      "session.toml")
    p.add_argument("folder", help="session folder to create (or complete)")
    p.add_argument("--videos", nargs="+", metavar="FILE", help="videos to put into videos/ (file stem = camera)")
    p.add_argument("--calibration", nargs="+", metavar="FILE", help="calibration file(s) to put into calibration/")
    p.add_argument("--force", action="store_true", help="replace an existing session.toml with the defaults")
    p.set_defaults(func=_cmd_init)

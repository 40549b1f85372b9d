"""The commented ``session.toml`` that ``mocap init`` writes: every table and key of the schema with
its default, a comment saying what it does and what it accepts. Reading the file back gives
exactly the defaults (the unset settings are written commented out, with an example value)."""

from __future__ import annotations

import textwrap

from mocap.session.schema import TABLES
from calibration.toml_values import toml_value
from mocap.session.settings import allowed

HEADER = """\
# mocap session settings: every setting of every stage, with its default.
#
# `mocap run` runs the stages that are out of date, in order: calibration, pose2d (which first
# synchronizes the cameras, [sync]), triangulate, filter, retarget, export, report. Change a value
# here and the stage that reads it reruns, with the stages after it; the others are kept. Lines "# key = value" are unset: remove the "#" to set
# them. Paths are relative to this folder.
#
# Layout: videos/       one video per camera (the file stem is the camera name)
#         calibration/  a calibration file (.toml, Qualisys .qca.txt), or board pictures: one
#                       sub-folder of images or one video per camera
#         output/       everything mocap writes, with each stage's manifest (<stage>.manifest.json)
"""


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, width=98, initial_indent="# ", subsequent_indent="# ")


def _bounded(s) -> bool:
    return any(v is not None for v in (s.low, s.above, s.high))


def session_toml() -> str:
    """The text of a default session.toml."""
    lines = [HEADER]
    for table in TABLES:
        lines.append(f"[{table.name}]")
        lines += _comment(table.help)
        for s in table.settings:
            lines.append("")
            obvious = s.kind in ("bool", "str", "str_or_int", "names") or (s.kind in ("int", "float") and
                                                                            not _bounded(s))
            lines += _comment(s.help if obvious else f"{s.help} — {allowed(s)}")
            if s.default is None:
                lines.append(f"# {s.key} = {toml_value(s.example)}")
            else:
                lines.append(f"{s.key} = {toml_value(s.default)}")
        lines.append("")
    return "\n".join(lines) + "\n"

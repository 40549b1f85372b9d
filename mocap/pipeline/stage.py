"""What a stage of ``mocap run`` is: a function from the session's files to new files, and what it depends on.

A stage's ``run(ctx)`` reads the session (videos, calibration/, earlier stages' outputs in
``output/``) and writes its own outputs into ``ctx.work``, a scratch folder the runner publishes
into ``output/`` only once the stage has succeeded; it returns a one-line summary. Everything a
stage's result depends on is declared, so the runner can tell when it is out of date: the files
it reads (``inputs``), the settings tables it reads (``tables``) and its source code (``code``).
``owns`` lists the ``output/`` files it writes (glob patterns): any matching file it did not write
on its last run is stale and removed.

A stage whose work splits into independent jobs (the 2D of each camera, :mod:`mocap.pipeline.parts`)
lists them with ``jobs(ctx)``: ``mocap run`` lets the stage do them itself, ``mocap batch`` hands
the ones not done yet to its workers first, then runs the stage, which finds them done.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mocap.pipeline.manifest import Digests
from mocap.pipeline.plan import SessionPlan
from mocap.session import Session, SessionSettings


@dataclass(frozen=True)
class StageContext:
    session: Session
    settings: SessionSettings
    plan: SessionPlan
    work: Path
    progress: bool = True
    stage_names: tuple[str, ...] = ()  # the stages of this session, in order
    digests: Digests | None = None  # content digests of the session's files, shared with the runner

    def digest(self, path: Path) -> str:
        """The content digest of a session file (reusing the manifests' where the file did not change)."""
        digests = self.digests or Digests(self.session.root)
        return digests.record(self.session.relative(path))["sha256"]

    def output(self, name: str) -> Path:
        """An output of an earlier stage (in output/)."""
        return self.session.output_dir / name

    def out(self, name: str) -> Path:
        """Where this stage writes ``name`` (published into output/ when it succeeds)."""
        return self.work / name


@dataclass(frozen=True)
class Stage:
    name: str
    help: str
    run: Callable[[StageContext], str] | None  # None: the slot exists, the stage is not available yet
    inputs: Callable[[StageContext], list[Path]]
    tables: tuple[str, ...]  # settings tables (or "table.key") the result depends on
    code: tuple[str, ...]  # source files / packages (relative to the project root) it runs
    owns: tuple[str, ...]  # glob patterns, relative to output/, of what it writes
    requires: tuple[str, ...] = ()  # earlier stages' outputs (names in output/) it cannot do without
    facts: Callable[[StageContext], dict] | None = None  # anything else its result depends on
    jobs: Callable[[StageContext], list] | None = None  # independent pieces of its work (module docstring)

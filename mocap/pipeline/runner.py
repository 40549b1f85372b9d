"""``mocap run``: every stage of a session that is out of date, in order, resumable at any moment.

For each stage (:mod:`mocap.pipeline.stages`) the runner computes a key from the stage's code,
the settings it reads and the content of the files it reads, and compares it with the stage's
manifest (:mod:`mocap.pipeline.manifest`). A stage is up to date when its manifest says it
finished with that key and its outputs are still what it wrote; otherwise it runs. Since the key
of a stage covers the content of the earlier stages' outputs, changing one setting reruns that
stage, and then each later stage whose inputs came out different.

How a stage runs, so that ``kill -9`` at any moment followed by a rerun gives the outputs of an
uninterrupted run, and a failure loses nothing:

1. its manifest is rewritten with status "running" (so an interrupted stage is never taken as
   finished), keeping the list of its previous outputs;
2. it writes into a scratch folder, ``output/.work/<stage>``, emptied first;
3. on success its files are moved into ``output/`` one rename each; files it owns (its output
   patterns, or listed by its previous manifest) that it did not write this time are removed;
4. the manifest is rewritten with status "done", the outputs' digests, time and warnings.

A stage that fails leaves ``output/`` as it was (its scratch folder is dropped) and its manifest
says "failed" with the error; the stages before it are untouched and the ones after it do not run.
A lock file keeps two runs off one session.

With ``defer_jobs`` (what ``mocap batch`` does) the run stops before a stage that is out of date and
has jobs not done yet (:attr:`Stage.jobs`, the 2D of each camera), and hands them back in
:attr:`RunResult.jobs`: whoever runs them calls :func:`run_session` again, which then goes on.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from mocap.errors import InputFileError, MocapError, OutputError, SettingsError
from mocap.pipeline.manifest import Digests, Manifest, code_digest, code_root, stage_key, MANIFEST_SUFFIX
from mocap.pipeline.plan import plan_session
from mocap.pipeline.stage import Stage, StageContext
from mocap.pipeline.stages import STAGE_NAMES, STAGES, session_stages
from mocap.pipeline.timeline import sync_plan
from mocap.session import open_session

WORK = ".work"


@dataclass(frozen=True)
class StageRun:
    name: str
    status: str  # "ran", "up to date", "would run", "waiting" (for its jobs: defer_jobs), "failed"
    reason: str = ""
    seconds: float = 0.0
    summary: str = ""
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunResult:
    folder: Path
    stages: tuple[StageRun, ...]
    seconds: float
    jobs: tuple = ()  # defer_jobs: the jobs the waiting stage needs done first

    @property
    def ran(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages if s.status == "ran")

    @property
    def up_to_date(self) -> bool:
        return all(s.status == "up to date" for s in self.stages)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def session_lock(output_dir: Path):
    """Hold ``output/.lock`` for the run (released by the system when the process dies)."""
    try:
        import fcntl
    except ImportError:  # no advisory locks on this system: runs are not guarded
        yield
        return
    with open(output_dir / ".lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputError("another `mocap run` is working on this session; wait for it to finish",
                              output_dir) from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _owned(output_dir: Path, patterns) -> set[Path]:
    files = set()
    for pattern in patterns:
        if pattern.endswith("/**"):
            base = output_dir / pattern[:-3]
            files |= {p for p in base.rglob("*") if p.is_file()} if base.is_dir() else set()
        else:
            files |= {p for p in output_dir.glob(pattern) if p.is_file()}
    return files


def _publish(work: Path, output_dir: Path) -> list[Path]:
    """Move every file of ``work`` to the same place under ``output_dir``; returns the new paths.

    Every target is checked first (a folder where a file goes stops the stage before anything
    moved), then each file goes in one rename."""
    pairs = []
    for folder, _, files in os.walk(work):
        for name in sorted(files):
            source = Path(folder) / name
            pairs.append((source, output_dir / source.relative_to(work)))
    for _, target in pairs:
        blocked = next((p for p in (target, *target.parents) if p != output_dir and output_dir in p.parents
                        and (p.is_dir() if p == target else p.exists() and not p.is_dir())), None)
        if blocked is not None:
            raise OutputError(f"is in the way of {target.name}: move it away (output/ belongs to mocap run)", blocked)
    moved = []
    for source, target in pairs:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
        except OSError as exc:
            raise OutputError(f"cannot write it ({exc.strerror})", target) from exc
        moved.append(target)
    return moved


def _remove_stale(stage: Stage, session, new: list[Path], previous: dict) -> list[str]:
    out = session.output_dir
    listed = {session.root / rel for rel in previous}
    keep = set(new)
    stale = sorted(p for p in (_owned(out, stage.owns) | {p for p in listed if p.is_file()})
                   if p not in keep and out in p.parents and not p.name.endswith(MANIFEST_SUFFIX))
    for p in stale:
        p.unlink(missing_ok=True)
    for pattern in stage.owns:  # folders a stage owns that are now empty
        base = out / pattern[:-3] if pattern.endswith("/**") else None
        if base is not None and base.is_dir():
            for folder in sorted((d for d in base.rglob("*") if d.is_dir()), reverse=True):
                if not any(folder.iterdir()):
                    folder.rmdir()
            if not any(base.iterdir()):
                base.rmdir()
    return [session.relative(p) for p in stale]


def _changed_settings(old: dict, new: dict) -> list[str]:
    changed = []
    for table, values in new.items():
        before = old.get(table)
        if isinstance(values, dict) and isinstance(before, dict):
            changed += [f"[{table}] {k} {_short(before.get(k))} -> {_short(values[k])}" for k in values
                        if values[k] != before.get(k)]
        elif values != before:
            where = f"[{table.rsplit('.', 1)[0]}] {table.rsplit('.', 1)[-1]}" if "." in table else table
            changed.append(f"{where} {_short(before)} -> {_short(values)}")
    return changed


def _short(value) -> str:
    from calibration.toml_values import toml_value

    return "unset" if value is None else toml_value(value)


def _why(manifest: Manifest, key: str, code: str, values: dict, facts: dict, inputs: dict,
         digests: Digests) -> str | None:
    """Why the stage must run, or None when it is up to date."""
    if manifest.status == "missing":
        return "first run"
    if manifest.status in ("running", "interrupted"):
        return "did not finish last time"
    if manifest.status == "failed":
        return "failed last time"
    if manifest.key == key:
        gone = [rel for rel, r in manifest.outputs.items() if not digests.unchanged(rel, r)]
        return f"output removed or changed: {', '.join(gone[:3])}" if gone else None
    if manifest.code != code:
        return "its code changed"
    changed = _changed_settings(manifest.settings, values)
    if changed:
        return "settings changed: " + ", ".join(changed[:4])
    if manifest.facts != facts:
        return "the cameras or videos changed"
    old = {rel: r["sha256"] for rel, r in manifest.inputs.items()}
    new = {rel: r["sha256"] for rel, r in inputs.items()}
    differ = sorted(set(old) ^ set(new) | {k for k in set(old) & set(new) if old[k] != new[k]})
    if not differ:
        return "mocap's version changed"
    return f"input changed: {', '.join(differ[:3])}" + (", ..." if len(differ) > 3 else "")


def _line(name: str, when: str, text: str) -> str:
    return f"{name:<12} {when:>8}  {text}"


def _seconds(s: float) -> str:
    return f"{s:.1f} s" if s >= 1 else f"{s:.2f} s"


class _Runner:
    def __init__(self, session, settings, plan, stages, *, progress: bool, log, defer_jobs: bool = False,
                 record: list | None = None):
        self.session, self.settings, self.plan, self.progress = session, settings, plan, progress
        self.defer_jobs, self.pending = defer_jobs, ()
        self.record = record if record is not None else []
        self.stage_names = tuple(s.name for s in stages)
        self.log = log or (lambda line: None)
        self.digests = Digests(session.root)
        for name in STAGE_NAMES:
            m = Manifest.read(session.output_dir, name)
            self.digests.learn({**m.inputs, **m.outputs} if m.status == "done" else m.inputs)
        self.root = code_root()

    def context(self, stage: Stage) -> StageContext:
        return StageContext(self.session, self.settings, self.plan, self.session.output_dir / WORK / stage.name,
                            self.progress, self.stage_names, self.digests)

    def check_requires(self, stage: Stage, ctx: StageContext) -> None:
        for name in stage.requires:
            if not ctx.output(name).is_file():
                maker = next((s.name for s in STAGES if any(Path(name).match(p) for p in s.owns)), "an earlier stage")
                raise InputFileError(f"not found: the {maker} stage makes it (run `mocap run` on the session, "
                                     f"without --only)", ctx.output(name))

    def key(self, stage: Stage, ctx: StageContext):
        values = self.settings.values_of(stage.tables)
        facts = stage.facts(ctx) if stage.facts else {}
        rels = [self.session.relative(p) for p in stage.inputs(ctx)]
        inputs = {rel: self.digests.record(rel) for rel in rels if (self.session.root / rel).is_file()}
        code = code_digest(self.root, stage.code)
        import mocap

        return stage_key(stage.name, code, {"values": values, "facts": facts, "version": mocap.__version__},
                         inputs), code, values, facts, inputs

    def run_stage(self, stage: Stage, ctx: StageContext, key, code, values, facts, inputs, reason: str,
                  extra_warnings=()) -> StageRun:
        import mocap

        out = self.session.output_dir
        previous = Manifest.read(out, stage.name).outputs
        manifest = Manifest(stage.name, "running", key, code, mocap.__version__, values, facts, inputs, previous,
                            started=_now())
        manifest.write(out)
        shutil.rmtree(ctx.work, ignore_errors=True)
        ctx.work.mkdir(parents=True)
        start = time.perf_counter()
        caught: list = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                summary = stage.run(ctx)
            new = _publish(ctx.work, out)
            removed = _remove_stale(stage, self.session, new, previous)
        except BaseException as exc:
            manifest.status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            manifest.error, manifest.finished = str(exc) or type(exc).__name__, _now()
            manifest.seconds = round(time.perf_counter() - start, 3)
            manifest.warnings = list(extra_warnings) + _messages(caught)
            manifest.write(out)
            shutil.rmtree(ctx.work, ignore_errors=True)
            self.log(_line(stage.name, _seconds(manifest.seconds), f"{manifest.status}: {manifest.error}"))
            self.record.append(StageRun(stage.name, manifest.status, reason, manifest.seconds, "",
                                        tuple(manifest.warnings)))
            raise
        shutil.rmtree(ctx.work, ignore_errors=True)
        seconds = time.perf_counter() - start
        manifest.status, manifest.finished, manifest.seconds = "done", _now(), round(seconds, 3)
        manifest.outputs = {self.session.relative(p): self.digests.record(self.session.relative(p)) for p in new}
        manifest.summary = summary
        manifest.warnings = list(extra_warnings) + _messages(caught)
        if removed:
            manifest.warnings.append(f"removed outputs it no longer makes: {', '.join(removed)}")
        manifest.write(out)
        self.log(_line(stage.name, _seconds(seconds), f"{reason}. {summary}"))
        for w in manifest.warnings:
            self.log(_line("", "", f"warning: {w}"))
        run = StageRun(stage.name, "ran", reason, seconds, summary, tuple(manifest.warnings))
        self.record.append(run)
        return run


    def run_all(self, stages, forced: set, option: str, only: str | None, dry_run: bool) -> tuple[StageRun, ...]:
        """Each stage in order: skipped when up to date, else run (or, in a dry run, said)."""
        results: list[StageRun] = []
        pending = False  # dry run: an earlier stage would run, so this one's inputs would change
        for stage in stages:
            if only is not None and stage.name != only:
                continue
            if dry_run and pending:
                results.append(StageRun(stage.name, "would run", "after the stages before it"))
                self.log(_line(stage.name, "", "would run after the stages before it"))
                continue
            ctx = self.context(stage)
            self.check_requires(stage, ctx)
            key, code, values, facts, inputs = self.key(stage, ctx)
            manifest = Manifest.read(self.session.output_dir, stage.name)
            reason = f"forced ({option})" if stage.name in forced else \
                _why(manifest, key, code, values, facts, inputs, self.digests)
            if reason is None:
                results.append(StageRun(stage.name, "up to date"))
                self.log(_line(stage.name, "", "up to date"))
            elif dry_run:
                pending = True
                results.append(StageRun(stage.name, "would run", reason))
                self.log(_line(stage.name, "", f"would run: {reason}"))
            else:
                pending = self.waiting_for(stage, ctx)
                if pending:
                    self.pending = pending
                    results.append(StageRun(stage.name, "waiting", reason, summary=f"{len(pending)} job(s) to do"))
                    self.log(_line(stage.name, "", f"waits for {len(pending)} job(s): {reason}"))
                    break
                extra = self.plan.warnings if stage.name == "pose2d" else ()
                results.append(self.run_stage(stage, ctx, key, code, values, facts, inputs, reason, extra))
        return tuple(results)

    def waiting_for(self, stage: Stage, ctx: StageContext) -> tuple:
        """defer_jobs: the stage's jobs not done yet (none when listing them fails: the stage then
        runs, and fails with the error in its manifest)."""
        if not self.defer_jobs or stage.jobs is None:
            return ()
        try:
            return tuple(j for j in stage.jobs(ctx) if not j.done())
        except MocapError:
            return ()


def _messages(caught) -> list[str]:
    return list(dict.fromkeys(str(w.message) for w in caught or ()))


def _stage_name(name: str | None, option: str) -> str | None:
    if name is not None and name not in STAGE_NAMES:
        raise SettingsError(f"{option} {name}: no such stage; the stages are {', '.join(STAGE_NAMES)}")
    return name


def run_session(folder, *, from_stage: str | None = None, only: str | None = None, dry_run: bool = False,
                progress: bool = True, log=print, defer_jobs: bool = False, record: list | None = None) -> RunResult:
    """Run every out-of-date stage of the session at ``folder`` (see the module docstring).

    from_stage: run this stage and every later one, out of date or not. only: run this stage
    alone (on the earlier stages' current outputs). dry_run: say what would run, run nothing.
    log: called with each line to print (one per stage with its time); None for silence.
    defer_jobs: stop before a stage whose jobs are not done, returning them (module docstring).
    record: a list to which each stage that runs (or fails) is appended as it finishes, so that a
    caller knows what ran before an error.
    """
    if from_stage is not None and only is not None:
        raise SettingsError("give --from or --only, not both")
    _stage_name(from_stage, "--from")
    _stage_name(only, "--only")
    session = open_session(folder)
    settings = session.settings()
    started = time.perf_counter()
    try:
        session.output_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the output folder ({exc.strerror})", session.output_dir) from exc
    log = log or (lambda line: None)
    with session_lock(session.output_dir):
        plan = plan_session(session, settings)
        if plan.length_warning and sync_plan(session, settings, plan.names).synchronized:
            plan = plan.synchronized()
        for w in plan.warnings:
            log(f"warning: {w}")
        stages = session_stages(len(plan.cameras))
        names = [s.name for s in stages]
        for name, option in ((from_stage, "--from"), (only, "--only")):
            if name is not None and name not in names:
                raise SettingsError(f"{option} {name}: this session's stages are {', '.join(names)}")
        forced = set(names[names.index(from_stage):]) if from_stage else {only} if only else set()
        runner = _Runner(session, settings, plan, stages, progress=progress, log=log, defer_jobs=defer_jobs,
                         record=record)
        try:
            results = runner.run_all(stages, forced, "--from" if from_stage else "--only", only, dry_run)
        finally:
            with contextlib.suppress(OSError):
                (session.output_dir / WORK).rmdir()  # only when empty
        seconds = time.perf_counter() - started
        result = RunResult(session.root, results, seconds, runner.pending)
        if result.up_to_date:
            log("nothing to do: every stage is up to date")
        elif not dry_run and not result.jobs:
            report = session.output_dir / "report.html"
            log(f"{len(result.ran)} stage(s) ran in {seconds:.1f} s" + (f"; report: {report}" if report.is_file()
                                                                           else ""))
        return result


def build_report(folder, *, progress: bool = True, log=None) -> Path:
    """Rebuild ``output/report.html`` of the session at ``folder`` from its current outputs (the
    report stage alone, forced); returns its path."""
    session = open_session(folder)
    run_session(session.root, only="report", progress=progress, log=log)
    path = session.output_dir / "report.html"
    if not path.is_file():
        raise SettingsError("[report] enabled = false: no report written", session.settings_path)
    return path

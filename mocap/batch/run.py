"""The batch scheduler: many sessions, each advanced by tasks on a pool, per-camera 2D fanned out.

A session moves on by two kinds of task, both run by the pool's workers:

* :func:`advance`: ``run_session(defer_jobs=True)``: every out-of-date stage of the session, up to
  a stage whose per-camera jobs are not done (the 2D of each camera); it hands those back;
* :func:`do_job`: one camera's 2D (:func:`mocap.pipeline.parts.run_job`), written as its part.

When every job of a session is done, the session is advanced again, and the 2D stage finds its
parts done and goes on to the end. So a session's cameras run side by side, sessions run side by
side, and the outputs are those ``mocap run`` gives (the same stages, the same parts). A session
whose stages are up to date is skipped (the runner's manifests say so); one that fails is recorded
with its error and the others go on. At the end, :func:`summary_table` gives one line per session:
the stages run, the seconds its tasks took, and the error.
"""

from __future__ import annotations

import concurrent.futures
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

MAX_ADVANCES = 4  # a session whose jobs are done yet asked for again is stuck: reported, not retried forever


@dataclass(frozen=True)
class Step:
    """What one :func:`advance` of a session did (picklable: it comes back from a worker)."""

    ran: tuple[str, ...]
    jobs: tuple = ()
    error: str | None = None
    seconds: float = 0.0
    failed: str | None = None  # the stage that failed


def _threads(threads: int) -> None:
    """Each worker's ONNX Runtime sessions use ``threads`` CPU threads: several workers on one
    machine would otherwise each spin a pool as wide as the machine, and slow each other down."""
    from mocap.pose2d.providers import THREADS_VARIABLE

    os.environ.setdefault(THREADS_VARIABLE, str(threads))


def advance(folder: str, threads: int = 1) -> Step:
    """Run the session's out-of-date stages up to one that waits for its jobs (module docstring)."""
    import calibration
    from mocap.errors import MocapError
    from mocap.pipeline import run_session

    _threads(threads)
    start = time.perf_counter()
    record: list = []
    error = None
    jobs: tuple = ()
    try:
        jobs = run_session(folder, progress=False, log=None, defer_jobs=True, record=record).jobs
    except (MocapError, calibration.CalibrationError) as exc:
        error = str(exc)
    except Exception as exc:  # a defect, not the user's: still one session's, and reported as such
        error = f"{type(exc).__name__}: {exc}"
    ran = tuple(r.name for r in record if r.status == "ran")
    failed = next((r.name for r in record if r.status == "failed"), None)
    return Step(ran, jobs, error, time.perf_counter() - start, failed)


def do_job(job, threads: int = 1) -> float:
    """One per-camera 2D job; returns its seconds."""
    from mocap.pipeline.parts import run_job

    _threads(threads)
    return run_job(job)


@dataclass
class SessionOutcome:
    folder: Path
    ran: list[str] = field(default_factory=list)  # stages run, in order
    seconds: float = 0.0  # the time its tasks took (stages and per-camera jobs)
    error: str | None = None
    jobs: int = 0  # per-camera 2D jobs done for it
    advances: int = 0
    failed_stage: str | None = None

    @property
    def status(self) -> str:
        return "failed" if self.error else "ran" if self.ran else "up to date"


@dataclass(frozen=True)
class BatchResult:
    sessions: tuple[SessionOutcome, ...]
    seconds: float
    pool: str

    @property
    def failed(self) -> tuple[SessionOutcome, ...]:
        return tuple(s for s in self.sessions if s.error)


def _is_session(folder: Path) -> bool:
    return (folder / "session.toml").is_file() or (folder / "videos").is_dir()


def find_sessions(folders) -> tuple[list[Path], list[SessionOutcome]]:
    """The session folders ``folders`` name: a session itself, or a folder whose sub-folders are
    sessions. Returns (sessions, outcomes of the paths that are neither, with their error)."""
    found, bad = [], []
    for given in map(Path, folders):
        if given.is_dir() and _is_session(given):
            found.append(given)
        elif given.is_dir() and any(_is_session(d) for d in given.iterdir() if d.is_dir()):
            found += sorted(d for d in given.iterdir() if d.is_dir() and _is_session(d))
        else:
            why = "not found" if not given.exists() else "is not a session (no session.toml or videos/) and holds none"
            bad.append(SessionOutcome(given, error=f"{given}: {why}"))
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique, bad


def batch(folders, *, workers: int | None = None, ray: str | None = None, progress: bool = True,
          log=print) -> BatchResult:
    """Run every session of ``folders`` (module docstring) on a local pool of ``workers``
    processes, or on Ray (``ray`` "auto": a local cluster; else a cluster's address). ``log`` gets
    one line per finished session; None for silence. Returns what each session did."""
    from tqdm import tqdm

    from mocap.batch.pool import make_pool

    log = log or (lambda line: None)
    started = time.perf_counter()
    sessions, outcomes = find_sessions(folders)
    for o in outcomes:
        log(f"{o.folder}: failed: {o.error}")
    state = {s: SessionOutcome(s) for s in sessions}
    pool = make_pool(workers, ray)
    threads = pool.threads_per_task
    futures: dict = {}

    def submit_advance(session: Path):
        state[session].advances += 1
        futures[pool.submit(advance, str(session), threads)] = ("advance", session, None)

    waiting: dict[Path, int] = {}
    try:
        for s in sessions:
            submit_advance(s)
        with tqdm(total=len(sessions), desc="sessions", unit="session", disable=not progress) as bar:
            def finish(session: Path):
                o = state[session]
                bar.update(1)
                what = f"failed: {o.error}" if o.error else (f"ran {', '.join(o.ran)}" if o.ran else "up to date")
                log(f"{session.name}: {what} ({o.seconds:.1f} s)")

            while futures:
                done, _ = concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in done:
                    kind, session, job = futures.pop(future)
                    o = state[session]
                    if kind == "advance":
                        step = _result(future, "the worker")
                        o.ran += [n for n in step.ran if n not in o.ran]
                        o.seconds += step.seconds
                        o.error, o.failed_stage = step.error, step.failed
                        if step.jobs and o.advances >= MAX_ADVANCES:
                            o.error = f"its {len(step.jobs)} per-camera jobs were done but are asked for again"
                        if o.error or not step.jobs:
                            finish(session)
                            continue
                        waiting[session] = len(step.jobs)
                        for j in step.jobs:
                            futures[pool.submit(do_job, j, threads)] = ("job", session, j)
                    else:
                        try:
                            o.seconds += future.result()
                            o.jobs += 1
                        except Exception as exc:  # one camera's 2D failed: the session fails, with its camera
                            o.error = o.error or f"pose2d of camera {job.camera}: {_message(exc)}"
                        waiting[session] -= 1
                        if waiting[session] == 0:
                            if o.error:
                                finish(session)
                            else:
                                submit_advance(session)
    finally:
        pool_name = pool.describe()
        pool.close()
    return BatchResult(tuple(outcomes) + tuple(state[s] for s in sessions), time.perf_counter() - started, pool_name)


def _message(exc: BaseException) -> str:
    # Ray wraps a task's exception; its cause is the one to tell.
    cause = getattr(exc, "cause", None)
    return str(cause if isinstance(cause, BaseException) else exc)


def _result(future, who: str) -> Step:
    try:
        return future.result()
    except Exception as exc:  # the task never returned (a worker died)
        return Step((), (), f"{who} failed: {_message(exc)}")


def summary_table(result: BatchResult) -> str:
    """One line per session: session, stages run, time, error; then the totals."""
    rows = [("session", "stages run", "time", "error")]
    for o in result.sessions:
        stages = ", ".join(o.ran + ([f"{o.failed_stage} (failed)"] if o.failed_stage else []))
        stages = stages or ("—" if o.error else "up to date")
        rows.append((o.folder.name or str(o.folder), stages, f"{o.seconds:.1f} s", o.error or ""))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join([r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].rjust(widths[2]), r[3]]).rstrip()
             for r in rows]
    n_ok = len(result.sessions) - len(result.failed)
    rate = len(result.sessions) / result.seconds * 60 if result.seconds > 0 else 0.0
    lines.append(f"{n_ok} of {len(result.sessions)} session(s) ok, {len(result.failed)} failed, in "
                 f"{result.seconds:.1f} s ({rate:.1f} sessions/min) on {result.pool}")
    return os.linesep.join(lines)

"""Where batch tasks run: a local process pool, or a Ray cluster. Both hand back a
``concurrent.futures.Future`` per task, so the scheduler (:mod:`mocap.batch.run`) is one loop.

Ray is optional (``pip install "mocap[cluster]"``). ``ray="auto"`` starts a local Ray instance with
``workers`` CPUs (or uses the one this process already started, as tests do); any other value is
the address of a running cluster (``ray start --head`` prints it). A task asks for one CPU.
``threads_per_task``: the CPU threads a task's ONNX Runtime sessions may use.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os

from mocap.errors import SettingsError

RAY_INSTALL = 'pip install "mocap[cluster]"'


class LocalPool:
    """``workers`` processes on this machine (started fresh: "spawn", no state inherited)."""

    def __init__(self, workers: int):
        self.workers = workers
        # One ONNX Runtime thread a task: the workers are the parallelism (wider pools spin and slow
        # each other down; measured in bench/batch.py).
        self.threads_per_task = 1
        self._pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def describe(self) -> str:
        return f"a local pool of {self.workers} process(es)"

    def submit(self, fn, *args) -> concurrent.futures.Future:
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class RayPool:
    """Tasks on a Ray cluster (see the module docstring)."""

    def __init__(self, address: str, workers: int | None):
        try:
            import ray
        except ImportError:
            raise SettingsError(f"--ray needs Ray, which is not installed here: {RAY_INSTALL}") from None
        self.ray, self.started = ray, False
        if not ray.is_initialized():
            try:
                if address == "auto":
                    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(address=address, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise SettingsError(f"--ray {address}: cannot reach the Ray cluster ({exc})") from None
            self.started = True
        self.cpus = int(ray.cluster_resources().get("CPU", 0))
        self.threads_per_task = 1  # a task asks Ray for one CPU
        self._remote: dict = {}

    def describe(self) -> str:
        return f"a Ray cluster of {self.cpus} CPU(s)"

    def submit(self, fn, *args) -> concurrent.futures.Future:
        if fn not in self._remote:
            self._remote[fn] = self.ray.remote(num_cpus=1, max_retries=0)(fn)
        return self._remote[fn].remote(*args).future()

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def make_pool(workers: int | None = None, ray: str | None = None):
    """A :class:`LocalPool` of ``workers`` (default: the machine's CPUs), or a :class:`RayPool`
    when ``ray`` is "auto" or a cluster address."""
    if workers is not None and workers < 1:
        raise SettingsError(f"--workers must be 1 or more, got {workers}")
    if ray is not None:
        return RayPool(ray, workers)
    return LocalPool(workers or os.cpu_count() or 1)

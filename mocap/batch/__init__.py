"""``mocap batch``: many sessions at once, on a local process pool or a Ray cluster.

:func:`batch` runs each session's out-of-date stages (:func:`mocap.pipeline.run_session`) and fans
the 2D of each camera out as its own job (:mod:`mocap.pipeline.parts`); one session's failure is
reported and the others go on; finished sessions are skipped through their stage manifests.
"""

from mocap.batch.run import BatchResult, SessionOutcome, batch, find_sessions, summary_table  # noqa: F401
from mocap.batch.pool import RAY_INSTALL, make_pool  # noqa: F401

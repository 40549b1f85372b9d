"""The pipeline runner (``mocap run``): the stages of a session folder, each run when out of date.

Stages hand off through the session folder and the data contracts (:mod:`mocap.data`): each reads
the files of the stages before it and writes its own into ``output/``, with a manifest recording
what it read, with which settings and code (:mod:`mocap.pipeline.manifest`). See
:mod:`mocap.pipeline.runner` for how a stage is run so that it can be interrupted at any moment,
:mod:`mocap.pipeline.timeline` for the cameras' synchronization (the 2D stage's first step), and
:mod:`mocap.pipeline.parts` for the per-camera 2D jobs that ``mocap batch`` fans out.
"""

from mocap.pipeline.plan import CameraVideo, SessionPlan, plan_session  # noqa: F401
from mocap.pipeline.runner import RunResult, StageRun, build_report, run_session  # noqa: F401
from mocap.pipeline.stages import STAGE_NAMES, STAGES, session_stages  # noqa: F401

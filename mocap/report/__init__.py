"""The session report (``output/report.html``): quality numbers (:mod:`mocap.report.metrics`),
plots (:mod:`mocap.report.figures`), frames with the reprojected skeleton
(:mod:`mocap.report.frames`), assembled by :func:`write_report` into one static page."""

from mocap.report.build import write_report  # noqa: F401

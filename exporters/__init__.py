"""Writers (and readers, for round trips) of motion-capture file formats.

BVH and TRC are written Y up, as their consumers expect, and say so in the file; CSV and NPZ keep
the Z-up world of ``mocap``. Every writer replaces its output atomically.
"""

from exporters.bvh import read_bvh, write_bvh  # noqa: F401
from exporters.table import csv_columns, write_csv, write_npz  # noqa: F401
from exporters.trc import read_trc, write_trc  # noqa: F401

__all__ = ["write_bvh", "read_bvh", "write_trc", "read_trc", "write_csv", "write_npz", "csv_columns"]

"""Reading inputs from other tools' files (the edges of the pipeline)."""

from mocap.io.openpose import read_openpose_json  # noqa: F401
from mocap.io.openpose_writer import write_openpose_json  # noqa: F401

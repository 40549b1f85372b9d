"""mocap: markerless multi-camera whole-body motion capture.

The stable entry points are in :mod:`mocap.api` (one function per command-line verb) and the data
contracts in :mod:`mocap.data`.
"""

__version__ = "0.1.0"

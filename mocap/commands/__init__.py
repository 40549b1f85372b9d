"""Command-line verbs that live beside their stage.

Each module here defines ``register(verbs, calibration_actions)``: ``verbs`` is the ``mocap``
sub-parser collection and ``calibration_actions`` the one of ``mocap calibration``; it adds its
parsers and sets ``func`` on each to a function taking the parsed ``args``. Modules must import
their heavy dependencies inside ``func``, so ``mocap --help`` stays fast.
"""

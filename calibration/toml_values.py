"""Writing TOML values: the one writer behind every calibration TOML we produce.

The native anipose / Pose2Sim file (:mod:`calibration.toml_format`) and caliscope's
``camera_array.toml`` (:mod:`calibration.caliscope`) both write their tables with these. Floats
are written in full precision (``repr``), so a file read back gives the very same numbers; numpy
arrays and scalars become TOML arrays and numbers; a ``None`` inside an inline table is left out
(TOML has no null).
"""

from __future__ import annotations

import math
import re

import numpy as np

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_key(key) -> str:
    """A TOML key: bare when it may be, else a quoted string."""
    key = str(key)
    return key if _BARE_KEY.match(key) else toml_string(key)


def toml_string(text: str) -> str:
    """A TOML basic string: quote, backslash and control characters escaped; the rest is UTF-8."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value) -> str:
    """One TOML value: bool, int, float (full precision), str, array or inline table.

    ValueError for anything else (the caller names the key).
    """
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items() if v is not None) + "}"
    raise ValueError(f"cannot be written to TOML: {type(value).__name__}")

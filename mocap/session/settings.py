"""Reading and checking ``session.toml`` against the schema (:mod:`mocap.session.schema`).

:func:`load_settings` returns a :class:`SessionSettings`: every table of the schema with every key,
the file's values where it sets them, the defaults elsewhere. Anything wrong raises
:class:`~mocap.errors.SettingsError` naming the file and the problem:

* TOML syntax: the parser's message, with its line and column;
* an unknown table or key: the name, the nearest known one, and the table's keys;
* a wrong type or a value out of range: ``[table] key = value``, and what is allowed.
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from calibration.toml_values import toml_value
from mocap.errors import SettingsError
from mocap.session.schema import TABLE_BY_NAME, TABLES, Setting, Table


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _range_text(s: Setting) -> str:
    parts = []
    if s.above is not None:
        parts.append(f"> {s.above:g}")
    if s.low is not None:
        parts.append(f">= {s.low:g}")
    if s.high is not None:
        parts.append(f"<= {s.high:g}")
    return " and ".join(parts)


def allowed(s: Setting) -> str:
    """What ``s`` accepts, in words (error messages and the template's comments)."""
    bounds = _range_text(s)
    bounded = f" {bounds}" if bounds else ""
    choices = ", ".join(f'"{c}"' for c in s.allowed_choices())
    return {
        "int": f"a whole number{bounded}",
        "float": f"a number{bounded}",
        "bool": "true or false",
        "str": "a text in quotes",
        "choice": f"one of {choices}",
        "choices": f"a list of {choices}",
        "numbers": f"a list of {s.length} numbers{bounded}",
        "names": "a list of names in quotes",
        "squares": 'two whole numbers >= 2, as "7x5" or [7, 5]',
        "count_or_all": f'a whole number >= {0 if s.low == 0 else 1}, or "all"',
        "str_or_int": "a text in quotes or a whole number",
        "frames_by_camera": "a table of frames per camera, as {cam02=7, cam03=-3.5}",
    }[s.kind]


def _in_range(s: Setting, v: float) -> bool:
    return ((s.above is None or v > s.above) and (s.low is None or v >= s.low)
            and (s.high is None or v <= s.high) and math.isfinite(v))


def check_value(s: Setting, value):
    """``value`` normalized for ``s`` (floats as float, squares as (int, int)); ValueError when not allowed."""
    kind = s.kind
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool) and _in_range(s, value):
        return value
    if kind == "float" and _number(value) and _in_range(s, value):
        return float(value)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "choice" and isinstance(value, str) and value in s.allowed_choices():
        return value
    if kind == "choices" and isinstance(value, list) and all(isinstance(v, str) and v in s.allowed_choices()
                                                              for v in value):
        return list(dict.fromkeys(value))
    if kind == "numbers" and isinstance(value, list) and len(value) == s.length and \
            all(_number(v) and _in_range(s, v) for v in value):
        return [float(v) for v in value]
    if kind == "names" and isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        return list(value)
    if kind == "squares":
        pair = value
        if isinstance(value, str) and value.lower().count("x") == 1:
            pair = value.lower().split("x")
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            try:
                a, b = (int(v) if isinstance(v, (int, str)) and not isinstance(v, bool) else None for v in pair)
            except ValueError:
                a = b = None
            if a is not None and b is not None and a >= 2 and b >= 2:
                return (a, b)
    if kind == "count_or_all":
        if value == "all":
            return value
        low = 0 if s.low == 0 else 1
        if isinstance(value, int) and not isinstance(value, bool) and value >= low:
            return value
    if kind == "str_or_int" and (isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))):
        return str(value)
    if kind == "frames_by_camera" and isinstance(value, dict) and value and \
            all(isinstance(k, str) and k and _number(v) and math.isfinite(v) for k, v in value.items()):
        return {k: float(v) for k, v in value.items()}
    raise ValueError(allowed(s))


def _shown(value) -> str:
    """A value from session.toml as TOML, for messages (as Python shows it when TOML cannot write
    it back, e.g. a date)."""
    try:
        return toml_value(value)
    except ValueError:
        return str(value)


@dataclass(frozen=True)
class SessionSettings:
    """Every setting of a session: ``settings["filter"]["smoother"]``.

    ``path``: the file read (None: defaults only); ``explicit``: the (table, key) pairs the file set.
    """

    tables: Mapping[str, Mapping[str, object]]
    path: Path | None = None
    explicit: frozenset = frozenset()

    def __getitem__(self, table: str) -> Mapping[str, object]:
        return self.tables[table]

    def values_of(self, names) -> dict:
        """The tables ``names`` (or ``"table.key"`` single settings) as plain data, for hashing and reports."""
        out = {}
        for name in names:
            if name in self.tables:
                out[name] = {k: _plain(v) for k, v in self.tables[name].items()}
            else:
                table, key = name.rsplit(".", 1)
                out[name] = _plain(self.tables[table][key])
        return out


def _plain(value):
    return list(value) if isinstance(value, tuple) else dict(value) if isinstance(value, dict) else value


def _suggest(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_table(table: Table, data: dict, path, values: dict, explicit: set) -> None:
    subtables = {t.name.split(".")[-1]: t for t in TABLES if t.name.startswith(table.name + ".")}
    for key, value in data.items():
        if isinstance(value, dict) and key in subtables:
            _check_table(subtables[key], value, path, values, explicit)
            continue
        s = table.get(key)
        if s is None:
            known = list(table.keys) + [f"[{table.name}.{k}]" for k in subtables]
            raise SettingsError(f"[{table.name}] has no setting {key!r}{_suggest(key, known)}. "
                                f"The [{table.name}] settings are: {', '.join(known)}", path)
        try:
            values[table.name][key] = check_value(s, value)
        except ValueError as exc:
            raise SettingsError(f"[{table.name}] {key} = {_shown(value)}: expected {exc}", path) from None
        explicit.add((table.name, key))


def _cross_checks(values: dict, path) -> None:
    p = values["pose2d"]
    if p["stop"] is not None and p["stop"] <= p["start"]:
        raise SettingsError(f"[pose2d] stop = {p['stop']} must be above start = {p['start']}", path)
    sync = values["sync"]
    if sync["method"] == "manual" and not sync["offsets"]:
        raise SettingsError('[sync] method = "manual" needs the offsets: [sync] offsets = {cam02 = 7, ...}', path)


def parse_settings(data: dict, path: str | os.PathLike | None = None) -> SessionSettings:
    """Settings from parsed TOML ``data`` (see the module docstring for the errors)."""
    values = {t.name: {s.key: None if s.default is None else check_value(s, s.default) for s in t.settings}
              for t in TABLES}
    explicit: set = set()
    top = [t for t in TABLES if "." not in t.name]
    known = ", ".join(f"[{t.name}]" for t in top)
    for name, table_data in data.items():
        table = TABLE_BY_NAME.get(name) if "." not in name else None
        if not isinstance(table_data, dict):
            raise SettingsError(f"{name} = {_shown(table_data)} is outside any table; settings go in their "
                                f"stage's table: {known}", path)
        if table is None:
            raise SettingsError(f"unknown table [{name}]{_suggest(name, [t.name for t in top])}. The tables are: "
                                f"{known}", path)
        _check_table(table, table_data, path, values, explicit)
    _cross_checks(values, path)
    frozen = {name: MappingProxyType(dict(v)) for name, v in values.items()}
    return SessionSettings(MappingProxyType(frozen), Path(path) if path is not None else None, frozenset(explicit))


def default_settings() -> SessionSettings:
    return parse_settings({})


def load_settings(path: str | os.PathLike) -> SessionSettings:
    """Read and check ``path`` (a session.toml); the defaults where it says nothing."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError("file not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read the file ({exc})", path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"not valid TOML: {exc}", path) from None
    return parse_settings(data, path)

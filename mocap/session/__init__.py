"""Sessions: the folder layout, ``session.toml`` (every setting of every stage, checked against one
schema) and ``mocap init``. The runner that works through a session is :mod:`mocap.pipeline`."""

from mocap.session.layout import Session, init_session, open_session  # noqa: F401
from mocap.session.schema import TABLES, Setting, Table  # noqa: F401
from mocap.session.settings import (  # noqa: F401
    SessionSettings, default_settings, load_settings, parse_settings,
)
from mocap.session.template import session_toml  # noqa: F401

"""session.toml: one schema for every stage, written out whole by `mocap init`, checked on load.

Errors name the file, the table and key, the value and what is allowed."""

import re
import tomllib

import pytest

from mocap.errors import SettingsError
from mocap.session import TABLES, default_settings, init_session, load_settings, parse_settings, session_toml


def test_template_lists_every_setting_and_reads_back_as_the_defaults(tmp_path):
    session = init_session(tmp_path / "s")
    text = session.settings_path.read_text()
    assert text == session_toml()
    for sub in ("videos", "calibration", "output"):
        assert (session.root / sub).is_dir()
    for table in TABLES:
        assert f"[{table.name}]\n" in text
        body = text.split(f"[{table.name}]\n", 1)[1].split("\n[", 1)[0]
        for s in table.settings:
            # set keys as `key = default`, unset ones commented out with an example
            assert re.search(rf"^{'# ' if s.default is None else ''}{s.key} = ", body, re.M), (table.name, s.key)
    loaded = load_settings(session.settings_path)
    assert {k: dict(v) for k, v in loaded.tables.items()} == {k: dict(v) for k, v in default_settings().tables.items()}


def test_every_commented_example_is_a_valid_value():
    text = re.sub(r"^# (\w+ = )", r"\1", session_toml(), flags=re.M)  # uncomment the unset settings
    settings = parse_settings(tomllib.loads(text))
    assert settings["pose2d"]["stop"] == 600 and settings["calibration"]["marker_size"] == 0.045
    assert settings["filter.hands"]["smoother"] == "butterworth"


def test_values_are_normalized():
    s = parse_settings({"calibration": {"squares": [4, 7], "square_size": 1, "floor": 120},
                        "triangulate": {"persons": "all"}, "export": {"formats": ["bvh", "bvh", "fbx"]}})
    assert s["calibration"]["squares"] == (4, 7) and s["calibration"]["square_size"] == 1.0
    assert isinstance(s["calibration"]["square_size"], float) and s["calibration"]["floor"] == "120"
    assert s["triangulate"]["persons"] == "all" and s["export"]["formats"] == ["bvh", "fbx"]
    assert ("calibration", "squares") in s.explicit and ("pose2d", "stop") not in s.explicit
    assert parse_settings({"calibration": {"squares": "7X5"}})["calibration"]["squares"] == (7, 5)


@pytest.mark.parametrize("text, fragments", [
    ('[filter]\nbutterworth_cutof = 6.0\n', ["[filter]", "'butterworth_cutof'", "did you mean 'butterworth_cutoff'",
                                              "smoother"]),
    ('[filtre]\nfill_gaps = 3\n', ["unknown table [filtre]", "did you mean 'filter'", "[triangulate]"]),
    ('fps = 60\n', ["fps = 60 is outside any table", "[session]"]),
    ('[triangulate]\nmin_views = "two"\n', ['[triangulate] min_views = "two"', "expected a whole number >= 2"]),
    ('[triangulate]\nmin_views = 1\n', ["min_views = 1", "expected a whole number >= 2"]),
    ('[triangulate]\nmin_score = 1.5\n', ["min_score = 1.5", "a number >= 0 and <= 1"]),
    ('[triangulate]\npersons = 0\n', ["persons = 0", 'a whole number >= 1, or "all"']),
    ('[pose2d]\nstride = 2.5\n', ["stride = 2.5", "a whole number >= 1"]),
    ('[pose2d]\nbackend = "openpose"\n', ['backend = "openpose"', '"mediapipe", "rtmw", "openpose-json"']),
    ('[pose2d]\nfp16 = "yes"\n', ['fp16 = "yes"', "true or false"]),
    ('[pose2d]\nstart = 50\nstop = 10\n', ["stop = 10 must be above start = 50"]),
    ('[filter]\nkalman = [0.01]\n', ["kalman = [0.01]", "a list of 2 numbers > 0"]),
    ('[export]\nformats = ["bvh", "mp4"]\n', ['formats = ["bvh", "mp4"]', '"bvh", "fbx"']),
    ('[retarget]\nrig = "maximo"\n', ['rig = "maximo"', '"mixamo"']),
    ('[calibration]\nsquares = "7by5"\n', ['squares = "7by5"', 'as "7x5" or [7, 5]']),
    ('[filter.hands]\nsmoother = "median"\n', ['[filter.hands] smoother = "median"', '"one_euro"']),
    ('[filter.feet]\nsmoother = "none"\n', ["[filter] has no setting 'feet'", "[filter.hands]"]),
])
def test_bad_settings_name_the_file_key_value_and_what_is_allowed(tmp_path, text, fragments):
    path = tmp_path / "session.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_toml_syntax_error_names_the_file_and_line(tmp_path):
    path = tmp_path / "session.toml"
    path.write_text('[filter]\nsmoother = "butterworth"\nfill_gaps = \n')
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    assert str(path) in str(info.value) and "not valid TOML" in str(info.value) and "line 3" in str(info.value)


def test_init_keeps_an_existing_session_toml(tmp_path):
    from mocap.errors import OutputError

    session = init_session(tmp_path / "s")
    session.settings_path.write_text('[filter]\nsmoother = "none"\n')
    with pytest.raises(OutputError, match="--force"):
        init_session(tmp_path / "s")
    assert session.settings_path.read_text() == '[filter]\nsmoother = "none"\n'
    init_session(tmp_path / "s", force=True)
    assert load_settings(session.settings_path)["filter"]["smoother"] == "butterworth"


def test_mocap_calibrate_reads_the_same_schema(tmp_path):
    """`mocap calibrate DIR` takes [calibration] from DIR/../session.toml through the session schema."""
    from argparse import Namespace

    from mocap.commands.calibrate import calibrate_settings

    (tmp_path / "c").mkdir()
    (tmp_path / "session.toml").write_text('[calibration]\nboard = "checkerboard"\nsquares = [4, 7]\n'
                                           'square_size = 0.06\n')
    args = Namespace(board=None, squares=None, square_size=0.05, marker_size=None, dictionary=None, legacy=None,
                     fisheye=None, every=None, rate=None, floor=None)
    merged = calibrate_settings(args, tmp_path / "c")
    assert merged["board"] == "checkerboard" and merged["squares"] == (4, 7)
    assert merged["square_size"] == 0.05  # the flag wins
    assert merged["every"] == 1 and merged["rate"] is None  # schema defaults
    (tmp_path / "session.toml").write_text('[calibration]\nsquare_size = -1\n')
    with pytest.raises(SettingsError, match=r"\[calibration\] square_size = -1: expected a number > 0"):
        calibrate_settings(args, tmp_path / "c")

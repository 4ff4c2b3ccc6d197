"""Configuration: the example is valid and complete; every error names the file and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from meetbot.cli.common import EXIT_CONFIG, EXIT_USAGE
from meetbot.cli.main import main
from meetbot.config.agendas import load_agenda
from meetbot.config.schema import (
    Config,
    ConfigError,
    CoordinatorConfig,
    RegionConfig,
    ScheduledMeeting,
    load_config,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "meetbot.example.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "meetbot.yaml"
    path.write_text(text)
    return path


BASE = 'homeserver: http://127.0.0.1:8008\nuser_id: "@bot:example.org"\npassword: p\n'


def filled_in_example(tmp_path: Path) -> Path:
    """The example with its placeholder password replaced, as an admin would."""
    text = EXAMPLE.read_text().replace('password: "change me"', 'password: "s3cret"')
    return write(tmp_path, text)


def test_the_example_config_is_valid_and_documents_every_key(tmp_path: Path) -> None:
    config = load_config(filled_in_example(tmp_path))
    assert [r.id for r in config.regions] == ["latam", "west-africa"]
    text = EXAMPLE.read_text()
    for key in Config.model_fields:
        if key != "source":
            assert f"{key}:" in text, f"config key {key!r} is not documented in the example"


def test_errors_name_the_file_and_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + """
regions:
  - id: latam
    name: LA
    room: "not a room"
    languages: [es, English]
    timezone: Mars/Olympus
tranlsation: {}
""")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert f"{path}: regions[0].room: 'not a room' is not a room id or alias" in message
    assert "regions[0].languages: 'English' is not a language code" in message
    assert "regions[0].timezone: unknown time zone 'Mars/Olympus'" in message
    assert "tranlsation: unknown key" in message


def test_a_password_can_come_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, 'homeserver: http://x\nuser_id: "@bot:x.org"\n')
    with pytest.raises(ConfigError, match="password: missing: write the bot's password"):
        load_config(path, env={})
    config = load_config(path, env={"MEETBOT_PASSWORD": "secret"})
    assert config.password is not None and config.password.get_secret_value() == "secret"


def test_yaml_syntax_errors_say_where(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "regions: [\n")
    with pytest.raises(ConfigError, match=r"line \d+, column \d+"):
        load_config(path)


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + "data_dir: ./state\n"))
    assert config.data_path == tmp_path / "state"
    assert config.database_path == tmp_path / "state" / "meetbot.sqlite3"


def test_check_config_exits_non_zero_with_a_clear_message(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, BASE + "command_prefix: ''\n")
    assert main(["check-config", "--config", str(path)]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert err == f"meetbot: {path}: command_prefix: must not be empty\n"
    assert main(["check-config", "--config", str(filled_in_example(tmp_path))]) == 0


def test_agenda_errors_name_the_file_and_the_prompt(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(
        "prompts:\n  - id: a\n    text: {en: A}\n    timebox: soon\n  - id: a\n    text: {en: B}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_agenda(tmp_path, "broken")
    assert "broken.yaml: prompts[0].timebox" in str(err.value)
    with pytest.raises(ConfigError, match="no such agenda file"):
        load_agenda(tmp_path, "missing")


def test_the_default_agenda_opens_with_the_research_question() -> None:
    agenda = load_agenda(ROOT / "prompts", "default")
    first = agenda.prompts[0]
    assert first.texts["en"] == "At this moment, what can we do to work and learn together?"
    assert set(first.texts) == {"en", "fr", "es"}


def test_check_config_warns_when_the_back_end_cannot_serve_the_regions(tmp_path: Path, capsys):
    path = write(tmp_path, BASE + """
translation: {backend: argos}
regions:
  - {id: latam, name: LA, room: "#la:example.org", languages: [es, en]}
""")
    assert main(["check-config", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "warning: translation.backend argos cannot translate en→es, es→en" in err
    assert "meetbot models install" in err
    assert "warning" not in out and f"{path}: OK" in out


def test_check_config_warns_of_languages_the_bot_does_not_speak(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, BASE + """
translation: {backend: none}
coordinator: {room: "#c:example.org", language: pt}
regions:
  - {id: berlin, name: Berlin, room: "#b:example.org", languages: [de, en]}
""")
    assert main(["check-config", "--config", str(path)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "warning: regions[0].languages: de (German): the bot's own messages are not written in "
        "it and show in English (they exist in en, fr, es)",
        "warning: coordinator.language: pt (Portuguese): the bot's own messages are not written "
        "in it and show in English (they exist in en, fr, es)",
    ]


def test_argos_threads_default_to_the_back_end_s_choice(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, BASE)).translation.argos_threads is None
    text = BASE + "translation: {argos_threads: 2}\n"
    assert load_config(write(tmp_path, text)).translation.argos_threads == 2


def test_startup_timeout_and_catch_up_window_have_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert config.startup_timeout == timedelta(minutes=2)
    assert config.catch_up_window == timedelta(minutes=10)


def test_startup_timeout_and_catch_up_window_read_durations(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + "startup_timeout: 30s\ncatch_up_window: 1h\n"))
    assert config.startup_timeout == timedelta(seconds=30)
    assert config.catch_up_window == timedelta(hours=1)


@pytest.mark.parametrize("zero", ["0", "0s", "0m", "'0'"])
def test_the_catch_up_window_may_be_zero(tmp_path: Path, zero: str) -> None:
    config = load_config(write(tmp_path, BASE + f"catch_up_window: {zero}\n"))
    assert config.catch_up_window == timedelta(0)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("startup_timeout: 0s", "startup_timeout: must be longer than 0s"),
        ("startup_timeout: 0", "startup_timeout: must be longer than 0s"),
        ("startup_timeout: -5", "startup_timeout: must be longer than 0s"),
        ("startup_timeout: soon", "startup_timeout: 'soon' is not a duration"),
        ("catch_up_window: -5", "catch_up_window: must not be negative"),
        ("catch_up_window: -5m", "catch_up_window: '-5m' is not a duration"),
        ("catch_up_window: later", "catch_up_window: 'later' is not a duration"),
    ],
)
def test_bad_start_up_and_catch_up_durations_name_the_file_and_key(
    tmp_path: Path, line: str, says: str
) -> None:
    path = write(tmp_path, BASE + line + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"{path}: {says}" in str(err.value)


def test_run_rejects_a_bad_startup_timeout_flag(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, BASE)
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--config", str(path), "--startup-timeout", "soon"])
    assert exit_.value.code == EXIT_USAGE
    assert "--startup-timeout" in capsys.readouterr().err


def test_a_bad_duration_in_the_config_stops_run_with_the_config_exit_code(
    tmp_path: Path, capsys
) -> None:
    path = write(tmp_path, BASE + "startup_timeout: never\n")
    assert main(["run", "--config", str(path)]) == EXIT_CONFIG == 78
    err = capsys.readouterr().err
    assert err.startswith(f"meetbot: {path}: startup_timeout: 'never' is not a duration")
    assert err.count("\n") == 1


# -- every refusal names the file, the key and the fix, in one line ---------------------------

LATAM = "regions:\n  - id: latam\n    name: LA\n    room: '#la:example.org'\n    languages: %s\n"


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        # Languages: codes the bot, its detector and its translators know.
        (BASE + LATAM % "[es, xx]", "regions[0].languages",
         "'xx' is not a known language code; use a two-letter ISO 639-1 code such as en"),
        (BASE + LATAM % "[es, English]", "regions[0].languages",
         "'English' is not a language code; write its code: en"),
        (BASE + LATAM % "[es, FR]", "regions[0].languages", "write it in lower case: fr"),
        (BASE + LATAM % "[es, fr-FR]", "regions[0].languages", "write the language alone: fr"),
        (BASE + LATAM % "[es, es]", "regions[0].languages", "'es' is listed twice"),
        (BASE + LATAM % "[es, no]", "regions[0].languages[1]",
         "expected text, not False (put it in quotes)"),
        (BASE + LATAM % "es", "regions[0].languages", "expected a list such as [es, en]"),
        (BASE + "coordinator: {room: '#c:example.org', language: xx}\n", "coordinator.language",
         "'xx' is not a known language code"),
        (BASE + "coordinator: {room: '#c:example.org', language: Spanish}\n",
         "coordinator.language", "write its code: es"),
        # The bot's account.
        (BASE.replace("password: p", 'password: ""'), "password",
         "is empty; write the bot's password here, or delete the line and set MEETBOT_PASSWORD"),
        (BASE.replace("password: p", "password: '   '"), "password", "is empty"),
        (BASE.replace("password: p", 'password: "change me"'), "password",
         "'change me' is the example's placeholder; write the bot's real password here"),
        (BASE.replace("password: p", "password: 123456"), "password",
         "expected text, not 123456 (put it in quotes)"),
        (BASE + 'access_token: ""\n', "access_token",
         "is empty; write the bot's access token here, or delete the line and set "
         "MEETBOT_ACCESS_TOKEN"),
        (BASE.replace("http://127.0.0.1:8008", '"https://"'), "homeserver",
         "'https://' has no host name; write a URL such as https://matrix.example.org"),
        (BASE.replace("http://127.0.0.1:8008", "matrix.example.org"), "homeserver",
         "'matrix.example.org' has no http:// or https:// in front; write "
         "https://matrix.example.org"),
        (BASE.replace("http://127.0.0.1:8008", "ftp://matrix.example.org"), "homeserver",
         "is not an http:// or https:// URL"),
        (BASE.replace("http://127.0.0.1:8008", "https://matrix.example.org:port"), "homeserver",
         "has a port that is not a number"),
        (BASE + "translation: {backend: libretranslate, libretranslate_url: 'lt.example.org'}\n",
         "translation.libretranslate_url",
         "'lt.example.org' has no http:// or https:// in front; write http://lt.example.org"),
        (BASE + "translation: {libretranslate_url: 'http://'}\n", "translation.libretranslate_url",
         "has no host name"),
        # Shapes: say what is expected, in the file's words.
        (BASE + "reminders: 24h\n", "reminders",
         "expected a list of durations such as [24h, 1h], not '24h'"),
        (BASE + LATAM % "[es]" + "    reminders: 1h\n", "regions[0].reminders",
         "expected a list of durations"),
        (BASE + "reminders: [24h, soon]\n", "reminders", "'soon' is not a duration"),
        (BASE + "translation: argos\n", "translation",
         "expected a group of keys (indented 'key: value' lines), not 'argos'"),
        (BASE + "translation: {backend: google}\n", "translation.backend",
         "'google' is not one of: argos, apertium, libretranslate or none"),
        (BASE + "translation: {bakend: none}\n", "translation.bakend",
         "unknown key; did you mean backend?"),
        (BASE + "translation: {argos_threads: 0}\n", "translation.argos_threads",
         "0 is too small: it must be at least 1"),
        (BASE + "translation: {argos_threads: two}\n", "translation.argos_threads",
         "expected a whole number, not 'two'"),
        (BASE + "facilitators: '@alice:example.org'\n", "facilitators",
         'expected a list such as ["@alice:example.org"]'),
        (BASE + "startup_timeout: .inf\n", "startup_timeout", "is not a usable duration"),
        (BASE + "late_start_grace: {}\n", "late_start_grace",
         "expected a duration such as 90s, 15m or 1h, not {}"),
        (BASE + LATAM % "[es]" + "    timezone: America/Bogata\n", "regions[0].timezone",
         "unknown time zone 'America/Bogata'; did you mean America/Bogota?"),
        (BASE + "regions:\n  - {id: a, name: A, room: '#a:x.org'}\n"
         "  - {id: a, name: B, room: '#b:x.org'}\n", "regions[1].id",
         "'a' is already the id of regions[0]; give each region its own id"),
        (BASE + "regions:\n  - {id: Latam, name: A, room: '#a:x.org'}\n", "regions[0].id",
         "'Latam' is not a region id"),
        (BASE + LATAM % "[es]" + "    meetings:\n      - {number: 1, starts: 2027-01-15T18:00}"
         "\n      - {number: 1, starts: 2027-02-15T18:00}\n", "regions[0].meetings[1].number",
         "1 is already the number of meetings[0]"),
        (BASE + LATAM % "[es]" + "    meetings: [{number: 1, starts: tomorrow}]\n",
         "regions[0].meetings[0].starts",
         "expected a local date and time such as 2027-01-15T18:00, not 'tomorrow'"),
        (BASE + "log_level: LOUD\n", "log_level", "'LOUD' is not one of: DEBUG, INFO"),
        # Keys given twice: PyYAML would keep the last one in silence.
        (BASE + "password: q\n", "password", "set twice (lines 3 and 4); keep one of the two"),
        (BASE + LATAM % "[es]" + "    name: Latin America\n", "regions[0].name",
         "set twice (lines 6 and 9)"),
    ],
)
def test_a_refusal_names_the_file_the_key_and_the_fix(
    tmp_path: Path, text: str, key: str, says: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    message = str(err.value)
    assert message.count("\n") == 0, message
    assert message.startswith(f"{path}: {key}: "), message
    assert says in message
    assert "instance of" not in message and "Input should" not in message


def test_the_example_as_copied_is_refused_until_its_password_is_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(EXAMPLE, env={"MEETBOT_PASSWORD": "from the environment"})
    assert str(err.value) == (
        f"{EXAMPLE}: password: 'change me' is the example's placeholder; write the bot's real "
        "password here, or delete the line and set MEETBOT_PASSWORD in the environment"
    )
    without = EXAMPLE.read_text().replace('password: "change me"', "")
    config = load_config(write(tmp_path, without), env={"MEETBOT_PASSWORD": "s3cret"})
    assert config.password is not None and config.password.get_secret_value() == "s3cret"


def test_an_empty_password_variable_is_said_as_such(tmp_path: Path) -> None:
    path = write(tmp_path, 'homeserver: http://x.org\nuser_id: "@bot:x.org"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path, env={"MEETBOT_PASSWORD": ""})
    assert str(err.value) == (
        f"{path}: password: missing, and MEETBOT_PASSWORD is empty in the environment; give it "
        "a value (docker compose: in the .env file beside docker-compose.yml), or write "
        f"password: in {path}"
    )


def test_check_config_warns_of_the_example_s_homeserver(tmp_path: Path, capsys) -> None:
    assert main(["check-config", "--config", str(filled_in_example(tmp_path))]) == 0
    err = capsys.readouterr().err
    assert ("warning: homeserver: https://matrix.example.org is the example's address; write "
            "your homeserver's (and the rooms and user ids on it)") in err


def test_an_empty_password_in_the_file_gives_way_to_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("password: p", 'password: ""'))
    config = load_config(path, env={"MEETBOT_PASSWORD": "s3cret"})
    assert config.password is not None and config.password.get_secret_value() == "s3cret"


def test_every_problem_is_a_line_of_its_own(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("http://127.0.0.1:8008", '"https://"')
                 + "translation: {}\nreminders: 1h\ntranslation: {backend: none}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    # Duplicates are found before anything else is checked, all of them at once.
    assert str(err.value) == f"{path}: translation: set twice (lines 4 and 6); keep one of the two"
    path = write(tmp_path, BASE.replace("http://127.0.0.1:8008", '"https://"') + "reminders: 1h\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    lines = str(err.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == ["homeserver", "reminders"]


@pytest.mark.parametrize(
    ("data_dir", "says"),
    [
        ("meetbot.yaml", "is a file; data_dir must name a folder"),
        ("meetbot.yaml/data", "is inside a file ("),
    ],
)
def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path, data_dir: str, says: str) -> None:
    path = write(tmp_path, BASE + f"data_dir: {data_dir}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: data_dir: {tmp_path / data_dir} ")
    assert says in str(err.value)


def test_models_dir_and_prompts_dir_must_be_folders_too(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    for key, line in [("translation.models_dir", "translation: {models_dir: file}\n"),
                      ("prompts_dir", "prompts_dir: file\n")]:
        path = write(tmp_path, BASE + line)
        with pytest.raises(ConfigError, match=f"^{path}: {key}: .* is a file; {key} must"):
            load_config(path)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (BASE + "regions:\n\t- id: a\n", " (line 5, column 1): not valid YAML: while scanning for "
         "the next token: found character '\\t' that cannot start any token; indent with spaces"),
        ("homeserver: http://x.org\nuser_id: @bot:example.org\n",
         " (line 2, column 10): not valid YAML: while scanning for the next token: found character "
         "'@' that cannot start any token; put the value in quotes"),
        (BASE + "coordinator:\n  room: !abc:example.org\n",
         " (line 5, column 9): not valid YAML: could not determine a constructor for the tag "
         "'!abc:example.org'; a room id starts with !, which YAML reads as a tag: put it in "
         "quotes"),
        ("- homeserver: x\n", ": expected 'key: value' lines (homeserver:, user_id:, ...), "
         "not a list"),
    ],
)
def test_yaml_mistakes_matrix_people_make_say_how_to_fix_them(
    tmp_path: Path, content: str, says: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}{says}")
    assert "\n" not in str(err.value)


def test_the_config_file_itself_can_be_wrong_in_plain_ways(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"is a folder, not a file; give the YAML file itself"):
        load_config(tmp_path)
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(BASE.encode() + "device_name: café\n".encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        load_config(latin1)
    assert str(err.value) == (
        f"{latin1} (line 4): not UTF-8 text (byte 0xe9); save the file as UTF-8"
    )
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="no such file; give the config file with --config"):
        load_config(missing)
    # A byte order mark (Windows editors) is no problem.
    bom = write(tmp_path, "\ufeff" + BASE)
    assert load_config(bom).user_id == "@bot:example.org"


def test_an_unreadable_config_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, BASE)
    real = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (
        f"{path}: cannot be read (permission denied); run meetbot as a user who may read it, "
        "or let that user read it (chown or chmod)"
    )


@pytest.mark.parametrize("value", [None, "", "x", 0, -5, 1.5, True, [], ["x"], [1], {}, {"a": 1}])
def test_no_value_of_any_key_makes_the_loader_crash(tmp_path: Path, value: object) -> None:
    """Whatever is written under any key, the answer is a ConfigError (or a valid config)."""
    import yaml

    def keys(model: type, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        found = []
        for name, field in model.model_fields.items():
            if name == "source":
                continue
            found.append((*prefix, name))
            inner = field.annotation
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                found += keys(inner, (*prefix, name))
        return found

    base = {"homeserver": "http://127.0.0.1:8008", "user_id": "@bot:example.org",
            "password": "p", "translation": {}, "privacy": {}}
    region = {"id": "a", "name": "A", "room": "#a:x.org",
              "meetings": [{"number": 1, "starts": "2027-01-01T10:00"}]}
    targets = [*keys(Config), *(("regions", 0, k) for k in RegionConfig.model_fields),
               *(("regions", 0, "meetings", 0, k) for k in ScheduledMeeting.model_fields),
               *(("coordinator", k) for k in CoordinatorConfig.model_fields)]
    for target in targets:
        data = {**base, "regions": [dict(region, meetings=[dict(region["meetings"][0])])],
                "coordinator": {"room": "#c:x.org"}, "translation": {}, "privacy": {}}
        spot: Any = data
        for part in target[:-1]:
            spot = spot[part]
        spot[target[-1]] = value
        path = write(tmp_path, yaml.safe_dump(data))
        try:
            load_config(path, env={})
        except ConfigError as exc:
            assert all(line.startswith(f"{path}: ") for line in str(exc).splitlines()), exc

"""Configuration: the example is valid and complete; every error names the file and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from meetbot.cli.main import main
from meetbot.config.agendas import load_agenda
from meetbot.config.schema import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "meetbot.example.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "meetbot.yaml"
    path.write_text(text)
    return path


BASE = 'homeserver: http://127.0.0.1:8008\nuser_id: "@bot:example.org"\npassword: p\n'


def test_the_example_config_is_valid_and_documents_every_key() -> None:
    config = load_config(EXAMPLE)
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
    with pytest.raises(ConfigError, match="give password or access_token"):
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
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "command_prefix" in err and str(path) in err
    assert main(["check-config", "--config", str(EXAMPLE)]) == 0


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
    out = capsys.readouterr().out
    assert "warning: translation.backend argos cannot translate en→es, es→en" in out
    assert "meetbot models install" in out


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
    assert exit_.value.code == 2
    assert "--startup-timeout" in capsys.readouterr().err


def test_a_bad_duration_in_the_config_stops_run_with_exit_code_2(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, BASE + "startup_timeout: never\n")
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: startup_timeout:" in err

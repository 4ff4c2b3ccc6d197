"""``meetbot init``: from flags or from answers on a terminal, a commented config that loads
and passes ``check-config``; an existing file is kept; what is missing or wrong is named."""

from __future__ import annotations

import io
import os
import re
import stat
from pathlib import Path

import pytest
import yaml

from meetbot.cli.main import main
from meetbot.config.schema import load_config

FLAGS = [
    "--homeserver", "https://matrix.example.org/",
    "--user-id", "@meetbot:example.org",
    "--password", 'pa"ss: #word',
    "--region", "latam", "Latin América", "#latam:example.org", "es,en", "America/Bogota",
    "--region", "west-africa", "West Africa", "!wa:example.org", "fr,en",
    "--coordinator-room", "#research:example.org",
    "--coordinator-user", "@kofi:example.org",
    "--coordinator-language", "fr",
    "--facilitator", "@maya:example.org", "--facilitator", "@lucie:example.org",
    "--translation", "none",
]


class FakeTerminal(io.StringIO):
    """Answers typed on a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _no_terminal_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.delenv("MEETBOT_PASSWORD", raising=False)
    monkeypatch.delenv("MEETBOT_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("MEETBOT_CONFIG", raising=False)


def test_flags_write_a_commented_config_that_loads_and_passes_check_config(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "conf" / "meetbot.yaml"
    assert main(["init", "--config", str(path), *FLAGS]) == 0
    config = load_config(path, env={})
    assert config.homeserver == "https://matrix.example.org"
    assert config.user_id == "@meetbot:example.org"
    assert config.password is not None
    assert config.password.get_secret_value() == 'pa"ss: #word'
    assert [(r.id, r.name, r.room, r.languages, r.timezone) for r in config.regions] == [
        ("latam", "Latin América", "#latam:example.org", ["es", "en"], "America/Bogota"),
        ("west-africa", "West Africa", "!wa:example.org", ["fr", "en"], "UTC"),
    ]
    assert config.coordinator is not None
    assert (config.coordinator.room, config.coordinator.users, config.coordinator.language) \
        == ("#research:example.org", ["@kofi:example.org"], "fr")
    assert config.facilitators == ["@maya:example.org", "@lucie:example.org"]
    assert config.translation.backend == "none"
    assert config.data_path == (path.parent / "data").resolve()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "it holds the bot's password"
    out = capfd.readouterr().out
    # check-config ran on the file, then the next steps.
    assert "region latam: Latin América, room #latam:example.org" in out
    assert f"{path}: OK" in out
    assert f"meetbot check-config --config {path} --online" in out
    assert f"meetbot run --config {path}" in out


def test_every_key_written_is_explained_by_a_comment(tmp_path: Path) -> None:
    path = tmp_path / "meetbot.yaml"
    assert main(["init", "--config", str(path), *FLAGS]) == 0
    lines = path.read_text(encoding="utf-8").splitlines()
    key = re.compile(r"^( {2})?[a-z_]+:")
    for n, line in enumerate(lines):
        if key.match(line):
            assert lines[n - 1].lstrip().startswith("#"), f"no comment above {line!r}"
    # The keys are those of the documented example, and the file says where that is.
    example = yaml.safe_load((Path(__file__).parents[2] / "config" /
                              "meetbot.example.yaml").read_text(encoding="utf-8"))
    written = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(written) <= set(example) | {"password"}
    assert "config/meetbot.example.yaml" in lines[1]


def test_an_existing_file_is_kept_unless_force(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "meetbot.yaml"
    path.write_text("# mine\n")
    assert main(["init", "--config", str(path), *FLAGS]) == 1
    err = capfd.readouterr().err
    assert f"{path} already exists; give --force to replace it" in err
    assert path.read_text() == "# mine\n"
    assert main(["init", "--config", str(path), "--force", *FLAGS]) == 0
    assert load_config(path, env={}).user_id == "@meetbot:example.org"


def test_without_a_terminal_every_missing_flag_is_named(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "meetbot.yaml"
    assert main(["init", "--config", str(path)]) == 2
    err = capfd.readouterr().err
    assert "missing --homeserver, --user-id, --password or --access-token" in err
    assert "--region, --coordinator-room, --coordinator-user" in err
    assert "stdin is not a terminal" in err
    assert not path.exists()


def test_flags_on_a_terminal_mean_no_questions(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", FakeTerminal("@meetbot:example.org\n"))
    path = tmp_path / "meetbot.yaml"
    assert main(["init", "--config", str(path), "--homeserver", "https://m.example.org"]) == 2
    captured = capfd.readouterr()
    assert "missing --user-id" in captured.err and "--homeserver" not in captured.err.split(
        "missing")[1].split("\n")[0]
    assert "values were given as flags" in captured.err
    assert "Bot user id" not in captured.out
    assert not path.exists()


def test_wrong_values_are_named_with_their_flag(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    flags = [*FLAGS, "--region", "latam", "Again", "#latam:example.org", "de", "Mars/Base",
             "--region", "short", "#x:example.org", "--facilitator", "maya",
             "--device-id", "DEV"]
    assert main(["init", "--config", str(tmp_path / "m.yaml"), *flags]) == 2
    err = capfd.readouterr().err
    assert "--region: latam: de: give languages among en, fr, es, e.g. es,en (the first " \
        "is the region's default); unknown time zone 'Mars/Base'" in err
    assert "--region: 'short #x:example.org': give ID NAME ROOM LANGUAGES [TIMEZONE]" in err
    assert "--facilitator: 'maya' is not a Matrix user id" in err
    assert "--device-id goes with --access-token" in err
    assert not (tmp_path / "m.yaml").exists()


def test_two_regions_may_not_share_an_id_or_a_room(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    flags = [*FLAGS, "--region", "latam", "Again", "!wa:example.org", "es"]
    assert main(["init", "--config", str(tmp_path / "m.yaml"), *flags]) == 2
    err = capfd.readouterr().err
    assert "two regions have the id 'latam'" in err
    assert "two regions share the room !wa:example.org" in err


def test_the_secret_may_stay_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEETBOT_PASSWORD", "from-env")
    flags = [f for f in FLAGS if f not in ("--password", 'pa"ss: #word')]
    path = tmp_path / "meetbot.yaml"
    assert main(["init", "--config", str(path), *flags]) == 0
    text = path.read_text()
    assert "from-env" not in text and "\npassword:" not in text
    assert "MEETBOT_PASSWORD" in text
    config = load_config(path, env={"MEETBOT_PASSWORD": "from-env"})
    assert config.password is not None and config.password.get_secret_value() == "from-env"


def test_an_access_token_and_its_device(tmp_path: Path) -> None:
    flags = [f for f in FLAGS if f not in ("--password", 'pa"ss: #word')]
    path = tmp_path / "meetbot.yaml"
    assert main(["init", "--config", str(path), *flags,
                 "--access-token", "syt_abc", "--device-id", "DEVICE1"]) == 0
    config = load_config(path, env={})
    assert config.access_token is not None
    assert config.access_token.get_secret_value() == "syt_abc"
    assert config.device_id == "DEVICE1" and config.password is None


ANSWERS = [
    "meetbot",                       # not a user id: asked again
    "@meetbot:example.org",
    "",                              # homeserver: the default, https://example.org
    "",                              # password (the default way to log in)
    "s3cret",
    "Latam",                         # not a region id: asked again
    "latam",
    "Latin America",
    "#latam:example.org",
    "es,de",                         # de is not offered: asked again
    "es,en",
    "Mars/Olympus",                  # no such zone: asked again
    "America/Bogota",
    "y",                             # another region
    "west-africa",
    "",                              # name: the id
    "#latam:example.org",            # taken by latam: asked again
    "!wa:example.org",
    "fr",
    "",                              # UTC
    "n",
    "#research:example.org",
    "@kofi:example.org, @sam:example.org",
    "",                              # en
    "-",                             # no facilitators
    "none",
]


def test_answers_on_a_terminal_write_the_config(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", FakeTerminal("\n".join(ANSWERS) + "\n"))
    path = tmp_path / "meetbot.yaml"
    # --data-dir is no answer: it does not stop the questions.
    assert main(["init", "--config", str(path), "--data-dir", "/srv/meetbot"]) == 0
    out = capfd.readouterr().out
    assert "'meetbot' is not a Matrix user id" in out
    assert "Homeserver URL (client-server API) [https://example.org]" in out
    assert "'Latam' is not a region id" in out
    assert "de: give languages among en, fr, es" in out
    assert "unknown time zone 'Mars/Olympus'" in out
    assert "another region has this room" in out
    assert f"{path}: OK" in out
    config = load_config(path, env={})
    assert config.homeserver == "https://example.org"
    assert config.password is not None and config.password.get_secret_value() == "s3cret"
    assert [(r.id, r.name, r.room, r.languages, r.timezone) for r in config.regions] == [
        ("latam", "Latin America", "#latam:example.org", ["es", "en"], "America/Bogota"),
        ("west-africa", "west-africa", "!wa:example.org", ["fr"], "UTC"),
    ]
    assert config.coordinator is not None
    assert config.coordinator.users == ["@kofi:example.org", "@sam:example.org"]
    assert config.coordinator.language == "en"
    assert config.facilitators == []
    assert config.translation.backend == "none"
    assert config.data_path == Path("/srv/meetbot")


def test_answers_that_end_early_write_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", FakeTerminal("\n".join(ANSWERS[:8]) + "\n"))
    path = tmp_path / "meetbot.yaml"
    assert main(["init", "--config", str(path)]) == 1
    assert "the answers ended before the last question; nothing written" in \
        capfd.readouterr().err
    assert not path.exists()
    assert os.listdir(tmp_path) == []

"""The command line answers ordinary mistakes in one line on stderr, with an exit code that
says what kind of mistake it was, and never with a traceback.

Exit codes: 0 done, 1 the command could not do its work, 2 usage (argparse), 3 ``run``
could not start, 78 configuration error. Running as root (as CI containers do) reads and
writes everything, so permission problems are also played by making the operating system
say "permission denied" where it would for another user.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from meetbot.cli import common
from meetbot.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_STARTUP, EXIT_USAGE
from meetbot.cli.logs import JsonFormatter
from meetbot.cli.main import main
from meetbot.config.schema import load_config
from meetbot.core.events import Message
from meetbot.research.pseudonyms import SECRET_FILE
from meetbot.runtime.features import open_app

ROOT = Path(__file__).resolve().parents[2]
ROOM = "!room:example.org"
ANA = "@ana:example.org"
AT = datetime(2027, 1, 15, 23, 0, tzinfo=timezone.utc)
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def write_config(tmp_path: Path, **extra: object) -> Path:
    path = tmp_path / "meetbot.yaml"
    path.write_text(yaml.safe_dump({
        "homeserver": "http://127.0.0.1:1", "user_id": "@bot:example.org", "password": "x",
        "facilitators": [ANA], "translation": {"backend": "none"}, "data_dir": "data",
        "prompts_dir": str(ROOT / "prompts"),
        "regions": [{"id": "latam", "name": "LatAm", "room": ROOM, "languages": ["es", "en"]}],
        **extra,
    }))
    return path


async def _play(config_path: Path, end: bool) -> None:
    app = await open_app(load_config(config_path))
    try:
        lines = ["!startmeeting Check-in", "!idea a shared notebook", "hola"]
        for n, body in enumerate([*lines, *(["!endmeeting"] if end else [])]):
            await app.ingest(Message(f"$e{n}", ROOM, ANA, AT + timedelta(minutes=n), body=body))
    finally:
        await app.store.db.close()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config whose database holds one ended meeting."""
    path = write_config(tmp_path)
    asyncio.run(_play(path, end=True))
    return path


def fails(capsys: pytest.CaptureFixture[str], argv: list[str], code: int) -> str:
    """Run ``meetbot ARGV``; it must end with ``code`` and one line on stderr, no traceback."""
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("meetbot: "), err
    return lines[0]


# -- the config file -------------------------------------------------------------------------


def test_a_config_path_that_is_a_folder(tmp_path: Path, capsys) -> None:
    line = fails(capsys, ["check-config", "--config", str(tmp_path)], EXIT_CONFIG)
    assert line == (f"meetbot: {tmp_path}: is a folder, not a file; give the YAML file itself "
                    f"(e.g. {tmp_path / 'meetbot.yaml'})")


def test_a_config_that_is_not_utf8(tmp_path: Path, capsys) -> None:
    path = tmp_path / "meetbot.yaml"
    path.write_bytes(b"homeserver: http://x.org\ndevice_name: caf\xe9\n")
    line = fails(capsys, ["run", "--config", str(path)], EXIT_CONFIG)
    assert line == f"meetbot: {path} (line 2): not UTF-8 text (byte 0xe9); save the file as UTF-8"


def test_a_missing_config_says_where_to_start(tmp_path: Path, capsys) -> None:
    path = tmp_path / "meetbot.yaml"
    line = fails(capsys, ["meetings", "--config", str(path)], EXIT_CONFIG)
    assert line.startswith(f"meetbot: {path}: no such file; give the config file with --config")
    assert "copy config/meetbot.example.yaml" in line


def test_an_unreadable_config(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path)
    _deny(monkeypatch, path)
    line = fails(capsys, ["check-config", "--config", str(path)], EXIT_CONFIG)
    assert line == (f"meetbot: {path}: cannot be read (permission denied); run meetbot as a "
                    "user who may read it, or let that user read it (chown or chmod)")


@pytest.mark.skipif(AS_ROOT, reason="root reads every file")
def test_an_unreadable_config_for_real(tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path)
    path.chmod(0)
    line = fails(capsys, ["check-config", "--config", str(path)], EXIT_CONFIG)
    assert "cannot be read (permission denied)" in line


def test_a_config_error_has_its_own_exit_code_and_names_file_and_key(tmp_path: Path,
                                                                      capsys) -> None:
    path = write_config(tmp_path, homeserver="https://")
    line = fails(capsys, ["report", "--config", str(path)], EXIT_CONFIG)
    assert line == (f"meetbot: {path}: homeserver: 'https://' has no host name; write a URL "
                    "such as https://matrix.example.org")


def test_an_agenda_error_is_a_config_error(tmp_path: Path, capsys) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    (prompts / "default.yaml").write_text("prompts:\n  - id: a\n    text: {en: A}\n    id: b\n")
    path = write_config(tmp_path, prompts_dir="prompts")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "meetbot.sqlite3").write_bytes(b"")
    line = fails(capsys, ["meetings", "--config", str(path)], EXIT_CONFIG)
    assert line == (f"meetbot: {prompts / 'default.yaml'}: prompts[0].id: set twice (lines 2 "
                    "and 4); keep one of the two")


def test_usage_errors_are_argparse_s_exit_code_2(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--format", "pdf"])
    assert exit_.value.code == EXIT_USAGE
    assert "invalid choice: 'pdf'" in capsys.readouterr().err


# -- read-only commands need the record the bot keeps ------------------------------------------


@pytest.mark.parametrize("argv", [["meetings"], ["minutes", "abc"], ["report"], ["export"]])
def test_read_only_commands_refuse_a_missing_data_dir(tmp_path: Path, capsys,
                                                      argv: list[str]) -> None:
    path = write_config(tmp_path)
    line = fails(capsys, [*argv, "--config", str(path)], EXIT_FAILED)
    assert line == (
        f"meetbot: no database: {tmp_path / 'data'} does not exist (data_dir in {path}). The bot "
        "has not run with this config yet: check data_dir, or start the bot with meetbot run"
    )
    assert not (tmp_path / "data").exists()  # nothing created


def test_read_only_commands_refuse_a_data_dir_without_a_database(tmp_path: Path,
                                                                 capsys) -> None:
    path = write_config(tmp_path)
    (tmp_path / "data").mkdir()
    line = fails(capsys, ["report", "--config", str(path)], EXIT_FAILED)
    assert f"no database: {tmp_path / 'data' / 'meetbot.sqlite3'} does not exist" in line
    assert list((tmp_path / "data").iterdir()) == []


def test_no_report_and_no_export_before_a_meeting_has_ended(tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path)
    asyncio.run(_play(path, end=False))  # a meeting still running
    database = tmp_path / "data" / "meetbot.sqlite3"
    for argv, what in ((["report"], "report on"), (["export"], "export")):
        line = fails(capsys, [*argv, "--config", str(path)], EXIT_FAILED)
        assert line == (f"meetbot: no meeting has ended yet in {database}: there is nothing to "
                        f"{what} (meetbot meetings lists the meetings)")
    assert not (tmp_path / "data" / "reports").exists()
    assert not (tmp_path / "data" / "exports").exists()
    assert main(["meetings", "--config", str(path)]) == 0
    assert "running" in capsys.readouterr().out


def test_meetings_on_an_empty_database_says_so_on_stderr(tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path)

    async def create() -> None:
        await (await open_app(load_config(path))).store.db.close()

    asyncio.run(create())
    assert main(["meetings", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == f"meetbot: no meetings in {tmp_path / 'data/meetbot.sqlite3'} yet\n"


def test_an_unknown_meeting_id(config: Path, capsys) -> None:
    line = fails(capsys, ["minutes", "zzz", "--config", str(config)], EXIT_FAILED)
    assert line.startswith("meetbot: no meeting 'zzz' in ")
    assert line.endswith("(or the prefix is ambiguous); meetbot meetings lists them")


def test_the_commands_work_when_nothing_is_wrong(config: Path, tmp_path: Path, capsys) -> None:
    assert main(["report", "--config", str(config), "--out", str(tmp_path / "r")]) == 0
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "report.html", "report.json", "report.md"]
    assert main(["export", "--config", str(config), "-f", "jsonl", "--out", str(tmp_path / "e"),
                 "--mapping", str(tmp_path / "key" / "mapping.json")]) == 0
    assert (tmp_path / "e" / "meetbot-export.jsonl").read_text().count("hola") == 1
    assert ANA in (tmp_path / "key" / "mapping.json").read_text()
    capsys.readouterr()
    assert main(["meetings", "--config", str(config)]) == 0
    meeting_id = capsys.readouterr().out.split()[0]
    assert main(["minutes", meeting_id[:6], "--config", str(config),
                 "--out", str(tmp_path / "m")]) == 0
    written = capsys.readouterr().out.splitlines()
    assert written and all(line.startswith(str(tmp_path / "m")) for line in written)


# -- where the commands write ----------------------------------------------------------------

OUT_COMMANDS = [["report"], ["export"], ["minutes", "MEETING"]]


def _argv(argv: list[str], config: Path, capsys) -> list[str]:
    if "MEETING" in argv:
        assert main(["meetings", "--config", str(config)]) == 0
        meeting_id = capsys.readouterr().out.split()[0]
        argv = [meeting_id if a == "MEETING" else a for a in argv]
    return [*argv, "--config", str(config)]


@pytest.mark.parametrize("argv", OUT_COMMANDS)
def test_out_pointing_at_a_file(config: Path, tmp_path: Path, capsys, argv: list[str]) -> None:
    target = tmp_path / "report.html"
    target.write_text("precious")
    line = fails(capsys, [*_argv(argv, config, capsys), "--out", str(target)], EXIT_FAILED)
    assert line == (f"meetbot: --out {target}: is a file, not a folder; give a folder (it is "
                    "created if missing)")
    assert target.read_text() == "precious"


@pytest.mark.parametrize("argv", OUT_COMMANDS)
def test_out_inside_a_file(config: Path, tmp_path: Path, capsys, argv: list[str]) -> None:
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "out"
    line = fails(capsys, [*_argv(argv, config, capsys), "--out", str(target)], EXIT_FAILED)
    assert line.startswith(f"meetbot: --out {target}: cannot be a folder, part of it is a file")


@pytest.mark.parametrize("argv", OUT_COMMANDS)
def test_out_in_a_read_only_folder(config: Path, tmp_path: Path, capsys,
                                   monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    target = tmp_path / "read-only"
    target.mkdir()
    real = os.access
    monkeypatch.setattr(common.os, "access",
                        lambda p, mode: False if Path(p) == target else real(p, mode))
    line = fails(capsys, [*_argv(argv, config, capsys), "--out", str(target)], EXIT_FAILED)
    assert line == (f"meetbot: --out {target}: cannot write in this folder (permission denied "
                    "or read-only); give a folder you may write to")
    assert list(target.iterdir()) == []


@pytest.mark.skipif(AS_ROOT, reason="root writes everywhere")
@pytest.mark.parametrize("argv", OUT_COMMANDS)
def test_out_in_a_read_only_folder_for_real(config: Path, tmp_path: Path, capsys,
                                            argv: list[str]) -> None:
    target = tmp_path / "read-only"
    target.mkdir()
    target.chmod(0o555)
    line = fails(capsys, [*_argv(argv, config, capsys), "--out", str(target / "sub")],
                 EXIT_FAILED)
    assert "permission denied" in line


def test_a_mapping_that_is_a_folder(config: Path, tmp_path: Path, capsys) -> None:
    line = fails(capsys, ["export", "--config", str(config), "--mapping", str(tmp_path)],
                 EXIT_FAILED)
    assert line == (f"meetbot: --mapping {tmp_path}: is a folder; give a file name, e.g. "
                    f"{tmp_path / 'mapping.json'}")


def test_a_disk_that_fails_while_writing(config: Path, tmp_path: Path, capsys,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from meetbot.research import report_render

    def full(self: Path, *args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device", str(self))

    monkeypatch.setattr(report_render.Path, "write_text", full)
    line = fails(capsys, ["report", "--config", str(config), "--out", str(tmp_path / "r")],
                 EXIT_FAILED)
    assert line == f"meetbot: {tmp_path / 'r' / 'report.html.tmp'}: No space left on device"


# -- the pseudonym key ---------------------------------------------------------------------------


def _deny(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Reading ``path`` fails as it does for a user who may not read it."""
    for name in ("read_text", "read_bytes"):
        real = getattr(Path, name)

        def denied(self: Path, *args: object, _real=real, **kwargs: object) -> object:
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(Path, name, denied)


def test_another_user_s_pseudonym_key(config: Path, tmp_path: Path, capsys,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "data" / SECRET_FILE
    key.write_text("ab" * 32)
    _deny(monkeypatch, key)
    line = fails(capsys, ["export", "--config", str(config)], EXIT_FAILED)
    assert line == (f"meetbot: {key}: cannot read or create the pseudonym key (permission "
                    "denied); run meetbot as the user the bot runs as (the owner of data_dir)")
    assert not (tmp_path / "data" / "exports").exists()


@pytest.mark.skipif(AS_ROOT, reason="root reads every file")
def test_another_user_s_pseudonym_key_for_real(config: Path, tmp_path: Path, capsys) -> None:
    key = tmp_path / "data" / SECRET_FILE
    key.write_text("ab" * 32)
    key.chmod(0)
    line = fails(capsys, ["export", "--config", str(config)], EXIT_FAILED)
    assert "cannot read or create the pseudonym key (permission denied)" in line


def test_a_damaged_pseudonym_key(config: Path, tmp_path: Path, capsys) -> None:
    key = tmp_path / "data" / SECRET_FILE
    key.write_text("not a key")
    line = fails(capsys, ["export", "--config", str(config)], EXIT_FAILED)
    assert line == (f"meetbot: {key}: the pseudonym key is damaged (not 32 hexadecimal bytes); "
                    "restore it from a backup (a new key would give everyone new pseudonyms)")


def test_an_unreadable_database(config: Path, tmp_path: Path, capsys,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "data" / "meetbot.sqlite3"
    real = os.access
    monkeypatch.setattr(common.os, "access",
                        lambda p, mode: False if Path(p) == database else real(p, mode))
    line = fails(capsys, ["meetings", "--config", str(config)], EXIT_FAILED)
    assert line == (f"meetbot: {database}: cannot read the database (permission denied); run "
                    "meetbot as the user the bot runs as (the owner of data_dir), e.g. sudo -u "
                    "meetbot meetbot ...")


def test_a_file_that_is_not_a_database(tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "meetbot.sqlite3").write_text("not sqlite " * 100)
    line = fails(capsys, ["meetings", "--config", str(path)], EXIT_FAILED)
    assert line.startswith(f"meetbot: {tmp_path / 'data' / 'meetbot.sqlite3'}: cannot open the "
                           "database (file is not a database)")


def test_a_database_from_a_newer_meetbot(config: Path, tmp_path: Path, capsys) -> None:
    import sqlite3

    database = tmp_path / "data" / "meetbot.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("INSERT INTO schema_version VALUES (999, 'future', '2099-01-01')")
    conn.close()
    line = fails(capsys, ["report", "--config", str(config)], EXIT_FAILED)
    assert line.startswith(f"meetbot: {database}: the database is at version 999, newer than")
    assert line.endswith("Upgrade meetbot; never downgrade a database.")
    # For `run` it is a failed start.
    assert main(["run", "-q", "--config", str(config)]) == EXIT_STARTUP
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith(f"meetbot: {database}: the database is at version 999")


# -- logging ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "level"),
    [
        (["-v", "check-config"], "DEBUG"),
        (["check-config", "-v"], "DEBUG"),
        (["-q", "check-config"], "WARNING"),
        (["check-config", "--quiet"], "WARNING"),
        (["--log-level", "error", "check-config"], "ERROR"),
        (["check-config", "--log-level", "DEBUG"], "DEBUG"),
        (["-q", "check-config", "-v"], "DEBUG"),  # the last one given wins
        (["-v", "check-config", "-q"], "WARNING"),
        (["check-config"], "INFO"),  # the config's log_level
    ],
)
def test_log_options_anywhere_win_over_the_config(tmp_path: Path, argv: list[str],
                                                  level: str) -> None:
    path = write_config(tmp_path, log_level="INFO")
    root = logging.getLogger()
    before = root.level
    try:
        assert main([*argv, "--config", str(path)]) == 0
        assert logging.getLevelName(root.level) == level
    finally:
        root.setLevel(before)


def test_log_options_reach_nested_subcommands(tmp_path: Path) -> None:
    from meetbot.cli.main import build_parser

    args = build_parser().parse_args(["models", "list", "-q", "--log-format", "json"])
    assert (args.log_level, args.log_format) == ("WARNING", "json")
    args = build_parser().parse_args(["--log-format", "json", "models", "list"])
    assert args.log_format == "json" and not hasattr(args, "log_level")


def test_json_logs_are_one_object_a_line(tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path, homeserver="matrix.example.org")
    assert main(["check-config", "--config", str(path), "--log-format", "json"]) == EXIT_CONFIG
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    entry = json.loads(err[0])
    assert set(entry) == {"time", "level", "logger", "message"}
    assert entry["level"] == "ERROR" and entry["logger"] == "meetbot"
    assert entry["message"].startswith(f"{path}: homeserver: 'matrix.example.org' has no")
    assert datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).tzinfo is not None


@pytest.mark.parametrize(("argv", "json_lines"), [([], True), (["--log-format", "text"], False)])
def test_the_config_s_log_format_unless_the_command_line_says(
    tmp_path: Path, capsys, argv: list[str], json_lines: bool
) -> None:
    path = write_config(tmp_path, log_format="json")
    asyncio.run(_play(path, end=False))
    capsys.readouterr()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        assert main(["report", "--config", str(path), *argv]) == EXIT_FAILED
    finally:
        root.setLevel(level)
        root.handlers[:] = handlers
    (line,) = capsys.readouterr().err.splitlines()
    if json_lines:
        assert json.loads(line)["message"].startswith("no meeting has ended yet")
    else:
        assert line.startswith("meetbot: no meeting has ended yet")


def test_a_log_format_the_config_does_not_know(tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path, log_format="xml")
    line = fails(capsys, ["check-config", "--config", str(path)], EXIT_CONFIG)
    assert "log_format" in line and str(path) in line


def test_json_logs_carry_the_exception() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("meetbot.x", logging.ERROR, __file__, 1, "failed %s", ("it",),
                                   sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed it" and entry["logger"] == "meetbot.x"
    assert entry["exc"].startswith("Traceback") and "ValueError: boom" in entry["exc"]
    assert "\n" not in JsonFormatter().format(record)


# -- as a process: what an admin sees ----------------------------------------------------------


def _meetbot(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meetbot", *argv], cwd=cwd, capture_output=True, text=True,
        timeout=120, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_as_a_process_no_traceback_and_the_documented_codes(tmp_path: Path) -> None:
    folder = _meetbot("--quiet", "check-config", "--config", str(tmp_path), cwd=tmp_path)
    assert (folder.returncode, folder.stdout) == (EXIT_CONFIG, "")
    assert folder.stderr.startswith(f"meetbot: {tmp_path}: is a folder")
    path = write_config(tmp_path)
    empty = _meetbot("report", "--config", str(path), "--log-format", "json", cwd=tmp_path)
    assert empty.returncode == EXIT_FAILED
    assert json.loads(empty.stderr)["message"].startswith("no database: ")
    # A file that is not a database: refused, and the process ends (an open connection's
    # thread once kept it waiting forever).
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "meetbot.sqlite3").write_text("not sqlite " * 100)
    broken = _meetbot("meetings", "--config", str(path), cwd=tmp_path)
    assert broken.returncode == EXIT_FAILED
    assert broken.stderr.endswith("cannot open the database (file is not a database)\n")
    for run in (folder, empty, broken):
        assert "Traceback" not in run.stdout + run.stderr

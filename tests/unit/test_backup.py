"""``meetbot backup``: a consistent archive while the app writes, and a restore from it."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from test_app import ROOM, make_config, message

from meetbot.cli.backup import KEY, write_backup
from meetbot.config.schema import load_config
from meetbot.runtime.features import open_app
from meetbot.storage.backup import BackupError, backup_database

ROOT = Path(__file__).resolve().parents[2]


def _fake_device_state(data: Path) -> None:
    """What a logged-in bot keeps beside its database: a session, a crypto store, the key."""
    (data / "session.json").write_text(json.dumps({"device_id": "BOTDEVICE"}))
    (data / "crypto").mkdir()
    store = sqlite3.connect(data / "crypto" / "@bot:example.org_BOTDEVICE.db")
    store.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, pickle TEXT)")
    store.execute("INSERT INTO accounts (pickle) VALUES ('olm account')")
    store.commit()
    store.close()
    (data / KEY).write_text("ab" * 32)
    (data / "models").mkdir()
    (data / "models" / "big.bin").write_bytes(b"0" * 1000)


def _extract(archive: Path, into: Path) -> dict:
    into.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    manifest: dict = json.loads((into / "meetbot-backup.json").read_text())
    return manifest


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "meetbot", *args]


async def test_backups_taken_while_the_app_writes_are_consistent_and_restore(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    app = await open_app(config)
    await app.ingest(message(1, "!startmeeting Backed up"))
    _fake_device_state(config.data_path)
    written = 1
    stop = asyncio.Event()

    async def keep_writing() -> None:
        nonlocal written
        while not stop.is_set():
            written += 1
            await app.ingest(message(written, f"!idea number {written}"))
            await asyncio.sleep(0)

    writer = asyncio.create_task(keep_writing())
    archives = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        for n in range(3):
            # Another process, as on a real machine: `meetbot backup` beside `meetbot run`.
            before = written
            out = tmp_path / "backups" / f"b{n}.tar.gz"
            proc = await asyncio.create_subprocess_exec(
                *_cli("backup", "--config", str(config.source), "--out", str(out)),
                env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
            stdout, stderr = await proc.communicate()
            assert proc.returncode == 0, stderr.decode()
            assert "not in the archive" in stdout.decode() and KEY in stdout.decode()
            archives.append((out, before, written))
    finally:
        stop.set()
        await writer
        await app.store.db.close()
    assert written > 20, "the app kept writing during the backups"

    for n, (archive, before, after) in enumerate(archives):
        assert stat.S_IMODE(archive.stat().st_mode) == 0o600
        restored = tmp_path / f"restored{n}"
        manifest = _extract(archive, restored / "data")
        names = set(manifest["files"]) | {"meetbot-backup.json"}
        assert names == {
            "meetbot.sqlite3", "session.json", "crypto/@bot:example.org_BOTDEVICE.db",
            "meetbot-backup.json",
        }
        assert {p.relative_to(restored / "data").as_posix()
                for p in (restored / "data").rglob("*") if p.is_file()} == names
        assert KEY not in names and not any(name.startswith("models/") for name in names)
        copy = sqlite3.connect(restored / "data" / "meetbot.sqlite3")
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        events = copy.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        copy.close()
        # One moment of the database: everything before the backup began, nothing torn.
        assert before <= events <= after, (before, events, after)
        assert manifest["database"]["rows"]["events"] == events
        crypto = sqlite3.connect(restored / "data" / "crypto" / "@bot:example.org_BOTDEVICE.db")
        assert crypto.execute("SELECT pickle FROM accounts").fetchall() == [("olm account",)]
        crypto.close()

        # The restore: the app opens the extracted folder and replays the running meeting.
        raw = yaml.safe_load(config.source.read_text())  # type: ignore[union-attr]
        raw["data_dir"] = str(restored / "data")
        (restored / "meetbot.yaml").write_text(yaml.safe_dump(raw))
        again = await open_app(load_config(restored / "meetbot.yaml"))
        try:
            await again.restore()
            meeting = again.meeting_in(ROOM)
            assert meeting is not None and meeting.title == "Backed up"
            assert len(meeting.items) == events  # the first prompt, then one idea per message
            await again.ingest(message(10_000, "!idea after the restore"))
        finally:
            await again.store.db.close()


async def test_the_copy_holds_what_is_still_in_the_write_ahead_log(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    app = await open_app(config)
    try:
        await app.ingest(message(1, "!startmeeting"))
        for n in range(2, 40):
            await app.ingest(message(n, f"!idea {n}"))
        assert _size(Path(f"{config.database_path}-wal")) > 0, "the rows are in the log"
        copied = backup_database(config.database_path, tmp_path / "copy.sqlite3")
        assert copied.rows["events"] == 39
        assert copied.schema_version is not None and copied.schema_version >= 1
    finally:
        await app.store.db.close()
    assert _size(tmp_path / "copy.sqlite3-wal") == 0, "the copy is one file"


async def test_the_key_goes_apart_and_nothing_is_overwritten(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    app = await open_app(config)
    await app.ingest(message(1, "!startmeeting"))
    await app.store.db.close()
    minutes = config.minutes_path / "m1"
    minutes.mkdir(parents=True)
    (minutes / "minutes.md").write_text("# minutes")
    out, key_out = tmp_path / "b.tar.gz", tmp_path / "apart" / "key"
    with pytest.raises(FileNotFoundError, match="no pseudonym secret"):
        write_backup(config, out, key_out=key_out)
    assert not out.exists()
    (config.data_path / KEY).write_text("cd" * 32)
    manifest = write_backup(config, out, key_out=key_out)
    assert key_out.read_text() == "cd" * 32
    assert stat.S_IMODE(key_out.stat().st_mode) == 0o600
    assert "minutes/m1/minutes.md" in manifest["files"] and KEY not in manifest["files"]
    assert KEY in manifest["not_included"]
    with pytest.raises(FileExistsError):
        write_backup(config, out)
    bare = write_backup(config, tmp_path / "bare.tar.gz", minutes=False)
    assert not any(name.startswith("minutes/") for name in bare["files"])


def test_the_command_says_what_went_wrong(tmp_path: Path) -> None:
    import subprocess

    config = make_config(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for secret in ("MEETBOT_PASSWORD", "MEETBOT_ACCESS_TOKEN"):
        env.pop(secret, None)
    raw = yaml.safe_load(config.source.read_text())  # type: ignore[union-attr]
    del raw["password"]  # kept in the service's environment: a backup does not need it
    config.source.write_text(yaml.safe_dump(raw))  # type: ignore[union-attr]
    no_db = subprocess.run(
        _cli("backup", "-c", str(config.source), "--out", str(tmp_path / "x.tar.gz")),
        env=env, capture_output=True, text=True, check=False,
    )
    assert no_db.returncode == 1 and "no database" in no_db.stderr
    assert not (tmp_path / "x.tar.gz").exists()
    assert not config.database_path.exists(), "a backup never creates a database"
    with pytest.raises(BackupError, match="cannot open"):
        backup_database(tmp_path / "missing.sqlite3", tmp_path / "copy.sqlite3")

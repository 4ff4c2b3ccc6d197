"""``check-config --online`` without a homeserver: what a room's state lets the bot do
(pure), and how the command reports rooms and exits. The real thing:
tests/integration/test_check_config_online.py."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from meetbot.cli.main import main
from meetbot.matrix import preflight as preflight_module
from meetbot.matrix.preflight import (
    ConfiguredRoom,
    Report,
    RoomReport,
    Status,
    assess,
)

BOT = "@bot:example.org"
ROOM = "!r:example.org"


def create(sender: str = "@alice:example.org", version: str = "10", **content: Any) -> dict:
    return {"type": "m.room.create", "state_key": "", "sender": sender,
            "content": {"room_version": version, **content}}


def levels(**content: Any) -> dict:
    return {"type": "m.room.power_levels", "state_key": "", "sender": "@alice:example.org",
            "content": content}


ENCRYPTION = {"type": "m.room.encryption", "state_key": "",
              "content": {"algorithm": "m.megolm.v1.aes-sha2"}}


def test_a_room_without_power_levels_lets_everyone_post() -> None:
    judged = assess(BOT, ROOM, [create()], encryption=True)
    assert judged.status is Status.OK
    assert judged.text == f"OK — {ROOM}: joined, power level 0 (posting needs 0, removing its " \
        "notices 0)"


def test_a_level_below_events_default_is_named_with_the_fix() -> None:
    state = [create(), levels(users={"@alice:example.org": 100}, events_default=50)]
    judged = assess(BOT, ROOM, state, encryption=True)
    assert judged.status is Status.FIX
    assert judged.text.startswith(f"the bot's power level in {ROOM} is 0; posting "
                                  "(m.room.message) needs 50")
    assert judged.text.endswith(f"— give {BOT} power level 50 there (room settings, roles "
                                "and permissions)")


def test_removing_its_own_notices_takes_the_redaction_events_level() -> None:
    state = [create(), levels(users={BOT: 10}, events={"m.room.redaction": 50}, redact=0)]
    judged = assess(BOT, ROOM, state, encryption=True)
    assert judged.status is Status.FIX
    assert "removing its own translation notices when their message is deleted " \
        "(m.room.redaction) needs 50" in judged.text
    assert "posting" not in judged.text.split(";")[1]
    # Where it posts no translations it removes nothing.
    assert assess(BOT, ROOM, state, encryption=True, redacts=False).status is Status.OK


def test_the_redact_level_for_other_peoples_events_is_not_needed() -> None:
    state = [create(), levels(users={BOT: 0}, redact=50)]
    assert assess(BOT, ROOM, state, encryption=True).status is Status.OK


def test_users_default_and_levels_written_as_strings_count() -> None:
    state = [create(), levels(users_default="50", events_default="50")]
    judged = assess(BOT, ROOM, state, encryption=True)
    assert judged.status is Status.OK and "power level 50" in judged.text


def test_an_encrypted_room_needs_encryption_on_and_the_encrypted_events_level() -> None:
    state = [create(), ENCRYPTION, levels(events={"m.room.encrypted": 20})]
    off = assess(BOT, ROOM, state, encryption=False)
    assert off.status is Status.FIX
    assert off.text.startswith(f"{ROOM} is encrypted but the config says `encryption: false`")
    on = assess(BOT, ROOM, state, encryption=True)
    assert on.status is Status.FIX and "posting (m.room.encrypted) needs 20" in on.text
    without_olm = assess(BOT, ROOM, state, encryption=True, can_encrypt=False)
    assert "pip install 'matrix-nio[e2e]'" in without_olm.text


def test_a_creator_of_a_version_12_room_has_unlimited_power() -> None:
    state = [create(sender=BOT, version="12"), levels(users={}, events_default=100)]
    judged = assess(BOT, "!abc", state, encryption=True)
    assert judged.status is Status.OK and "unlimited power" in judged.text
    additional = [create(version="12", additional_creators=[BOT]),
                  levels(users={}, events_default=100)]
    assert assess(BOT, "!abc", additional, encryption=True).status is Status.OK
    # Before version 12 the creator is one user among others in the power levels.
    older = [create(sender=BOT, version="11"), levels(users={BOT: 0}, events_default=100)]
    assert assess(BOT, ROOM, older, encryption=True).status is Status.FIX


# -- the command ---------------------------------------------------------------------------


def _write_config(tmp_path: Path, homeserver: str = "http://127.0.0.1:9") -> Path:
    path = tmp_path / "meetbot.yaml"
    path.write_text(yaml.safe_dump({
        "homeserver": homeserver, "user_id": BOT, "password": "p",
        "data_dir": str(tmp_path / "data"), "translation": {"backend": "none"},
        "regions": [{"id": "latam", "name": "LA", "room": "#latam:example.org"}],
        "coordinator": {"room": "!coord:example.org"},
    }))
    return path


def _fake(monkeypatch: pytest.MonkeyPatch, report: Report) -> None:
    async def fake(_config: Any) -> Report:
        return report

    monkeypatch.setattr(preflight_module, "preflight", fake)


LATAM = ConfiguredRoom("region latam", "#latam:example.org", "regions[0].room", False)
COORD = ConfiguredRoom("coordinator room", "!coord:example.org", "coordinator.room", False)


def test_every_room_gets_a_line_and_anything_to_fix_fails(tmp_path, capsys, monkeypatch):
    _fake(monkeypatch, Report(session="logged in", rooms=[
        RoomReport(LATAM, Status.FIX, "#latam:example.org does not exist — create it or fix "
                   "`regions[0].room`"),
        RoomReport(COORD, Status.OK, "OK — !coord:example.org: joined"),
    ]))
    assert main(["check-config", "--config", str(_write_config(tmp_path)), "--online"]) == 1
    out = capsys.readouterr().out
    assert "region latam: #latam:example.org does not exist — create it or fix " \
        "`regions[0].room`\n" in out
    assert "coordinator room: OK — !coord:example.org: joined\n" in out
    assert out.rstrip().endswith("online: 1 of 2 rooms need fixing")


def test_an_invited_room_is_said_and_does_not_fail(tmp_path, capsys, monkeypatch) -> None:
    _fake(monkeypatch, Report(session="logged in", rooms=[
        RoomReport(LATAM, Status.NOTE, "the bot is invited to #latam:example.org (!l) ..."),
        RoomReport(COORD, Status.OK, "OK — !coord:example.org: joined"),
    ]))
    assert main(["check-config", "--config", str(_write_config(tmp_path)), "--online"]) == 0
    assert "online: OK, 1 of 2 rooms ready; 1 to check again once the bot has joined" in \
        capsys.readouterr().out


def test_without_online_nothing_is_asked_of_the_homeserver(tmp_path, capsys) -> None:
    # The config names a homeserver nobody runs: offline checks pass regardless.
    assert main(["check-config", "--config", str(_write_config(tmp_path))]) == 0
    assert "online:" not in capsys.readouterr().out


def test_a_homeserver_nobody_runs_is_named(tmp_path, capsys) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    assert main(["check-config", "--config", str(_write_config(tmp_path, url)),
                 "--online"]) == 1
    out = capsys.readouterr().out
    assert f"online: homeserver {url}: connection refused" in out
    assert out.rstrip().endswith("— check `homeserver`")


# -- the rooms, against a stand-in for the homeserver ----------------------------------------


class FakeClient:
    """What ``_check_rooms`` asks of nio, answered from tables."""

    def __init__(self, aliases: dict[str, Any], joined: list[str]) -> None:
        self.aliases = aliases
        self.joined = joined

    async def room_resolve_alias(self, alias: str) -> Any:
        from nio import RoomResolveAliasError, RoomResolveAliasResponse

        answer = self.aliases[alias]
        if isinstance(answer, str):
            return RoomResolveAliasResponse(alias, answer, ["example.org"])
        return RoomResolveAliasError(answer[1], answer[0])

    async def joined_rooms(self) -> Any:
        from nio import JoinedRoomsResponse

        return JoinedRoomsResponse(self.joined)

    async def room_get_state(self, room_id: str) -> Any:
        from nio import RoomGetStateResponse

        return RoomGetStateResponse([create()], room_id)

    async def sync(self, **_kwargs: Any) -> Any:
        raise AssertionError("every room is joined: no sync needed")


async def test_two_regions_reaching_one_room_and_an_alias_that_fails(tmp_path) -> None:
    from meetbot.config.schema import load_config
    from meetbot.matrix.preflight import _check_rooms

    path = tmp_path / "meetbot.yaml"
    path.write_text(yaml.safe_dump({
        "homeserver": "http://127.0.0.1:9", "user_id": BOT, "password": "p",
        "translation": {"backend": "none"},
        "regions": [{"id": "a", "name": "A", "room": "#a:example.org"},
                    {"id": "b", "name": "B", "room": "!same:example.org"},
                    {"id": "c", "name": "C", "room": "#c:example.org"}],
        "coordinator": {"room": "#a:example.org"},
    }))
    client = FakeClient(
        {"#a:example.org": "!same:example.org",
         "#c:example.org": ("M_UNKNOWN", "the room's server does not answer")},
        joined=["!same:example.org"],
    )
    reports = await _check_rooms(client, load_config(path, env={}))  # type: ignore[arg-type]
    texts = {r.room.label: (r.status, r.text) for r in reports}
    assert texts["region a"][0] is Status.OK
    assert texts["region b"] == (Status.FIX, "!same:example.org is also the room of region a "
                                 "— give each region its own room (`regions[1].room`)")
    assert texts["region c"][0] is Status.FIX
    assert texts["region c"][1].startswith("#c:example.org cannot be resolved (")
    assert texts["region c"][1].endswith("— check `regions[2].room`")
    # The coordinator room is checked on its own (the config does not forbid sharing).
    assert texts["coordinator room"][0] is Status.OK

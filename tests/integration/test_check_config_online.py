"""``meetbot check-config --online`` as a process against a real Synapse: rooms that are ready
pass; a missing alias, a room the bot is not in, one where it lacks power, one it was banned
from are each named with their fix, and the exit code says so. The bot's session is kept, so
checking again makes no new device."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from matrix_helpers import MakeParticipant, Participant
from nio import DevicesResponse, RoomBanResponse, RoomCreateResponse, RoomKickResponse

from meetbot.demo.homeserver import Homeserver

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


async def check_online(config: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "meetbot", "check-config", "--config", str(config), "--online",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode()


def write_config(
    path: Path, hs: Homeserver, bot: Participant, regions: list[tuple[str, str]],
    coordinator: str,
) -> Path:
    path.write_text(yaml.safe_dump({
        "homeserver": hs.url,
        "user_id": bot.user_id,
        "password": bot.user.password,
        "data_dir": str(path.parent / "data"),
        # A back-end that posts translations (so the bot must be able to remove its notices);
        # the offline checks do not ask the server for its pairs.
        "translation": {"backend": "libretranslate"},
        "regions": [{"id": rid, "name": rid, "room": room, "languages": ["es", "en"]}
                    for rid, room in regions],
        "coordinator": {"room": coordinator},
    }))
    return path


async def create_room(
    owner: Participant, *, alias: str | None = None, invite: list[str] | None = None,
    power: dict[str, Any] | None = None,
) -> str:
    response = await owner.client.room_create(
        alias=alias, invite=invite or [], power_level_override=power
    )
    assert isinstance(response, RoomCreateResponse), response
    await owner.wait_for_room(response.room_id)
    return response.room_id


def _tag() -> str:
    return uuid.uuid4().hex[:8]


async def test_rooms_that_are_ready_pass_and_the_session_is_kept(
    homeserver: Homeserver, make_participant: MakeParticipant, tmp_path: Path
) -> None:
    maya = await make_participant("maya")
    bot = await make_participant("meetbot")
    tag = _tag()
    region = await create_room(maya, alias=f"latam-{tag}", invite=[bot.user_id])
    coordination = await create_room(maya, invite=[bot.user_id])
    for room in (region, coordination):
        await bot.join(room)
    alias = f"#latam-{tag}:{homeserver.server_name}"
    config = write_config(tmp_path / "meetbot.yaml", homeserver, bot, [("latam", alias)],
                          coordination)

    code, out = await check_online(config)
    assert code == 0, out
    assert f"region latam: OK — {alias} ({region}): joined, power level 0 (posting needs 0, " \
        "removing its notices 0)" in out
    assert f"coordinator room: OK — {coordination}: joined, power level 0 (posting needs " \
        "0)" in out
    assert "online: OK, 2 of 2 rooms ready" in out
    first_device = re.search(r"device (\S+),", out)
    assert first_device is not None, out

    code, again = await check_online(config)
    assert code == 0, again
    assert f"device {first_device.group(1)}," in again, "the saved session is reused"
    devices = await bot.client.devices()
    assert isinstance(devices, DevicesResponse)
    # The participant's own login, and the one session check-config made and kept.
    assert sorted(d.id for d in devices.devices) == sorted([bot.device_id,
                                                           first_device.group(1)])


async def test_each_room_that_needs_fixing_is_named_with_the_fix(
    homeserver: Homeserver, make_participant: MakeParticipant, tmp_path: Path
) -> None:
    maya = await make_participant("maya")
    bot = await make_participant("meetbot")
    server = homeserver.server_name
    tag = _tag()
    missing = f"#nowhere-{tag}:{server}"
    outside = await create_room(maya)
    weak = await create_room(maya, invite=[bot.user_id], power={"events_default": 50})
    no_redaction = await create_room(maya, invite=[bot.user_id],
                                     power={"events": {"m.room.redaction": 50}})
    invited = await create_room(maya, invite=[bot.user_id])
    kicked = await create_room(maya, invite=[bot.user_id])
    banned = await create_room(maya, invite=[bot.user_id])
    for room in (weak, no_redaction, kicked, banned):
        await bot.join(room)
    kick = await maya.client.room_kick(kicked, bot.user_id, reason="testing")
    assert isinstance(kick, RoomKickResponse), kick
    ban = await maya.client.room_ban(banned, bot.user_id, reason="testing")
    assert isinstance(ban, RoomBanResponse), ban
    config = write_config(
        tmp_path / "meetbot.yaml", homeserver, bot,
        [("latam", missing), ("west-africa", outside), ("asia", weak),
         ("europe", no_redaction), ("oceania", invited), ("arctic", kicked)],
        banned,
    )

    code, out = await check_online(config)
    assert code == 1, out
    # The online part: after the offline checks (which also name each region).
    lines = out.split("\nonline: logged in", 1)[1].splitlines()

    def line(label: str) -> str:
        found = [text for text in lines if text.startswith(f"{label}: ")]
        assert len(found) == 1, out
        return found[0]

    assert line("region latam") == (
        f"region latam: {missing} does not exist — create it or fix `regions[0].room`"
    )
    assert line("region west-africa") == (
        f"region west-africa: the bot is not in {outside} — invite {bot.user_id}"
    )
    assert line("region asia") == (
        f"region asia: the bot's power level in {weak} is 0; posting (m.room.message) needs "
        f"50 and removing its own translation notices when their message is deleted "
        f"(m.room.redaction) needs 50 — give {bot.user_id} power level 50 there (room "
        "settings, roles and permissions)"
    )
    assert line("region europe") == (
        f"region europe: the bot's power level in {no_redaction} is 0; removing its own "
        "translation notices when their message is deleted (m.room.redaction) needs 50 — "
        f"give {bot.user_id} power level 50 there (room settings, roles and permissions)"
    )
    assert line("region oceania").startswith(
        f"region oceania: the bot is invited to {invited} but has not joined yet: "
        "`meetbot run` accepts the invite"
    )
    assert line("region arctic") == (
        f"region arctic: the bot was removed from {kicked} by {maya.user_id} — invite "
        f"{bot.user_id} again"
    )
    assert line("coordinator room") == (
        f"coordinator room: the bot was banned from {banned} by {maya.user_id} — unban "
        f"{bot.user_id} there, then invite it"
    )
    assert "online: 6 of 7 rooms need fixing" in out


async def test_a_wrong_password_is_named_before_any_room(
    homeserver: Homeserver, make_participant: MakeParticipant, tmp_path: Path
) -> None:
    bot = await make_participant("meetbot")
    path = write_config(tmp_path / "meetbot.yaml", homeserver, bot, [], "!x:localhost")
    data = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({**data, "password": "not-the-password"}))
    code, out = await check_online(path)
    assert code == 1, out
    assert f"online: cannot log in to {homeserver.url} as {bot.user_id}: login as " \
        f"{bot.user_id} refused: wrong user id or password" in out
    assert "check `user_id` and `password`" in out

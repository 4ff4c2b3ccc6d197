"""Rooms as communities make them: a coordinator's own room, an organiser's region room,
a configured room nobody invited the bot to, and people who write to the bot in private."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from nio import RoomCreateResponse

pytestmark = pytest.mark.integration


async def _direct_chat(person, bot_id: str) -> str:
    """A direct chat as Element makes one: is_direct, the bot invited."""
    response = await person.client.room_create(is_direct=True, invite=[bot_id])
    assert isinstance(response, RoomCreateResponse), response
    await person.wait_for_room(response.room_id)
    return response.room_id


async def test_the_coordinator_makes_their_own_room_and_hears_from_the_bot(
    make_participant, make_bot
) -> None:
    organiser = await make_participant("olga", display_name="Olga")  # not a facilitator
    maya = await make_participant("maya", display_name="Maya")  # the facilitator
    coordinator = await make_participant("cora", display_name="Cora")
    bot = make_bot()
    region_room = await organiser.create_room("Andes", invite=[maya.user_id])
    await maya.join(region_room)
    alias = f"coord{uuid.uuid4().hex[:8]}"
    coord_room = await coordinator.create_room("Coordination", alias=alias)
    server = bot.user_id.split(":", 1)[1]
    bot.configure(
        facilitators=[maya.user_id],
        regions=[{"id": "andes", "name": "Andes", "room": region_room}],
        coordinator={"room": f"#{alias}:{server}", "users": [coordinator.user_id]},
    )
    await bot.start()
    # Both rooms' creators invite the bot after it has started (as people do).
    await organiser.invite(region_room, bot.user_id)
    await coordinator.invite(coord_room, bot.user_id)
    await maya.wait_for_member(region_room, bot.user_id, timeout=30)
    await coordinator.wait_for_member(coord_room, bot.user_id, timeout=30)

    start = await maya.send(region_room, "!startmeeting First")
    await maya.wait_for_notice(region_room, "Meeting started", after=start)
    await maya.send(region_room, "!agreed meet again next week")
    end = await maya.send(region_room, "!endmeeting")
    await maya.wait_for_notice(region_room, "Meeting ended", after=end)
    summary = await coordinator.wait_for_notice(coord_room, "meet again next week", timeout=60)
    assert summary.sender == bot.user_id


async def test_a_configured_room_the_bot_cannot_join_is_reported(
    make_participant, make_bot
) -> None:
    coordinator = await make_participant("cora")
    stranger = await make_participant("sam")
    bot = make_bot()
    coord_room = await coordinator.create_room("Coordination", invite=[bot.user_id])
    locked = await stranger.create_room("Locked region")  # the bot is never invited
    bot.configure(
        regions=[{"id": "sahel", "name": "Sahel", "room": locked}],
        coordinator={"room": coord_room, "users": [coordinator.user_id]},
    )
    await bot.start()
    told = await coordinator.wait_for_notice(coord_room, "I cannot reach Sahel", timeout=30)
    assert locked in told.body
    probe = await coordinator.send(coord_room, "!status")
    answer = await coordinator.wait_for_notice(coord_room, "I cannot reach", after=probe)
    assert "Sahel" in answer.body
    assert bot.app.unreachable_rooms.keys() == {locked}

    # Someone in the room invites the bot at last: it joins, and the room works.
    await stranger.invite(locked, bot.user_id)
    await stranger.wait_for_member(locked, bot.user_id, timeout=30)
    probe = await stranger.send(locked, "!status")
    await stranger.wait_for_notice(locked, "No meeting is running here", after=probe)
    assert not bot.app.unreachable_rooms


async def test_a_participant_writes_to_the_bot_in_private(make_participant, make_bot) -> None:
    maya = await make_participant("maya", display_name="Maya")
    ana = await make_participant("ana", display_name="Ana")
    stranger = await make_participant("zed")
    bot = make_bot()
    room = await maya.create_room("Pampa", invite=[ana.user_id, bot.user_id])
    await ana.join(room)
    bot.configure(
        facilitators=[maya.user_id],
        regions=[{"id": "pampa", "name": "Pampa", "room": room, "languages": ["es", "en"]}],
    )
    await bot.start()
    await maya.wait_for_member(room, bot.user_id)
    start = await maya.send(room, "!startmeeting Semillas")
    await maya.wait_for_notice(room, "Semillas", after=start)

    dm = await _direct_chat(ana, bot.user_id)
    await ana.wait_for_member(dm, bot.user_id, timeout=30)
    lang = await ana.send(dm, "!lang en")
    await ana.wait_for_notice(dm, "", after=lang)
    status = await ana.send(dm, "!status")
    glance = await ana.wait_for_notice(dm, "Pampa: Semillas", after=status)
    assert glance.sender == bot.user_id
    helped = await ana.send(dm, "!help")
    listing = await ana.wait_for_notice(dm, "In a direct chat", after=helped)
    assert "!optout" in listing.body and "!startmeeting" not in listing.body
    refused = await ana.send(dm, "!idea a private idea")
    await ana.wait_for_notice(dm, "In a direct chat I answer only", after=refused)

    said = await ana.send(room, "this one is recorded")
    optout = await ana.send(dm, "!optout")
    await ana.wait_for_notice(dm, "not kept", after=optout)
    hidden = await ana.send(room, "this one is not kept")
    probe = await maya.send(room, "!status")
    await maya.wait_for_notice(room, "Semillas", after=probe)
    meeting = bot.app.meeting_in(room)
    bodies = {entry.event_id: entry.body for entry in meeting.log}
    assert bodies.get(said) == "this one is recorded"
    assert bodies.get(hidden, "") == "", "after opting out in private, nothing of Ana is kept"
    assert "a private idea" not in str([i.text for i in meeting.items])

    # Someone who shares no room with the bot cannot open a chat with it.
    response = await stranger.client.room_create(is_direct=True, invite=[bot.user_id])
    assert isinstance(response, RoomCreateResponse)
    stranger_room = await stranger.wait_for_room(response.room_id)
    for _ in range(100):
        if bot.user_id not in stranger_room.invited_users:
            break
        await asyncio.sleep(0.1)
    assert bot.user_id not in stranger_room.invited_users, "the invite was declined"
    assert response.room_id not in bot.service.bot.client.rooms

"""Prove the test harness itself: embedded Synapse, registration, nio participants."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from matrix_helpers import EventPredicate, MakeParticipant, MatrixRequestError
from nio import Event, ReactionEvent, RedactionEvent, RoomMemberEvent, RoomMessageText

from meetbot.demo.homeserver import Homeserver, HomeserverError

pytestmark = pytest.mark.integration


def _text(body: str, sender: str | None = None) -> EventPredicate:
    """Predicate: an m.text message with exactly ``body`` (from ``sender``)."""

    def matches(event: Event) -> bool:
        return (
            isinstance(event, RoomMessageText)
            and event.body == body
            and (sender is None or event.sender == sender)
        )

    return matches


def _whoami(hs: Homeserver, token: str) -> str:
    req = urllib.request.Request(
        f"{hs.url}/_matrix/client/v3/account/whoami",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return str(json.loads(resp.read())["user_id"])


async def test_plain_room_message_round_trip(make_participant: MakeParticipant) -> None:
    alice = await make_participant("alice")
    bob = await make_participant("bob")
    room = await alice.create_room(name="plain", invite=[bob.user_id])
    await bob.wait_for_invite(room)
    await bob.join(room)

    sent = await alice.send(room, "hello bob")
    got = await bob.wait_for(room, _text("hello bob", alice.user_id))
    assert got.event_id == sent

    reply = await bob.send(room, "hi alice", reply_to=sent)
    echoed = await alice.wait_for(room, _text("hi alice", bob.user_id))
    assert echoed.event_id == reply


async def test_encrypted_room_is_decrypted(make_participant: MakeParticipant) -> None:
    alice = await make_participant("alice", encryption=True)
    bob = await make_participant("bob", encryption=True)
    room = await alice.create_room(invite=[bob.user_id], encrypted=True)
    await bob.join(room)
    # nio shares the megolm session with the members it knows when sending.
    await alice.wait_for_member(room, bob.user_id)

    await alice.send(room, "secret agenda")
    got = await bob.wait_for(room, _text("secret agenda", alice.user_id))
    assert got.decrypted, "bob should have received an encrypted event"

    await bob.send(room, "secret reply")
    back = await alice.wait_for(room, _text("secret reply", bob.user_id))
    assert back.decrypted


async def test_registering_existing_user_logs_in(homeserver: Homeserver) -> None:
    first = homeserver.register("existing_user", "pw-1")
    again = homeserver.register("existing_user", "pw-1")
    assert again.user_id == first.user_id == homeserver.user_id("existing_user")
    assert again.access_token != first.access_token
    assert _whoami(homeserver, again.access_token) == first.user_id
    with pytest.raises(HomeserverError, match="403"):
        homeserver.register("existing_user", "wrong password")


async def test_rate_limited_server_answers_429(
    make_participant: MakeParticipant, homeserver_ratelimited: Homeserver
) -> None:
    # max_limit_exceeded=0: nio would otherwise sleep retry_after_ms and retry silently.
    alice = await make_participant("alice", homeserver=homeserver_ratelimited, max_limit_exceeded=0)
    room = await alice.create_room()
    with pytest.raises(MatrixRequestError) as excinfo:
        # Synapse's default rc_message burst is 10; 30 is a bounded margin.
        for i in range(30):
            await alice.send(room, f"burst {i}")
    assert excinfo.value.errcode == "M_LIMIT_EXCEEDED"
    assert excinfo.value.retry_after_ms


async def test_unlimited_server_takes_the_same_burst(make_participant: MakeParticipant) -> None:
    alice = await make_participant("alice", max_limit_exceeded=0)
    room = await alice.create_room()
    for i in range(30):
        await alice.send(room, f"burst {i}")


def test_restart_keeps_users_and_url(tmp_path: Path) -> None:
    with Homeserver(tmp_path / "hs") as hs:
        url = hs.url
        user = hs.register("carol", "pw")
    assert not hs.running
    with Homeserver(tmp_path / "hs") as hs2:
        assert hs2.url == url
        assert _whoami(hs2, user.access_token) == user.user_id
        again = hs2.register("carol", "pw", device_id=user.device_id)
        assert again.device_id == user.device_id


async def test_participant_actions_reach_the_other_side(
    make_participant: MakeParticipant,
) -> None:
    alice = await make_participant("alice", display_name="Alice")
    bob = await make_participant("bob")
    room = await alice.create_room(invite=[bob.user_id], power_level_users={bob.user_id: 50})
    await bob.join(room)

    first = await alice.send(room, "Meeting started", msgtype="m.notice")
    second = await alice.send(room, "Meeting started again", msgtype="m.notice")
    notice = await bob.wait_for_notice(room, "Meeting started", sender=alice.user_id, after=first)
    assert notice.event_id == second
    assert [n.event_id for n in bob.notices(room, alice.user_id)] == [first, second]

    msg = await alice.send(room, "tpyo", mentions=[bob.user_id], formatted_body="<b>tpyo</b>")
    edit = await alice.edit(room, msg, "typo")
    edited = await bob.wait_for(room, lambda e: getattr(e, "event_id", None) == edit)
    assert edited.source["content"]["m.new_content"]["body"] == "typo"

    reaction = await bob.react(room, msg, "👍")
    got = await alice.wait_for(room, lambda e: isinstance(e, ReactionEvent))
    assert (got.event_id, got.key, got.reacts_to) == (reaction, "👍", msg)

    redaction = await alice.redact(room, msg)
    seen = await bob.wait_for(room, lambda e: isinstance(e, RedactionEvent))
    assert (seen.event_id, seen.redacts) == (redaction, msg)

    await bob.leave(room)
    left = await alice.wait_for(
        room,
        lambda e: (
            isinstance(e, RoomMemberEvent)
            and e.state_key == bob.user_id
            and e.membership == "leave"
        ),
    )
    assert left.sender == bob.user_id

"""Consent rounds: proposals, reactions and votes, reasons, deadlines and outcomes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from facilitation_room import ANA, BEA, BOT, CARLOS, DINA, Room

from meetbot.core.facilitation.proposals import anchor_timer, outcome, position_of_reaction
from meetbot.core.model import ItemKind
from meetbot.minutes.document import MinutesContext, build_minutes_data


def proposed(text: str = "!propose We meet every two weeks") -> tuple[Room, str]:
    room = Room.create()
    room.say(ANA, "!startmeeting")
    for person in (BEA, CARLOS, DINA):
        room.say(person, "!here")
    room.say(ANA, text)
    proposal = room.meeting.proposals[-1]
    room.tick(anchor_timer(proposal.token, "$posted"))  # the shell: the notice was sent
    return room, "$posted"


def test_a_consent_round_with_reactions_a_changed_vote_and_a_redaction() -> None:
    room, posted = proposed()
    assert "Proposal #1" in room.said()[-1] and "We meet every two weeks" in room.said()[-1]
    room.react(BEA, posted, "✅")
    room.react(CARLOS, posted, "❌")
    assert "Carlos, please give the reason" in room.last()
    room.say(CARLOS, "!vote object Two weeks is too often for farmers")
    changed = room.react(DINA, posted, "🛑")
    room.react(DINA, posted, "🤷")  # Dina changes her mind...
    room.redact(DINA, changed)  # ...and takes back the block
    room.say(ANA, "!close")
    result = room.last()
    assert "Proposal #1 rejected" in result
    assert "✅ 1 · 🤷 1 · ❌ 1 · 🛑 0" in result
    assert "Carlos: Two weeks is too often for farmers" in result
    decision = room.meeting.items[-1]
    assert decision.kind is ItemKind.DECISION and "rejected" in decision.text


def test_results_stay_hidden_until_close_and_status_shows_only_a_count() -> None:
    room, posted = proposed()
    room.react(BEA, posted, "✅")
    room.say(CARLOS, "!status")
    assert "1 response so far" in room.last()
    assert "✅ 1" not in room.last()


def test_reactions_before_the_anchor_wait_for_it() -> None:
    room = Room.create()
    room.say(ANA, "!startmeeting")
    room.say(ANA, "!propose Use the shared notebook")
    room.react(BEA, "$early", "✅")
    room.react(CARLOS, "$elsewhere", "✅")  # on another message: never a vote
    room.tick(anchor_timer(room.meeting.proposals[0].token, "$early"))
    assert room.meeting.proposals[0].tally()["agree"] == 1


def test_an_objection_by_command_needs_a_reason() -> None:
    room, _posted = proposed()
    room.say(BEA, "!vote object")
    assert "needs a reason" in room.last()
    assert room.meeting.proposals[0].votes() == {}


def test_a_deadline_reminds_those_who_have_not_responded_then_closes() -> None:
    room, posted = proposed("!propose --consensus --closes 10m Hire a translator")
    room.react(BEA, posted, "✅")
    room.wait(timedelta(minutes=8))
    (reminder,) = [line for line in room.said() if "Not yet responded" in line]
    assert "Carlos" in reminder and "Dina" in reminder and "Bea" not in reminder
    room.react(CARLOS, posted, "❌")  # consensus: an objection does not stop it
    room.wait(timedelta(minutes=2))
    assert room.saw("Proposal #1 adopted")
    assert room.meeting.proposals[0].result == "adopted"


def test_one_vote_per_person_the_latest_counts() -> None:
    room, posted = proposed()
    room.react(BEA, posted, "✅")
    room.say(BEA, "!vote abstain")
    room.say(BEA, "!vote agree")
    assert room.meeting.proposals[0].tally() == {"agree": 1, "abstain": 0, "object": 0,
                                                 "block": 0}


def test_ending_the_meeting_closes_open_proposals_and_the_minutes_keep_the_outcome() -> None:
    room, posted = proposed("!propose --majority Meet on Saturdays")
    room.react(BEA, posted, "✅")
    room.react(CARLOS, posted, "✅")
    room.say(DINA, "!vote block We work on Saturdays")
    meeting = room.meeting
    room.say(ANA, "!endmeeting")
    assert room.saw("Proposal #1 adopted")
    data = build_minutes_data(MinutesContext(meeting, "Latin America"))
    (record,) = data["consent_rounds"]
    assert record["result"] == "adopted" and record["kind"] == "majority"
    assert record["tally"]["block"] == 1
    assert {v["reason"] for v in record["votes"]} == {None, "We work on Saturdays"}
    assert record["decision_item"] in data["decisions"]


def test_the_bot_cannot_vote_and_a_replay_counts_the_same() -> None:
    room, posted = proposed()
    room.react(BOT, posted, "✅")
    room.react(BEA, posted, "✅")
    room.react(CARLOS, posted, "❌")
    replayed = room.replayed().meeting
    assert replayed is not None
    assert replayed.proposals[0].tally() == room.meeting.proposals[0].tally()
    assert room.meeting.proposals[0].tally()["agree"] == 1


@pytest.mark.parametrize(
    ("kind", "tally", "result"),
    [
        ("consent", {"agree": 2, "abstain": 1, "object": 0, "block": 0}, "adopted"),
        ("consent", {"agree": 5, "abstain": 0, "object": 1, "block": 0}, "rejected"),
        ("consent", {"agree": 5, "abstain": 0, "object": 0, "block": 1}, "blocked"),
        ("consensus", {"agree": 2, "abstain": 0, "object": 3, "block": 0}, "adopted"),
        ("consensus", {"agree": 2, "abstain": 0, "object": 0, "block": 1}, "blocked"),
        ("majority", {"agree": 3, "abstain": 4, "object": 1, "block": 1}, "adopted"),
        ("majority", {"agree": 2, "abstain": 0, "object": 1, "block": 1}, "rejected"),
        ("consent", {"agree": 0, "abstain": 3, "object": 0, "block": 0}, "rejected"),
    ],
)
def test_outcomes(kind: str, tally: dict[str, int], result: str) -> None:
    assert outcome(kind, tally) == result


def test_reaction_keys_with_variation_selectors_and_skin_tones() -> None:
    assert position_of_reaction("✅") == "agree"
    assert position_of_reaction("🤷‍♀️") == "abstain"
    assert position_of_reaction("🛑") == "block"
    assert position_of_reaction("❌") == "object"
    assert position_of_reaction("👍🏽") == "agree"
    assert position_of_reaction("🎉") is None

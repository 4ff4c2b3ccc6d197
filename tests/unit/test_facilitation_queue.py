"""Turn-taking: hands, the queue, calling, skipping, bumping and rounds."""

from __future__ import annotations

from datetime import timedelta

from facilitation_room import ANA, BEA, CARLOS, DINA, Room


def started() -> Room:
    room = Room.create()
    room.say(ANA, "!startmeeting")
    return room


def test_hands_queue_in_order_and_the_facilitator_calls_the_next() -> None:
    room = started()
    room.say(BEA, "!hand")
    assert "number 1" in room.last()
    room.say(CARLOS, "!hand")
    assert "number 2" in room.last()
    room.say(DINA, "!queue")
    assert "1. Bea" in room.last() and "2. Carlos" in room.last()
    room.say(ANA, "!call")
    assert "Bea, you have the floor" in room.last()
    assert room.meeting.queue is not None and room.meeting.queue.waiting() == [CARLOS]


def test_a_hand_lowers_when_its_owner_speaks_or_lowers_it() -> None:
    room = started()
    room.say(BEA, "!hand")
    room.say(CARLOS, "!hand")
    room.say(BEA, "I think we should share notes.")
    room.say(CARLOS, "!lower")
    assert room.meeting.queue is not None and room.meeting.queue.waiting() == []


def test_skip_bump_and_call_by_name() -> None:
    room = started()
    for person in (BEA, CARLOS, DINA):
        room.say(person, "!hand")
    room.say(ANA, f"!bump {DINA}")
    assert room.meeting.queue is not None and room.meeting.queue.waiting() == [DINA, BEA, CARLOS]
    room.say(ANA, "!skip")
    assert room.meeting.queue.waiting() == [BEA, CARLOS]
    room.say(ANA, f"!call {CARLOS}")
    assert room.meeting.queue.speaker == CARLOS
    assert room.meeting.queue.waiting() == [BEA]


def test_a_round_calls_those_who_have_not_spoken_first_with_a_timebox_each() -> None:
    room = started()
    room.say(BEA, "I spoke already.")
    room.say(CARLOS, "!here")
    room.say(DINA, "!here")
    room.say(ANA, "!round 2m")
    assert "A round: Ana, Carlos, Dina, Bea. 2m each." in room.said()[-2]
    assert "Ana, you have the floor (2m)" in room.last()
    room.say(ANA, "!done")
    assert "Carlos, you have the floor" in room.last()
    room.wait(timedelta(minutes=2))
    assert room.saw("Time is up, Carlos")
    assert "Dina, you have the floor" in room.last()
    room.leave(DINA)  # she leaves during her turn: the next one is called
    assert "Bea, you have the floor" in room.last()
    room.say(BEA, "!done")
    assert "The round is complete" in room.last()
    assert not room.timers or all(not k.startswith("round:") for k in room.timers)


def test_people_who_leave_drop_out_of_the_queue() -> None:
    room = started()
    room.say(BEA, "!hand")
    room.say(CARLOS, "!hand")
    room.leave(BEA)
    assert room.meeting.queue is not None and room.meeting.queue.waiting() == [CARLOS]


def test_the_queue_survives_a_replay() -> None:
    room = started()
    room.say(BEA, "!hand")
    room.say(CARLOS, "!here")
    room.say(ANA, "!round 1m")
    assert room.replayed().meeting.queue == room.meeting.queue  # type: ignore[union-attr]

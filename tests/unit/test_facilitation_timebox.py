"""Timeboxes: a warning at 80 %, a call at the end, then ask or move on (time is injected)."""

from __future__ import annotations

from datetime import timedelta

from facilitation_room import ANA, BEA, Room


def test_a_prompt_warns_at_80_percent_and_asks_the_facilitator_at_the_end() -> None:
    room = Room.create("ask")
    room.say(ANA, "!startmeeting")
    room.wait(timedelta(minutes=7))
    assert not room.saw("left for this part")
    room.wait(timedelta(minutes=1, seconds=1))  # 8 of 10 minutes
    assert "2m left for this part of the meeting" in room.last()
    room.wait(timedelta(minutes=2))
    assert room.saw("Time is up for this part of the meeting")
    assert "!next" in room.last() and "Ana" in room.last()
    assert room.meeting.current_prompt_id == "first"  # it asks, it does not move on


def test_an_agenda_that_advances_moves_on_by_itself_and_times_the_next_prompt() -> None:
    room = Room.create("advance")
    room.say(ANA, "!startmeeting")
    room.wait(timedelta(minutes=10))
    assert room.meeting.current_prompt_id == "second"
    room.wait(timedelta(minutes=5))
    assert room.meeting.current_prompt_id == "third"
    assert not room.timers, "the third prompt has no timebox"


def test_time_extend_pause_and_resume_move_the_end() -> None:
    room = Room.create("ask")
    room.say(ANA, "!startmeeting")
    room.say(ANA, "!time 2m")
    room.wait(timedelta(minutes=1))
    room.say(ANA, "!extend 1m")
    assert "2m left" in room.last()
    room.say(ANA, "!pause")
    room.wait(timedelta(hours=1))
    assert not room.saw("Time is up")
    status = room.say(BEA, "!status")
    assert status and "Timebox paused: 2m left of 3m" in room.last()
    room.say(ANA, "!resume")
    room.wait(timedelta(minutes=1, seconds=59))
    assert not room.saw("Time is up")
    room.wait(timedelta(seconds=2))
    assert room.saw("Time is up")


def test_status_shows_the_time_left() -> None:
    room = Room.create()
    room.say(ANA, "!startmeeting")
    room.wait(timedelta(minutes=3))
    room.say(BEA, "!status")
    assert "Time left: 7m of 10m" in room.last()


def test_next_prompt_gets_its_own_timebox_and_old_timers_are_cancelled() -> None:
    room = Room.create()
    room.say(ANA, "!startmeeting")
    first = set(room.timers)
    room.say(ANA, "!next")
    assert first.isdisjoint(room.timers)
    assert room.meeting.timebox is not None and room.meeting.timebox.total == timedelta(minutes=5)


def test_only_facilitators_set_the_time() -> None:
    room = Room.create()
    room.say(ANA, "!startmeeting")
    room.say(BEA, "!extend 5m")
    assert "Only a facilitator or chair can use !extend" in room.last()


def test_a_replay_rebuilds_the_same_timebox() -> None:
    room = Room.create()
    room.say(ANA, "!startmeeting")
    room.say(ANA, "!time 4m")
    room.wait(timedelta(minutes=1))
    room.say(ANA, "!pause")
    assert room.replayed().meeting.timebox == room.meeting.timebox  # type: ignore[union-attr]

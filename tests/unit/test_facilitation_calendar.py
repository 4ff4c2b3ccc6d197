"""The calendar: reminders, opening, closing and missed meetings, with the clock injected."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from facilitation_room import ANA, BEA, COORDINATION, START, Room

from meetbot.config.schema import RegionConfig, ScheduledMeeting
from meetbot.core.effects import MeetingStarted, Notice
from meetbot.core.records import Planned, SlotKey
from meetbot.runtime.calendar import opening, plan, slot_for

SLOT = SlotKey("latam", 1, "open", START, timedelta(minutes=90), "Regional meeting 1")


def key(what: str) -> str:
    return SlotKey(SLOT.region, SLOT.number, what, SLOT.starts, SLOT.duration, SLOT.title).encode()


def test_a_key_says_everything_and_reads_back() -> None:
    assert SlotKey.parse(SLOT.encode()) == SLOT
    assert SLOT.encode() == "calendar:latam:1:open:20270115T230000Z:5400:Regional%20meeting%201"


def test_config_times_are_local_to_the_region() -> None:
    region = RegionConfig(id="latam", name="LatAm", room="!r:x", timezone="America/Bogota",
                          meetings=[ScheduledMeeting(number=1, starts=datetime(2027, 1, 15, 18))])
    assert slot_for(region, region.meetings[0]).starts == START


def test_a_scheduled_meeting_reminds_opens_and_closes_by_itself() -> None:
    room = Room.create()
    room.now = START - timedelta(hours=1)
    room.tick(key("remind-3600"))
    assert "Reminder: **Regional meeting 1** starts on 2027-01-15 18:00 (America/Bogota), in 1h" \
        in room.last()
    room.now = START
    effects = room.tick(key("open"))
    assert any(isinstance(e, MeetingStarted) for e in effects)
    assert room.saw("Meeting started:** Regional meeting 1")
    assert room.saw("It ends by itself at 19:30")
    assert room.meeting.current_prompt_id == "first"
    room.wait(timedelta(minutes=86))
    assert room.saw("The meeting ends in 5m, at 19:30")
    meeting = room.meeting
    room.wait(timedelta(minutes=4))
    assert room.state.meeting is None and meeting.ended_by is not None
    assert room.saw("This is the scheduled end of the meeting")


def test_a_facilitator_can_extend_the_meeting_or_end_it_first() -> None:
    room = Room.create()
    room.tick(key("open"))
    room.say(ANA, "!extend meeting 15m")
    assert "it now ends at 19:45" in room.last()
    room.wait(timedelta(minutes=91))
    assert room.state.meeting is not None
    room.wait(timedelta(minutes=15))
    assert room.state.meeting is None

    early = Room.create()
    early.tick(key("open"))
    early.say(ANA, "!endmeeting")
    assert not [k for k in early.timers if k.startswith("meeting-close:")]


def test_a_late_start_says_so() -> None:
    room = Room.create()
    room.now = START + timedelta(minutes=7)
    room.tick(key("open"))
    assert room.said()[0].startswith("⚠ The bot was unavailable at 18:00")
    assert "7m late" in room.said()[0]
    assert room.meeting.slot is not None and room.meeting.slot.ends == START + timedelta(minutes=90)


def test_a_missed_meeting_tells_the_room_and_the_coordinator() -> None:
    room = Room.create()
    effects = room.tick(key("missed"))
    rooms = {e.room_id for e in effects if isinstance(e, Notice)}
    assert COORDINATION in rooms
    assert room.state.meeting is None
    assert any("Missed meeting" in line for line in room.said())


def test_opening_while_a_meeting_runs_adopts_it_and_a_tick_is_handled_once() -> None:
    room = Room.create()
    room.say(ANA, "!startmeeting Early start")
    room.tick(key("open"))
    assert room.meeting.title == "Early start" and room.meeting.slot is not None
    assert room.tick(key("open")) == []  # the same tick again: deduplicated


def test_closing_tick_of_an_old_slot_does_nothing() -> None:
    room = Room.create()
    room.tick(key("open"))
    old = [k for k in room.timers if k.startswith("meeting-close:") and not k.endswith("warn")]
    room.say(ANA, "!extend meeting 10m")
    room.tick(old[0])
    assert room.state.meeting is not None


def test_plan_sends_only_the_latest_missed_reminder_and_never_twice() -> None:
    day, hour = timedelta(hours=24), timedelta(hours=1)
    far = plan(SLOT, [hour, day], timedelta(minutes=15), START - timedelta(days=3), set())
    assert [j.key.what for j in far] == ["remind-86400", "remind-3600", "open"]
    late = plan(SLOT, [hour, day], timedelta(minutes=15), START - timedelta(minutes=30), set())
    assert [(j.key.what, j.at) for j in late] == [
        ("remind-3600", START - timedelta(minutes=30)), ("open", START)]
    sent = {key("remind-3600")}
    assert [j.key.what for j in plan(SLOT, [hour, day], timedelta(minutes=15),
                                     START - timedelta(minutes=30), sent)] == ["open"]
    assert plan(SLOT, [hour], timedelta(minutes=15), START, set(), status="held") == []


def test_down_at_the_start_opens_late_within_the_grace_and_is_missed_after() -> None:
    grace = timedelta(minutes=15)
    assert opening(SLOT, grace, START + timedelta(minutes=14)).what == "open"
    assert opening(SLOT, grace, START + timedelta(minutes=16)).what == "missed"
    (job,) = plan(SLOT, [], grace, START + timedelta(hours=2), set())
    assert job.key.what == "missed"


def test_schedule_lists_upcoming_meetings_in_the_room_and_all_regions_for_the_coordinator(
) -> None:
    room = Room.create()
    planned = [
        Planned("latam", "Latin America", 2, START + timedelta(days=7),
                START + timedelta(days=7, minutes=90), "America/Bogota", "Meeting 2"),
        Planned("africa", "Africa", 1, START + timedelta(days=1),
                START + timedelta(days=1, hours=1), "Africa/Lagos", "Réunion 1"),
    ]
    room.settings = replace(room.settings, calendar=lambda region: [
        p for p in planned if region is None or p.region_id == region
    ])
    room.say(BEA, "!schedule")
    assert "Meeting 2: 2027-01-22 18:00 (America/Bogota), 1h30m — Meeting 2" in room.last()
    assert "Africa" not in room.last()
    coordinator = Room.create()
    coordinator.settings = replace(room.settings, coordinator_room="!latam:example.org")
    coordinator.say(BEA, "!schedule")
    assert "Africa, meeting 1: 2027-01-17 00:00 Africa/Lagos (2027-01-16 23:00 UTC), 1h" \
        in coordinator.last()
    assert "(UTC;" not in coordinator.last()


def test_meeting_record_replays_with_its_slot() -> None:
    room = Room.create()
    room.tick(key("open"))
    room.say(ANA, "!extend meeting 5m")
    room.wait(timedelta(minutes=95))
    assert room.state.last_meeting is not None
    replayed = room.replayed()
    assert replayed.meeting is None
    assert replayed.last_meeting is not None
    assert replayed.last_meeting.slot == room.state.last_meeting.slot


def test_a_time_names_its_zone_once_and_utc_only_when_it_differs() -> None:
    from meetbot.core.commands.meeting import zoned_time

    at = datetime(2027, 1, 16, 23, 0, tzinfo=timezone.utc)
    assert zoned_time(at, "UTC") == "2027-01-16 23:00 UTC"
    assert zoned_time(at, "Europe/London") == "2027-01-16 23:00 Europe/London"
    assert zoned_time(at, "America/Bogota") == "2027-01-16 18:00 America/Bogota (23:00 UTC)"
    assert zoned_time(at, "Africa/Lagos") == "2027-01-17 00:00 Africa/Lagos (2027-01-16 23:00 UTC)"

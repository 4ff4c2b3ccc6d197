"""A research network's record at scale, made by the real core: six regions, n meetings each.

Every meeting is played through the engine the bot runs (commands, prompts, items, actions
with owners), and its minutes document is built as the bot builds it, with the languages and
translations the store would hold: messages in French and Spanish carry their language and an
English translation; one message in seven has no language recorded, as when a translation
back-end was down.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from meetbot.config.schema import Config
from meetbot.core.events import Message
from meetbot.core.model import Agenda, Prompt, Region, RoomSettings, RoomState
from meetbot.minutes.document import MinutesContext, build_minutes_data
from meetbot.research.dataset import HeldMeeting
from meetbot.research.pseudonyms import Pseudonyms
from meetbot.research.report import build_report
from meetbot.runtime.features import engine
from meetbot.storage.store import MeetingRow

handle = engine().handle

PROMPTS = (
    Prompt("work-learn-together", {
        "en": "At this moment, what can we do to work and learn together?",
        "es": "En este momento, ¿qué podemos hacer para trabajar y aprender juntos?",
        "fr": "En ce moment, que pouvons-nous faire pour travailler et apprendre ensemble ?"}),
    Prompt("worked", {"en": "What worked since last time?",
                      "es": "¿Qué funcionó desde la última vez?",
                      "fr": "Qu'est-ce qui a marché depuis la dernière fois ?"}),
    Prompt("next", {"en": "What do we do next?", "es": "¿Qué hacemos ahora?",
                    "fr": "Que faisons-nous ensuite ?"}),
)
AGENDA = Agenda("default", {"en": "Check-in"}, PROMPTS)
PROMPT_TEXTS = {p.id: dict(p.texts) for p in PROMPTS}

# id, name, languages, time zone
REGIONS = (
    ("latam", "América Latina", ("es", "en"), "America/Bogota"),
    ("sahel", "Sahel", ("fr", "en"), "Africa/Dakar"),
    ("east-africa", "East Africa", ("en",), "Africa/Nairobi"),
    ("andes", "Región Andina", ("es",), "America/Lima"),
    ("west-europe", "Europe de l'Ouest", ("fr", "es", "en"), "Europe/Paris"),
    ("south-asia", "South and South-East Asia", ("en",), "Asia/Kolkata"),
)

# What people say, in each language, with its English translation.
SAID = {
    "es": [("Podríamos compartir nuestras notas cada semana en un cuaderno común.",
            "We could share our notes each week in a common notebook."),
           ("Los talleres del sábado funcionaron muy bien en el barrio.",
            "The Saturday workshops worked very well in the neighbourhood."),
           ("Necesitamos traducir los materiales antes de la próxima reunión.",
            "We need to translate the materials before the next meeting.")],
    "fr": [("Je propose un atelier chaque mois pour apprendre ensemble.",
            "I propose a workshop each month to learn together."),
           ("La radio communautaire a touché beaucoup de familles.",
            "The community radio reached many families."),
           ("Il faudrait un calendrier partagé entre les régions.",
            "We would need a calendar shared between the regions.")],
    "en": [("Let us pair up mentors and newcomers across regions.", None),
           ("The shared reading list helped the new members a lot.", None),
           ("We should record short voice notes for those who cannot read.", None)],
}
PEOPLE = ("ana", "bea", "cle", "dan", "eli", "fay")


def _person(region: str, n: int) -> str:
    return f"@{PEOPLE[n % len(PEOPLE)]}-{region}:example.org"


START = datetime(2024, 1, 8, 14, tzinfo=timezone.utc)  # the first meetings, weekly after


def _extra_meeting(region_id: str, meetings_per_region: int) -> datetime | None:
    """One more meeting on the calendar of two regions: missed in one, still to come in the
    other (the report is written five days after the last week's meetings)."""
    last_week = START.replace(tzinfo=None) + timedelta(weeks=meetings_per_region - 1)
    return {"west-europe": last_week + timedelta(days=3),
            "south-asia": last_week + timedelta(days=7)}.get(region_id)


def network_config(meetings_per_region: int) -> Config:
    regions = []
    for rid, name, langs, tz in REGIONS:
        starts = [START.replace(tzinfo=None) + timedelta(weeks=n)
                  for n in range(meetings_per_region)]
        extra = _extra_meeting(rid, meetings_per_region)
        regions.append({
            "id": rid, "name": name, "room": f"!{rid}:example.org", "languages": list(langs),
            "timezone": tz, "meetings": [
                {"number": n, "starts": at.isoformat(timespec="minutes")}
                for n, at in enumerate([*starts, *([extra] if extra else [])], start=1)],
        })
    return Config.model_validate({
        "homeserver": "https://example.org", "user_id": "@meetbot:example.org", "password": "x",
        "coordinator": {"room": "!coord:example.org", "language": "en"}, "regions": regions,
    })


def _meeting(index: int, region: Region, number: int, start: datetime) -> HeldMeeting:
    settings = RoomSettings(region=region, agenda=AGENDA, bot_user_id="@meetbot:example.org",
                            facilitators=frozenset({_person(region.id, 0)}))
    state = RoomState(region.room_id)
    chair = _person(region.id, 0)
    script: list[tuple[str, str, str | None, str | None]] = [(chair, "!startmeeting", None, None)]
    k = index
    for p, _prompt in enumerate(PROMPTS):
        if p:
            script.append((chair, "!next", None, None))
        for m in range(3 + (index + p) % 4):
            k += 1
            lang = region.languages[k % len(region.languages)]
            text, english = SAID[lang][k % 3]
            prefix = ("!idea ", "!info ", "")[m % 3] if m < 3 else ""
            speaker = _person(region.id, 1 + k % (2 + (index * 5 + number) % 5))
            script.append((speaker, prefix + text, lang, english))
        first = region.languages[0]
        if p == 1:
            text, english = SAID[first][index % 3]
            script.append((chair, "!agreed " + text, first, english))
        if p == 2:
            text, english = SAID[first][(index + 1) % 3]
            owner = _person(region.id, index + 1)
            script.append((chair, f"!action {owner} {text}", first, english))
    script.append((chair, "!endmeeting", None, None))

    languages: dict[str, str] = {}
    translations: dict[str, dict[str, str]] = {}
    for n, (who, body, lang, english) in enumerate(script):
        event_id = f"${region.id}-{number}-{n}"
        handle(state, settings, Message(event_id, region.room_id, who, start + timedelta(minutes=n),
                                        body=body, display_name=who[1:4].title()))
        if lang is None or (index + n) % 7 == 0:
            continue  # commands, and a message whose language went unrecorded
        languages[event_id] = lang
        if english is not None:
            translations[event_id] = {"en": english}
    meeting = state.last_meeting
    assert meeting is not None
    doc = build_minutes_data(MinutesContext(
        meeting=meeting, region_name=region.name, agenda_prompts=PROMPT_TEXTS,
        translations=translations, languages=languages,
    ))
    lines = [line for line in doc["log"] if not line["is_command"]]
    doc.update(meeting_number=number, meetings_planned=number, endorsements=[
        {"event_id": line["event_id"], "line": line["line"], "count": 1 + (index + i) % 4,
         "keys": {"👍": 1 + (index + i) % 4}}
        for i, line in enumerate(lines[index % 3::5][:3])
    ])
    row = MeetingRow(meeting.id, region.room_id, region.id, meeting.title, meeting.started_at,
                     meeting.ended_at, "ended")
    return HeldMeeting(row, number, number, doc)


def network_meetings(meetings_per_region: int) -> list[HeldMeeting]:
    """Every region's meetings, weekly from January 2024 (the local times of the schedule
    are read as UTC: the regions' clocks do not matter here)."""
    held = []
    for rid, name, langs, tz in REGIONS:
        region = Region(rid, name, f"!{rid}:example.org", langs, tz)
        for number in range(1, meetings_per_region + 1):
            start = START + timedelta(weeks=number - 1)
            held.append(_meeting(len(held), region, number, start))
    return held


def network_report(meetings_per_region: int, language: str = "en",
                   pseudonyms: Pseudonyms | None = None) -> dict[str, Any]:
    """The report over six regions of ``meetings_per_region`` meetings each."""
    meetings = network_meetings(meetings_per_region)
    now = START + timedelta(weeks=meetings_per_region - 1, days=5)
    return build_report(network_config(meetings_per_region), meetings, PROMPT_TEXTS, now,
                        language, pseudonyms=pseudonyms)

"""The minutes of a meeting, built by playing the meeting through the real core."""

from __future__ import annotations

import html as html_module
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import markdown
import pytest
from components import require_component

from meetbot.core.events import Edit, Message, Redaction
from meetbot.core.model import Agenda, Meeting, Prompt, Region, RoomSettings, RoomState
from meetbot.minutes import document
from meetbot.minutes.document import (
    PARTS,
    UNASSIGNED,
    MinutesContext,
    build_minutes_data,
    coordinator_summary,
    render_html,
    render_markdown,
    room_summary,
    write_minutes,
)
from meetbot.runtime.features import engine

handle = engine().handle  # the core with every feature, as the bot runs it

ROOM = "!bogota:example.org"
BOGOTA = Region(
    id="bogota",
    name="Bogotá",
    room_id=ROOM,
    languages=("es", "en"),
    timezone="America/Bogota",
)
AGENDA = Agenda(
    id="default",
    title={"en": "Community check-in"},
    prompts=(
        Prompt("worked", {"en": "What worked this month?", "es": "¿Qué funcionó este mes?"}),
        Prompt("next", {"en": "What should we try next?", "es": "¿Qué probamos ahora?"}),
    ),
)
ANA = "@ana:example.org"  # facilitator
BEATRIZ = "@beatriz:example.org"
CARLOS = "@carlos:example.org"
NAMES = {ANA: "Ana", BEATRIZ: "Beatriz", CARLOS: "Carlos"}
# 10:00 in Bogotá (UTC-05:00).
START = datetime(2024, 5, 1, 15, 0, tzinfo=timezone.utc)

SCRIPT = "<script>alert(1)</script>"
RTL = "نحتاج\u200f إلى مترجم\u200b للاجتماع"  # Arabic with RLM and a zero-width space


@dataclass
class Room:
    """A meeting room: people say things at minutes after 10:00 and the core records it."""

    settings: RoomSettings = field(
        default_factory=lambda: RoomSettings(
            region=BOGOTA,
            agenda=AGENDA,
            bot_user_id="@meetbot:example.org",
            facilitators=frozenset({ANA}),
        )
    )
    state: RoomState = field(default_factory=lambda: RoomState(room_id=ROOM))
    count: int = 0

    def _next_id(self) -> str:
        self.count += 1
        return f"$event{self.count}"

    def says(
        self,
        who: str,
        body: str,
        minute: float,
        *,
        mentions: tuple[str, ...] = (),
        name: str | None = None,
        msgtype: str = "m.text",
    ) -> str:
        event = Message(
            event_id=self._next_id(),
            room_id=ROOM,
            sender=who,
            at=START + timedelta(minutes=minute),
            body=body,
            display_name=name or NAMES[who],
            mentions=mentions,
            msgtype=msgtype,
        )
        handle(self.state, self.settings, event)
        return event.event_id

    def redacts(self, who: str, target: str, minute: float) -> None:
        event = Redaction(
            event_id=self._next_id(),
            room_id=ROOM,
            sender=who,
            at=START + timedelta(minutes=minute),
            target=target,
        )
        handle(self.state, self.settings, event)

    def edits(self, who: str, target: str, body: str, minute: float) -> None:
        event = Edit(
            event_id=self._next_id(),
            room_id=ROOM,
            sender=who,
            at=START + timedelta(minutes=minute),
            target=target,
            body=body,
        )
        handle(self.state, self.settings, event)

    @property
    def meeting(self) -> Meeting:
        meeting = self.state.meeting or self.state.last_meeting
        assert meeting is not None
        return meeting


def minutes(room: Room, **context: Any) -> dict[str, Any]:
    """The minutes as written when the meeting ends (at 11:02 unless it already has)."""
    if room.state.meeting is not None:
        room.says(ANA, "!endmeeting", 62)
    ctx = MinutesContext(
        meeting=room.meeting,
        region_name=BOGOTA.name,
        language="es",
        agenda_prompts={p.id: p.texts for p in AGENDA.prompts},
        homeserver_name="example.org",
        **context,
    )
    return build_minutes_data(ctx)


def items_of(data: dict[str, Any], numbers: list[int]) -> list[dict[str, Any]]:
    by_n = {item["n"]: item for item in data["items"]}
    return [by_n[n] for n in numbers]


def all_outputs(data: dict[str, Any], language: str = "en") -> dict[str, str]:
    return {
        "json": json.dumps(data, ensure_ascii=False),
        "markdown": render_markdown(data, language),
        "html": render_html(data, language),
        "room": room_summary(data, language),
        "coordinator": coordinator_summary(data, language),
    }


def summary_part(markdown_text: str) -> str:
    """The Markdown minutes before the full log (where every line said is kept)."""
    return markdown_text.split('<a id="log"></a>')[0]


@pytest.fixture
def room() -> Room:
    """A typical meeting, still running: two prompts, ideas, a decision, actions for people
    and for nobody."""
    room = Room()
    room.says(ANA, "!startmeeting Check-in de mayo", 0)
    room.says(BEATRIZ, "Los talleres en la biblioteca funcionaron bien", 2)
    room.says(ANA, "!info 14 personas vinieron al taller", 3)
    room.says(CARLOS, "!idea hacerlo también los sábados", 5)
    room.says(ANA, "!here", 6)
    room.says(ANA, "!next", 20)
    room.says(ANA, "!agreed repetimos el taller en junio", 25)
    room.says(
        ANA,
        f"!action {BEATRIZ} reserva la sala",
        27,
        mentions=(BEATRIZ,),
    )
    room.says(ANA, "!action alguien escribe el resumen", 28)
    room.says(ANA, f"!action {CARLOS} {BEATRIZ} piden fondos", 29, mentions=(CARLOS, BEATRIZ))
    return room


# -- the JSON document -----------------------------------------------------------------


def test_times_carry_the_regions_offset_and_utc(room: Room) -> None:
    data = minutes(room)

    assert data["timezone"] == "America/Bogota"
    assert data["started_at"] == "2024-05-01T10:00:00-05:00"
    assert data["started_at_utc"] == "2024-05-01T15:00:00Z"
    assert data["ended_at"] == "2024-05-01T11:02:00-05:00"
    assert data["ended_at_utc"] == "2024-05-01T16:02:00Z"
    assert data["duration_seconds"] == 62 * 60
    assert data["items"][1]["at"] == "2024-05-01T10:03:00-05:00"
    assert data["log"][0]["at"] == "2024-05-01T10:00:00-05:00"  # the !startmeeting line


def test_times_name_the_regions_zone_once_and_utc_once(room: Room) -> None:
    data = minutes(room)
    md, html = render_markdown(data, "es"), render_html(data, "es")

    assert "- **Inicio:** 2024-05-01 10:00 America/Bogota (15:00 UTC)\n" in md
    assert "- **Fin:** 2024-05-01 11:02 America/Bogota (16:02 UTC)\n" in md
    assert ">2024-05-01 10:00 America/Bogota (15:00 UTC)</time>" in html
    assert "UTC-05:00" not in md + html and "(UTC+00:00)" not in md + html
    summary = coordinator_summary(data, "en")
    assert "2024-05-01 10:00–11:02 America/Bogota (15:00–16:02 UTC) (1h02m)" in summary


def test_a_region_on_utc_says_utc_once() -> None:
    room = Room(settings=RoomSettings(
        region=Region(id="demo", name="Demo", room_id=ROOM, languages=("en",)),
        agenda=AGENDA, bot_user_id="@meetbot:example.org", facilitators=frozenset({ANA}),
    ))
    room.says(ANA, "!startmeeting Check-in", 0)
    room.says(ANA, "!endmeeting", 40)
    data = minutes(room)
    md = render_markdown(data, "en")

    assert "- **Started:** 2024-05-01 15:00 UTC\n" in md
    assert "- **Ended:** 2024-05-01 15:40 UTC\n" in md
    assert "2024-05-01 15:00–15:40 UTC (40m)" in coordinator_summary(data, "en")


def test_prompts_are_numbered_by_their_place_in_the_agenda_items_by_their_number(
    room: Room,
) -> None:
    data = minutes(room)
    prompts = [(i["n"], i["prompt_number"], i["prompt_total"]) for i in data["items"]
               if i["kind"] == "prompt"]
    assert prompts == [(1, 1, 2), (4, 2, 2)]
    md, html = render_markdown(data, "es"), render_html(data, "es")

    assert "### Pregunta 1/2: ¿Qué funcionó este mes?" in md
    assert "### Pregunta 2/2: ¿Qué probamos ahora?" in md
    assert "Pregunta #" not in md and "Pregunta #" not in html
    assert '<span class="kind">Pregunta 2/2:</span>' in html
    assert "- **Decisión #5**" in md  # items keep their numbers
    assert "**Prompt 2/2** (next): What should we try next?" in coordinator_summary(data, "en")


def test_people_are_shown_by_name_and_kept_as_ids_in_the_json(room: Room) -> None:
    data = minutes(room)
    md, html = render_markdown(data, "es"), render_html(data, "es")

    assert data["items"][5]["text"] == f"{BEATRIZ} reserva la sala"
    assert data["names"][BEATRIZ] == "Beatriz"
    assert "**Acción #6** Beatriz reserva la sala" in md
    assert "Carlos Beatriz piden fondos" in md
    assert "Beatriz reserva la sala</span>" in html
    for text in (md, html, room_summary(data, "es"), coordinator_summary(data, "es")):
        assert BEATRIZ not in text and CARLOS not in text


def test_summaries_show_items_in_the_readers_language_with_the_original(room: Room) -> None:
    decision = room.meeting.items[4]
    action = room.meeting.items[5]
    data = minutes(room, translations={
        decision.event_id: {"en": "we repeat the workshop in June"},
        action.event_id: {"en": f"{BEATRIZ} books the room"},
    }, languages={decision.event_id: "es", action.event_id: "es"})

    english = room_summary(data, "en")
    assert "- \\#5 we repeat the workshop in June (original, es: repetimos el taller en " \
        "junio)" in english
    assert "- \\#6 Beatriz books the room (original, es: Beatriz reserva la sala) — Beatriz" \
        in english
    spanish = room_summary(data, "es")  # the readers of the original read it alone
    assert "- \\#5 repetimos el taller en junio\n" in spanish and "original" not in spanish
    coordinator = coordinator_summary(data, "en")
    assert "    - \\#6 Beatriz books the room (original, es: Beatriz reserva la sala)" \
        in coordinator
    assert "- \\#5 we repeat the workshop in June (original, es:" in coordinator


def test_header_names_the_meeting_region_and_chairs(room: Room) -> None:
    data = minutes(room)

    assert data["meeting_id"] == room.meeting.id
    assert data["region"] == "bogota"
    assert data["region_name"] == "Bogotá"
    assert data["room_id"] == ROOM
    assert data["title"] == "Check-in de mayo"
    assert data["chairs"] == [{"user_id": ANA, "display_name": "Ana"}]
    assert json.loads(json.dumps(data)) == data  # plain JSON all the way down


def test_items_belong_to_their_prompt(room: Room) -> None:
    data = minutes(room)

    sections = [
        (s["kind"], s["prompt_id"], [i["kind"] for i in items_of(data, s["items"])])
        for s in data["sections"]
    ]
    assert sections == [
        ("prompt", "worked", ["info", "idea"]),
        ("prompt", "next", ["decision", "action", "action", "action"]),
    ]
    info = data["items"][1]
    assert info["text"] == "14 personas vinieron al taller"
    assert info["author"] == ANA and info["author_name"] == "Ana"
    assert info["prompt_id"] == "worked"
    assert info["permalink"].startswith("https://matrix.to/#/%21bogota%3Aexample.org/%24event")
    assert data["log"][info["log_line"] - 1]["event_id"] == info["event_id"]


def test_decisions_and_actions_grouped_by_person_with_unassigned(room: Room) -> None:
    data = minutes(room)

    assert [d["text"] for d in items_of(data, data["decisions"])] == [
        "repetimos el taller en junio"
    ]
    groups = {
        g["user_id"]: [i["text"] for i in items_of(data, g["items"])]
        for g in data["actions_by_person"]
    }
    assert groups == {
        BEATRIZ: [f"{BEATRIZ} reserva la sala", f"{CARLOS} {BEATRIZ} piden fondos"],
        CARLOS: [f"{CARLOS} {BEATRIZ} piden fondos"],
        UNASSIGNED: ["alguien escribe el resumen"],
    }
    assert data["actions_by_person"][-1]["user_id"] == UNASSIGNED


def test_people_present_with_lines_said_and_attendance(room: Room) -> None:
    data = minutes(room)

    people = {p["user_id"]: (p["messages"], p["present"], p["chair"]) for p in data["participants"]}
    # !startmeeting came before the meeting existed, so the record starts after it.
    assert people == {ANA: (9, True, True), BEATRIZ: (1, False, False), CARLOS: (1, False, False)}
    assert data["participants"][0]["user_id"] == ANA  # most lines first


def test_rtl_and_zero_width_characters_kept_exactly(room: Room, tmp_path: Path) -> None:
    room.says(CARLOS, RTL, 30, name="كارلوس\u200d")

    data = minutes(room)
    json_path = write_minutes(tmp_path, data, ["en"])[0]
    stored = json.loads(json_path.read_text(encoding="utf-8"))

    assert stored["log"][-2]["body"] == RTL
    assert stored["names"][CARLOS] == "كارلوس\u200d"
    assert RTL in json_path.read_text(encoding="utf-8")  # stored as text, not \u escapes
    html = render_html(data, "en")
    assert f'<span class="text" dir="auto">{RTL}</span>' in html


def test_a_64_kib_message_is_kept_whole(room: Room) -> None:
    long_message = ("palabra " * 8192)[: 64 * 1024]
    room.says(BEATRIZ, long_message, 31)

    data = minutes(room)

    assert data["log"][-2]["body"] == long_message
    assert long_message.strip() in render_html(data, "en")


# -- removed means removed -------------------------------------------------------------


def test_redacted_text_is_nowhere(room: Room) -> None:
    secret = room.says(CARLOS, "mi dirección es Calle Secreta 42", 40)
    secret_item = room.says(CARLOS, "!info Calle Secreta 42 es mi casa", 41)
    room.redacts(CARLOS, secret, 42)
    room.redacts(CARLOS, secret_item, 43)

    translations = {secret: {"en": "my address is Hidden Street 42"}}
    data = minutes(room, translations=translations, languages={secret: "es"})

    for name, text in all_outputs(data).items():
        assert "Secreta" not in text, name
        assert "Hidden Street" not in text, name
    assert secret not in {line["event_id"] for line in data["log"]}


def test_a_redacted_start_message_takes_the_title_with_it() -> None:
    room = Room()
    start = room.says(ANA, "!startmeeting Reunión sobre Calle Secreta", 0)
    room.says(BEATRIZ, "hola", 1)
    room.redacts(ANA, start, 2)

    data = minutes(room)

    assert data["title"] == "Bogotá — 2024-05-01"
    assert all("Secreta" not in text for text in all_outputs(data).values())


def test_struck_items_are_left_out_of_the_summaries(room: Room) -> None:
    room.says(ANA, "!agreed cerramos la biblioteca", 45)
    room.says(ANA, "!undo", 46)
    room.says(ANA, f"!action {BEATRIZ} vende las sillas", 47, mentions=(BEATRIZ,))
    struck = len(room.meeting.items)
    room.says(ANA, f"!strike {struck}", 48)

    data = minutes(room)

    assert all("cerramos" not in i["text"] and "sillas" not in i["text"] for i in data["items"])
    assert struck not in {n for s in data["sections"] for n in s["items"]}
    for name in ("room", "coordinator"):
        assert "cerramos" not in all_outputs(data)[name]
    md = render_markdown(data, "en")
    assert "cerramos" not in summary_part(md) and "sillas" not in summary_part(md)


def test_items_of_a_struck_topic_join_the_prompt_before_it(room: Room) -> None:
    room.says(ANA, "!topic presupuesto", 50)
    room.says(BEATRIZ, "!info faltan 200 pesos", 51)
    topic_n = len(room.meeting.items) - 1
    room.says(ANA, f"!strike {topic_n}", 52)

    data = minutes(room)

    last = data["sections"][-1]
    assert last["prompt_id"] == "next"
    assert "faltan 200 pesos" in [i["text"] for i in items_of(data, last["items"])]
    assert items_of(data, last["items"])[-1]["prompt_id"] == "next"


# -- escaping --------------------------------------------------------------------------


@pytest.fixture
def hostile_room(room: Room) -> Room:
    room.says(BEATRIZ, f"mira {SCRIPT} y <b>negrita</b>", 30, name=f"Bea {SCRIPT}")
    room.says(BEATRIZ, f"!idea <b>más</b> {SCRIPT} [clic](javascript:alert(2))", 31)
    link = room.says(ANA, "!link https://example.org/informe el informe", 32)
    # An edit can replace a link's address with anything; it must never become a link.
    room.edits(ANA, link, "!link javascript:alert(3) el informe", 33)
    return room


def test_html_escapes_all_user_text(hostile_room: Room) -> None:
    html = render_html(minutes(hostile_room), "en")

    assert "<script" not in html
    assert "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;negrita&lt;/b&gt;" in html
    assert not [h for h in re.findall(r'href="([^"]*)"', html) if "javascript" in h]


def test_markdown_keeps_user_text_inert(hostile_room: Room) -> None:
    md = render_markdown(minutes(hostile_room), "en")
    html = markdown.markdown(md)

    assert "<script" not in md and "<script" not in html
    assert "<b>" not in html
    assert not [h for h in re.findall(r'href="([^"]*)"', html) if "javascript" in h]
    assert "&lt;script&gt;" in html  # still readable as text
    for summary in (room_summary, coordinator_summary):
        rendered = markdown.markdown(summary(minutes(hostile_room), "en"))
        assert "<script" not in rendered and "<b>" not in rendered


def test_markdown_reads_as_typed_and_renders_to_what_was_typed(room: Room) -> None:
    tricky = "use *stars*, `code`, [a](b), #tag, 1. lists, a_b, 50% & <i>, C:\\x\\"
    room.says(CARLOS, tricky, 40, name="Carlos (Bogotá) [guest]")
    room.says(BEATRIZ, "!idea 2 * 3 - 1 = 5; see https://example.org/a_b?c=d", 41)
    data = minutes(room)
    md = render_markdown(data, "en")

    # The .md reads cleanly: nothing escaped that Markdown would not misread.
    assert f"- **Meeting id:** {data['meeting_id']}\n" in md
    assert "- 10:00 **Ana**: !startmeeting Check-in de mayo\n" in md
    assert "**Carlos (Bogotá) \\[guest\\]**" in md
    assert "2 * 3 - 1 = 5; see https://example.org/a_b?c=d" in md
    # Rendered, it says exactly what was typed, and no more markup than the template's.
    page = markdown.markdown(md)
    text = html_module.unescape(re.sub(r"<[^>]+>", "", page))
    for said in (tricky, "Carlos (Bogotá) [guest]", "!startmeeting Check-in de mayo",
                 "2 * 3 - 1 = 5; see https://example.org/a_b?c=d", data["meeting_id"]):
        assert said in text, said
    assert "<i>" not in page and "<code>" not in page and "<em>" not in page
    assert 'href="b"' not in page


def test_html_is_self_contained_and_right_to_left_aware(room: Room) -> None:
    html = render_html(minutes(room), "es")

    assert '<html lang="es">' in html
    assert 'dir="auto"' in html
    assert "<link" not in html and " src=" not in html
    assert "@media print" in html


# -- languages -------------------------------------------------------------------------


def test_translations_shown_beside_the_original(room: Room) -> None:
    said = room.says(BEATRIZ, "La sala estaba llena", 33)
    data = minutes(
        room,
        translations={said: {"en": "The room was full", "es": "La sala estaba llena"}},
        languages={said: "es"},
    )
    line = data["log"][-2]
    assert line["language"] == "es"
    assert line["translations"]["en"] == "The room was full"

    english = render_markdown(data, "en")
    assert "The room was full  \n  *original (es):* La sala estaba llena" in english
    spanish = render_markdown(data, "es")
    assert "The room was full" not in spanish  # a reader of the source sees only the source
    html = render_html(data, "en")
    assert re.search(
        r"The room was full</span> <span class=\"original\">.*La sala estaba llena", html
    )


def test_prompts_are_shown_in_the_readers_language(room: Room) -> None:
    data = minutes(room)
    spanish = render_markdown(data, "es")

    assert "¿Qué funcionó este mes?" in spanish
    assert "*original (en):* What worked this month?" in spanish


def test_labels_take_the_colon_as_their_language_writes_it(room: Room) -> None:
    data = minutes(room)
    french, spanish = render_markdown(data, "fr"), render_markdown(data, "es")

    assert "- **Région :** Bogotá\n" in french and "- **Región:** Bogotá\n" in spanish
    assert "### Question 1/2 : What worked this month?" in french
    assert "*original (en) :* What worked this month?" not in french  # an authored text
    assert '<span class="kind">Question 2/2 :</span>' in render_html(data, "fr")


def test_headings_fall_back_to_english_and_the_page_says_its_language(room: Room) -> None:
    data = minutes(room)

    assert "## Action items, by person" in render_markdown(data, "xx")
    assert '<html lang="xx">' in render_html(data, "xx")


def test_lines_after_midnight_show_their_date() -> None:
    room = Room()
    room.says(ANA, "!startmeeting Tarde", 13 * 60 + 30)  # 23:30 in Bogotá
    room.says(BEATRIZ, "ya es mañana", 14 * 60 + 10)  # 00:10 the next day
    room.says(ANA, "!endmeeting", 14 * 60 + 20)

    md = render_markdown(minutes(room), "en")

    assert "- 2024-05-02 00:10 **Beatriz**: ya es mañana" in md


# -- files and summaries ---------------------------------------------------------------


def test_write_minutes_writes_json_once_and_each_language(room: Room, tmp_path: Path) -> None:
    data = minutes(room)

    paths = write_minutes(tmp_path / "minutes", data, ["es", "en"])

    base = f"2024-05-01-bogota-{room.meeting.id[:8]}"
    assert [p.name for p in paths] == [
        f"{base}.json",
        f"{base}-es.md",
        f"{base}-es.html",
        f"{base}-en.md",
        f"{base}-en.html",
    ]
    assert json.loads(paths[0].read_text(encoding="utf-8")) == data
    assert sorted(p.name for p in (tmp_path / "minutes").iterdir()) == sorted(
        p.name for p in paths
    )  # no temporary files left behind


def test_room_summary_counts_decisions_and_owners(room: Room) -> None:
    summary = room_summary(minutes(room), "en")

    assert "8 items, 1 decision, 3 actions, 3 people" in summary
    assert "- \\#5 repetimos el taller en junio" in summary
    assert "alguien escribe el resumen — UNASSIGNED" in summary
    assert "piden fondos — Carlos, Beatriz" in summary


def test_coordinator_summary_lists_actions_by_person(room: Room) -> None:
    summary = coordinator_summary(minutes(room), "en")

    assert summary.startswith("**Bogotá** — Check-in de mayo")
    assert "(1h02m), chaired by Ana." in summary
    assert "3 people: Ana (9), Beatriz (1), Carlos (1)." in summary
    assert "- UNASSIGNED:\n    - \\#7 alguien escribe el resumen" in summary


def test_the_document_lists_its_parts_in_one_place_in_order(room: Room) -> None:
    data = minutes(room)

    assert list(data) == [key for key, _build in PARTS]
    assert list(data) == [
        "format", "meeting_id", "region", "region_name", "room_id", "homeserver_name",
        "language", "languages", "title", "timezone", "started_at", "started_at_utc",
        "ended_at", "ended_at_utc", "duration_seconds", "started_by", "ended_by", "chairs",
        "participants", "items", "sections", "decisions", "actions_by_person", "names", "log",
        "consent_rounds",
    ]
    assert data["consent_rounds"] == []  # present without importing any feature module


def test_a_feature_adds_a_key_with_one_function(
    room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    def proposals(view: Any) -> list[str]:
        return [f"{len(view.items)} items seen"]

    monkeypatch.setattr(document, "PARTS", (*PARTS, ("proposals", proposals)))

    assert minutes(room)["proposals"] == ["8 items seen"]


# -- in a real browser -----------------------------------------------------------------


@pytest.fixture
def chromium() -> Iterator[str]:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require_component("chromium", path is not None, "apt-get install chromium")
    assert path is not None
    yield path


def test_browser_shows_hostile_text_as_text(
    hostile_room: Room, chromium: str, tmp_path: Path
) -> None:
    page = tmp_path / "minutes.html"
    page.write_text(render_html(minutes(hostile_room), "en"), encoding="utf-8")

    dom = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout

    assert "<h1>Minutes: Check-in de mayo</h1>" in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "<script" not in dom
    assert "<b>" not in dom
    assert 'href="javascript' not in dom

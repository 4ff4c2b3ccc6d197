"""Proposals in every language, as the core decides it: a Spanish and English room.

Ana proposes, people respond (Carlos objects with a reason), Ana edits her proposal, Dina
responds after the edit; the outcome and the minutes mark who voted before the edit. The
core asks the shell to show the proposal and its outcome in each language
(``TranslateProposal``) and has the reasons translated into the record, never posted.
"""

from __future__ import annotations

from facilitation_room import ANA, BEA, CARLOS, DINA, ROOM, Room

from meetbot.core.effects import Translate, TranslateProposal
from meetbot.core.events import Edit, Message
from meetbot.core.facilitation.proposal_languages import CLOSED, POSTED, notice_for
from meetbot.core.facilitation.proposals import anchor_timer
from meetbot.i18n import Localized, render_lines
from meetbot.minutes.document import MinutesContext, build_minutes_data
from meetbot.minutes.render import render_html, render_markdown


def opened() -> tuple[Room, str]:
    room = Room.create()
    room.say(ANA, "!startmeeting")
    for person in (BEA, CARLOS, DINA):
        room.say(person, "!here")
    propose = room.say(ANA, "!propose Nos reunimos cada semana")
    room.tick(anchor_timer(room.meeting.proposals[-1].token, "$posted"))
    return room, propose


def edit(room: Room, sender: str, target: str, body: str) -> list[object]:
    return list(room.feed(Edit(room._id(), ROOM, sender, room.now, target=target, body=body)))


def test_proposing_asks_for_the_notice_in_every_language() -> None:
    room = Room.create()
    room.say(ANA, "!startmeeting")
    effects = room.feed(Message("$propose", ROOM, ANA, room.now,
                                "!propose Nos reunimos cada semana"))
    (asked,) = [e for e in effects if isinstance(e, TranslateProposal)]
    assert (asked.stage, asked.cause, asked.meeting_id) == (POSTED, "$propose", room.meeting.id)
    assert asked.token == room.meeting.proposals[0].token
    assert "Nos reunimos cada semana" in room.last()


def test_a_reason_is_translated_into_the_record_but_not_posted() -> None:
    room, _propose = opened()
    effects = room.feed(Message("$vote", ROOM, CARLOS, room.now,
                                "!vote object Es demasiado a menudo"))
    (translate,) = [e for e in effects if isinstance(e, Translate)]
    assert translate.text == "Es demasiado a menudo"  # the reason, not the command
    assert translate.event_id == "$vote" and translate.post is False
    assert translate.meeting_id == room.meeting.id
    room.say(BEA, "!vote agree")  # no reason: nothing to translate
    agreed = room.feed(Message("$agree", ROOM, DINA, room.now, "!vote agree"))
    assert not [e for e in agreed if isinstance(e, Translate)]


def test_the_author_edits_the_proposal_and_earlier_votes_are_flagged() -> None:
    room, propose = opened()
    room.react(BEA, "$posted", "✅")
    room.say(CARLOS, "!vote object Cada semana es demasiado")
    room.now += room.now.resolution * 60_000_000  # a minute later
    asked = edit(room, ANA, propose, "!propose Nos reunimos cada dos semanas")
    proposal = room.meeting.proposals[0]
    assert proposal.text == "Nos reunimos cada dos semanas"
    assert proposal.earlier_texts == ["Nos reunimos cada semana"]
    assert [a.stage for a in asked if isinstance(a, TranslateProposal)] == [POSTED]
    room.now += room.now.resolution * 60_000_000
    room.say(DINA, "!vote agree")
    room.say(ANA, "!close")
    outcome = room.last()
    assert "Nos reunimos cada dos semanas" in outcome
    assert "Voted before the edit" in outcome and "Bea" in outcome and "Carlos" in outcome
    assert "Dina" not in outcome.split("Voted before the edit")[1]
    data = build_minutes_data(MinutesContext(room.meeting, "Latin America"))
    (record,) = data["consent_rounds"]
    flagged = {v["display_name"]: v["before_edit"] for v in record["votes"]}
    assert flagged == {"Bea": True, "Carlos": True, "Dina": False}
    assert record["earlier_texts"] == ["Nos reunimos cada semana"] and record["edited_at"]
    assert "voted before the edit" in render_markdown(data, "en")
    assert room.replayed().meeting.proposals[0].text == proposal.text  # type: ignore[union-attr]


def test_only_the_author_edits_and_an_empty_edit_changes_nothing() -> None:
    room, propose = opened()
    assert edit(room, BEA, propose, "!propose Otra cosa") == []
    assert not [e for e in edit(room, ANA, propose, "!propose") if
                isinstance(e, TranslateProposal)]
    assert room.meeting.proposals[0].text == "Nos reunimos cada semana"
    room.say(ANA, "!close")
    assert not [e for e in edit(room, ANA, propose, "!propose Ya cerrada")
                if isinstance(e, TranslateProposal)]
    assert room.meeting.proposals[0].text == "Nos reunimos cada semana"


def test_the_outcome_asks_for_its_translation_and_shows_the_words_it_is_given() -> None:
    room, _propose = opened()
    room.say(CARLOS, "!vote object Es demasiado")
    vote = room.events[-1].event_id
    effects = room.feed(Message("$close", ROOM, ANA, room.now, "!close"))
    (asked,) = [e for e in effects if isinstance(e, TranslateProposal)]
    assert asked.stage == CLOSED
    proposal = room.meeting.proposals[0]
    text = Localized({"es": "Nos reunimos cada semana",
                      "en": "We meet every week (machine translation)"})
    reasons = {vote: Localized({"es": "Es demasiado", "en": "It is too much (machine "
                                "translation)"})}
    notice = notice_for(room.settings, room.meeting, proposal, CLOSED, text, reasons)
    assert notice.key == proposal.outcome_key
    english, spanish = render_lines(notice.lines, "en"), render_lines(notice.lines, "es")
    assert "We meet every week (machine translation)" in english
    assert "Carlos: It is too much (machine translation)" in english
    assert "Nos reunimos cada semana" in spanish and "Carlos: Es demasiado" in spanish


def test_the_minutes_show_a_reason_beside_its_translation() -> None:
    room, _propose = opened()
    room.say(CARLOS, "!vote object Es <b>demasiado</b>")
    vote = room.events[-1].event_id
    room.say(ANA, "!close")
    context = MinutesContext(room.meeting, "Latin America",
                             translations={vote: {"en": "It is <b>too much</b>"}},
                             languages={vote: "es"})
    data = build_minutes_data(context)
    (record,) = data["consent_rounds"]
    (carlos,) = [v for v in record["votes"] if v["reason"]]
    assert carlos["translations"] == {"en": "It is <b>too much</b>"}
    markdown = render_markdown(data, "en")
    assert "❌ Carlos: It is &lt;b>too much&lt;/b>" in markdown
    assert "original (es):" in markdown
    page = render_html(data, "en")
    assert "It is &lt;b&gt;too much&lt;/b&gt;" in page and "<b>too" not in page
    assert "Votes on proposals" in page


def test_a_voted_decision_reads_in_the_readers_language_with_its_outcome() -> None:
    room, propose = opened()
    room.say(BEA, "!vote agree")
    room.say(ANA, "!close")
    context = MinutesContext(room.meeting, "Latin America",
                             translations={propose: {"en": "We meet every week"}},
                             languages={propose: "es"})
    data = build_minutes_data(context)
    (decision,) = [i for i in data["items"] if i["kind"] == "decision"]
    assert decision["text"].startswith("Nos reunimos cada semana — adopted")
    assert decision["translations"]["en"] == "We meet every week" + decision["text"][
        len("Nos reunimos cada semana"):]

"""Proposals in every language: what the core decides, the shell translates.

A proposal's notice is posted at once with the text as typed; the proposal translation
shell (``meetbot/translation/proposals.py``) then edits it in place to show the text in each
of the room's languages, marked as machine translation (``TranslateProposal``). The outcome
notice goes the same way, with the reasons given. A reason typed with ``!vote`` is translated
into the record like any other words (never posted: results stay hidden until the close), so
the minutes show it beside its translation.

The author may edit the ``!propose`` message (a Matrix edit): the proposal takes the new
text, the notice is translated again and edited, and the responses given before the edit
are marked in the outcome and in the minutes.
"""

from __future__ import annotations

from collections.abc import Mapping

from meetbot.core.commands.translation import target_languages
from meetbot.core.effects import Effect, Notice, Translate, TranslateProposal
from meetbot.core.events import Edit, Message
from meetbot.core.facilitation.proposals import (
    _propose_args,
    outcome_lines,
    proposal_lines,
)
from meetbot.core.hooks import Hooks
from meetbot.core.initiative import announce
from meetbot.core.mentions import names_in
from meetbot.core.model import Meeting, RoomSettings, RoomState
from meetbot.core.records import Proposal
from meetbot.core.registry import UsageError, active_features, split_command

POSTED, CLOSED = "posted", "closed"


def proposal_by_token(meeting: Meeting, token: str) -> Proposal | None:
    return next((p for p in meeting.proposals if p.token == token), None)


def notice_for(
    settings: RoomSettings,
    meeting: Meeting,
    proposal: Proposal,
    stage: str,
    text: object,
    reasons: Mapping[str, object],
) -> Notice:
    """The proposal's notice (``stage`` posted) or its outcome's (closed), with the words
    shown as ``text`` and ``reasons`` (by the response's event id) give them."""
    if stage == CLOSED:
        lines = outcome_lines(meeting, proposal, text, reasons)
        key = proposal.outcome_key
    else:
        lines = proposal_lines(settings.command_prefix, meeting, proposal, text)
        key = proposal.notice_key
    return announce(settings, meeting.room_id, key, *lines)


def on_edit(state: RoomState, settings: RoomSettings, event: Edit) -> list[Effect]:
    """The author edited the ``!propose`` message of an open proposal: it takes the new text."""
    meeting = state.meeting
    if meeting is None:
        return []
    proposal = next((p for p in meeting.proposals if p.event_id == event.target), None)
    entry = meeting.log_entry(event.target)
    if proposal is None or not proposal.is_open or entry is None or not entry.edits:
        return []
    if entry.edits[-1][1] != event.body or event.sender != proposal.author:
        return []  # the core did not accept this edit
    parsed = split_command(event.body, settings.command_prefix)
    command = active_features().commands.lookup(parsed[0]) if parsed else None
    if parsed is None or command is None or command.name != "propose":
        return []
    try:
        text = _propose_args(parsed[1], Message(event.event_id, event.room_id, event.sender,
                                                event.at, event.body)).text
    except UsageError:
        return []  # an edit cannot empty a proposal; it keeps its text
    if text == proposal.text:
        return []
    proposal.earlier_texts.append(proposal.text)
    proposal.text = text
    proposal.edited_at = event.at
    return [TranslateProposal(meeting.room_id, meeting.id, proposal.token, POSTED,
                              event.event_id)]


def on_message(state: RoomState, settings: RoomSettings, event: Message) -> list[Effect]:
    """A reason given with ``!vote`` is translated into the record (not posted)."""
    meeting = state.meeting
    if meeting is None or event.withdrawn or event.sender_opted_out:
        return []
    for proposal in reversed(meeting.proposals):
        ballot = next((b for b in proposal.ballots if b.source == event.event_id), None)
        if ballot is None:
            continue
        if not ballot.reason.strip():
            return []
        source = event.sender_language or meeting.chosen_languages.get(event.sender)
        return [
            Translate(
                room_id=event.room_id,
                event_id=event.event_id,
                meeting_id=meeting.id,
                text=ballot.reason,
                sender=event.sender,
                languages=target_languages(settings, meeting),
                source_language=source,
                post=False,
                names=names_in([ballot.reason], meeting.names),
            )
        ]
    return []


HOOKS = Hooks(message=(on_message,), edit=(on_edit,))

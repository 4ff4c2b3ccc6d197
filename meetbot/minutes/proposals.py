"""Consent rounds in the minutes: the ``consent_rounds`` key (each round's full outcome
record), and the voted decisions a minutes document holds, as its readers list them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meetbot.core.facilitation.proposals import EMOJI, POSITIONS, Proposal
from meetbot.minutes.view import MinutesView


def consent_rounds(view: MinutesView) -> list[dict[str, Any]]:
    """The ``consent_rounds`` part of the document (listed in ``document.PARTS``)."""
    return [_proposal(view, p) for p in view.meeting.proposals]


def _proposal(view: MinutesView, proposal: Proposal) -> dict[str, Any]:
    votes = proposal.votes()
    return {
        "n": proposal.n,
        "text": proposal.text,
        # The text in the readers' languages (as other translated text is), and its edits.
        "language": view.ctx.languages.get(proposal.event_id),
        "translations": view.translations(proposal.event_id),
        "edited_at": view.time(proposal.edited_at)["at"] if proposal.edited_at else None,
        "earlier_texts": list(proposal.earlier_texts),
        "kind": proposal.kind,
        "result": proposal.result,
        "decision_item": proposal.decision,
        "proposed_by": proposal.author,
        "proposed_by_name": view.name(proposal.author),
        "opened_at": view.time(proposal.opened_at)["at"],
        "closes_at": view.time(proposal.closes_at)["at"] if proposal.closes_at else None,
        "closed_at": view.time(proposal.closed_at)["at"] if proposal.closed_at else None,
        "tally": proposal.tally(),
        "legend": {position: EMOJI[position] for position in POSITIONS},
        "votes": [
            {
                "user_id": ballot.voter,
                "display_name": view.name(ballot.voter),
                "position": ballot.position,
                "reason": ballot.reason or None,
                # A reason given with !vote, translated like any message.
                "language": view.ctx.languages.get(ballot.source) if ballot.reason else None,
                "translations": view.translations(ballot.source) if ballot.reason else {},
                "before_edit": proposal.before_edit(ballot),
                **view.time(ballot.at),
            }
            for ballot in votes.values()
        ],
    }


def decision_translations(view: MinutesView, n: int, text: str) -> dict[str, str] | None:
    """A voted decision's translations: the proposal text's, with the outcome the decision
    adds to it ("— adopted (consent; ✅ 2 …)"); None for a decision not voted on."""
    proposal = next((p for p in view.meeting.proposals if p.decision == n), None)
    if proposal is None or not text.startswith(proposal.text):
        return None
    outcome = text[len(proposal.text):]
    return {lang: t + outcome for lang, t in view.translations(proposal.event_id).items()}


def proposals_of(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Voted decisions, if the facilitation feature recorded any (its ``proposals`` key)."""
    found = []
    for proposal in doc.get("proposals") or []:
        if not isinstance(proposal, Mapping):
            continue
        tally = proposal.get("tally") or proposal.get("votes") or {}
        found.append({
            "text": str(proposal.get("text") or proposal.get("statement") or ""),
            "outcome": proposal.get("outcome") or proposal.get("status"),
            "tally": {str(k): v for k, v in tally.items()} if isinstance(tally, Mapping) else {},
            "prompt_id": proposal.get("prompt_id"),
        })
    return found

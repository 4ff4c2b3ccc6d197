"""The ``consent_rounds`` key of the minutes: each consent round's full outcome record."""

from __future__ import annotations

from typing import Any

from meetbot.core.facilitation.proposals import EMOJI, POSITIONS, Proposal
from meetbot.minutes.document import MinutesView, minutes_part


@minutes_part("consent_rounds")
def proposals(view: MinutesView) -> list[dict[str, Any]]:
    return [_proposal(view, p) for p in view.meeting.proposals]


def _proposal(view: MinutesView, proposal: Proposal) -> dict[str, Any]:
    votes = proposal.votes()
    return {
        "n": proposal.n,
        "text": proposal.text,
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
                **view.time(ballot.at),
            }
            for ballot in votes.values()
        ],
    }

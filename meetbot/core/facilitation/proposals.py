"""Consent rounds: a proposal, everyone's response, and an outcome recorded as a decision.

Loomio's and sociocracy's practice: the facilitator proposes, people respond (agree,
abstain, object, block) by reaction or with ``!vote``; objections and blocks carry a reason;
results stay hidden until the proposal closes (by ``!close`` or at its deadline); the outcome
(statement, kind, result, tally, reasons) becomes a decision in the minutes.

Reactions land on the bot's posted proposal, whose Matrix id the core cannot know when it
asks for the post: the shell tells it with an "anchor" tick once the notice is sent (see
``meetbot/runtime/proposal_anchors.py``). Reactions that arrive before the anchor wait for it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from meetbot.core.commands.meeting import local_time
from meetbot.core.durations import DurationError, format_duration, parse_duration
from meetbot.core.effects import CancelTimer, Effect, Notice, StartTimer, TranslateProposal
from meetbot.core.events import Event, Message, Reaction, Redaction, RoomEvent, Tick
from meetbot.core.facilitation.queue import people_here
from meetbot.core.hooks import Hooks
from meetbot.core.initiative import announce, bot_call
from meetbot.core.mentions import with_names
from meetbot.core.model import Item, ItemKind, Meeting, RoomSettings, RoomState
from meetbot.core.records import POSITIONS, Ballot, Proposal
from meetbot.core.registry import Call, Role, UsageError, command, whole_number
from meetbot.i18n import Code, Msg, Pill, _, ngettext

MAX_CLOSES = timedelta(days=30)  # the longest a proposal may stay open

KINDS = ("consent", "consensus", "majority")
EMOJI = {"agree": "✅", "abstain": "🤷", "object": "❌", "block": "🛑"}
NEEDS_REASON = ("object", "block")
WORDS = {
    "agree": "agree", "yes": "agree", "consent": "agree", "+1": "agree", "oui": "agree",
    "sí": "agree", "si": "agree", "accord": "agree", "acuerdo": "agree",
    "abstain": "abstain", "abstention": "abstain", "abstención": "abstain",
    "abstencion": "abstain",
    "object": "object", "objection": "object", "objeción": "object", "objecion": "object",
    "no": "object", "non": "object",
    "block": "block", "blocage": "block", "bloqueo": "block", "veto": "block",
}
TIMER = "proposal:"
ANCHOR = "proposal-posted:"
REMIND_AT = 0.8


def outcome(kind: str, tally: dict[str, int]) -> str:
    agree, objections, blocks = tally["agree"], tally["object"], tally["block"]
    if kind == "majority":
        return "adopted" if agree > objections + blocks else "rejected"
    if blocks:
        return "blocked"
    if kind == "consent" and objections:
        return "rejected"
    return "adopted" if agree else "rejected"


def position_of_reaction(key: str) -> str | None:
    base = "".join(ch for ch in key if unicodedata.category(ch) not in ("Mn", "Sk", "Cf"))
    for position, emoji in EMOJI.items():
        if base.startswith(emoji.rstrip("\ufe0f")):
            return position
    if base.startswith("✔") or base.startswith("👍"):
        return "agree"
    return None


RESULT_LABELS: dict[str, Msg] = {
    "adopted": _("adopted"),
    "rejected": _("rejected"),
    "blocked": _("blocked"),
}
KIND_NAMES: dict[str, Msg] = {
    "consent": _("consent"),
    "consensus": _("consensus"),
    "majority": _("majority"),
}
POSITION_LABELS: dict[str, Msg] = {
    "agree": _("agree"),
    "abstain": _("abstain"),
    "object": _("object"),
    "block": _("block"),
}
KIND_LABELS: dict[str, Msg] = {
    "consent": _("consent: passes with no objection"),
    "consensus": _("consensus: passes with no block"),
    "majority": _("majority of the votes"),
}


def tally_text(tally: dict[str, int]) -> str:
    return " · ".join(f"{EMOJI[p]} {tally[p]}" for p in POSITIONS)


# -- finding proposals --------------------------------------------------------------------


def open_proposals(meeting: Meeting) -> list[Proposal]:
    return [p for p in meeting.proposals if p.is_open]


def _pick(call: Call, number: int | None) -> Proposal:
    meeting = call.meeting
    if number is not None:
        found = next((p for p in meeting.proposals if p.n == number), None)
        if found is None or not found.is_open:
            raise UsageError(_("Proposal #{n} is not open.", n=number))
        return found
    candidates = open_proposals(meeting)
    if not candidates:
        raise UsageError(_("No proposal is open. A facilitator opens one with {propose}.",
                           propose=call.prefix + "propose"))
    return candidates[-1]


def _proposal_for_target(meeting: Meeting, target: str) -> Proposal | None:
    for proposal in reversed(meeting.proposals):
        if target in (proposal.anchor, proposal.event_id):
            return proposal
    return None


# -- opening ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProposeArgs:
    text: str
    kind: str = "consent"
    closes_in: timedelta | None = None


def _propose_args(raw: str, event: Message) -> ProposeArgs:
    kind = "consent"
    closes_in: timedelta | None = None
    rest = raw.strip()
    while rest.startswith("--"):
        option, _sep, rest = rest[2:].partition(" ")
        option, rest = option.lower(), rest.lstrip()
        if option in KINDS:
            kind = option
            continue
        value, _sep, rest = rest.partition(" ")
        rest = rest.lstrip()
        if option == "kind":
            kind = value.lower()
        elif option == "closes":
            try:
                closes_in = parse_duration(value)
            except DurationError as exc:
                raise UsageError(_("{problem} Write a duration such as 90s, 10m or 1h.",
                                   problem=str(exc))) from exc
            except (OverflowError, ValueError):
                closes_in = MAX_CLOSES + MAX_CLOSES  # refused just below
            if closes_in > MAX_CLOSES:
                raise UsageError(_("A proposal closes within {most} at the latest.",
                                   most=format_duration(MAX_CLOSES)))
        else:
            raise UsageError(_("Unknown option --{option}.", option=option))
    if kind not in KINDS:
        raise UsageError(_("The kind is one of: {kinds}.", kinds=", ".join(KINDS)))
    if not rest:
        raise UsageError(_("Write the proposal after the command."))
    return ProposeArgs(text=rest, kind=kind, closes_in=closes_in)


@command(
    "propose",
    usage="[--consent|--consensus|--majority] [--closes 10m] TEXT",
    args=_propose_args,
    role=Role.FACILITATOR,
    summary=_("Open a proposal; people respond with ✅ 🤷 ❌ 🛑 or !vote."),
)
def do_propose(call: Call, args: ProposeArgs) -> None:
    meeting = call.meeting
    n = len(meeting.proposals) + 1
    at = call.event.at
    proposal = Proposal(
        n=n, text=args.text, kind=args.kind, author=call.event.sender, opened_at=at,
        event_id=call.event.event_id, token=f"{meeting.id}:{n}",
        closes_at=at + args.closes_in if args.closes_in else None,
    )
    meeting.proposals.append(proposal)
    if proposal.closes_at is not None:
        remind = at + (args.closes_in or timedelta(0)) * REMIND_AT
        call.emit(StartTimer(f"{TIMER}{proposal.token}:remind", meeting.room_id, remind))
        call.emit(StartTimer(f"{TIMER}{proposal.token}:close", meeting.room_id, proposal.closes_at))
    lines = proposal_lines(call.prefix, meeting, proposal, with_names(args.text, meeting.names))
    call.emit(announce(call.settings, meeting.room_id, proposal.notice_key, *lines))
    # The shell shows the text in each of the room's languages by editing the notice.
    call.emit(TranslateProposal(meeting.room_id, meeting.id, proposal.token, "posted",
                                call.event.event_id))


def proposal_lines(
    prefix: str, meeting: Meeting, proposal: Proposal, text: object
) -> list[Msg | str]:
    """The posted proposal; ``text``: its words as each reader sees them."""
    lines: list[Msg | str] = [
        _("🗳 **Proposal #{n}** ({kind}):", n=proposal.n, kind=KIND_LABELS[proposal.kind]),
        _("> {text}", text=text),
        _("Respond with a reaction to this message: ✅ agree · 🤷 abstain · ❌ object · "
          "🛑 block, or type {vote}. Objections and blocks need a reason. Results stay "
          "hidden until the proposal closes.",
          vote=Code(f"{prefix}vote agree|abstain|object|block [reason]")),
    ]
    if proposal.edited_at is not None:
        lines.append(_("✏️ Edited by its author at {time}. Responses given before the edit "
                       "are marked in the outcome: respond again to confirm yours.",
                       time=local_time(proposal.edited_at, meeting.timezone)))
    if proposal.closes_at is not None:
        lines.append(_("Closes at {time} ({left}).",
                       time=local_time(proposal.closes_at, meeting.timezone),
                       left=format_duration(proposal.closes_at - proposal.opened_at)))
    else:
        lines.append(_("A facilitator closes it with {close}.", close=Code(f"{prefix}close")))
    return lines


# -- responding ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VoteArgs:
    position: str
    reason: str
    number: int | None


def _vote_args(raw: str, event: Message) -> VoteArgs:
    words = raw.split(None, 1)
    number: int | None = None
    if words and words[0].startswith("#") and words[0][1:].isdecimal():
        number = whole_number(words[0], NUMBER_ERROR)
        words = words[1].split(None, 1) if len(words) > 1 else []
    if not words:
        raise UsageError(_("Say agree, abstain, object or block."))
    word = words[0].lower().strip(".,!:")
    position = WORDS.get(word) or position_of_reaction(words[0])
    if position is None:
        raise UsageError(_("Say agree, abstain, object or block."))
    return VoteArgs(position, words[1].strip() if len(words) > 1 else "", number)


@command(
    "vote",
    usage="agree|abstain|object|block [REASON]",
    args=_vote_args,
    summary=_("Respond to the open proposal (one vote each; you can change it)."),
)
def do_vote(call: Call, vote: VoteArgs) -> None:
    proposal = _pick(call, vote.number)
    if vote.position in NEEDS_REASON and not vote.reason:
        raise UsageError(_("An objection or a block needs a reason: say why after it."))
    proposal.ballots.append(
        Ballot(call.event.sender, vote.position, vote.reason, call.event.at, call.event.event_id)
    )
    call.reply(_("Your response to proposal #{n} is recorded: {emoji} {position}. You can "
                 "change it until it closes.", n=proposal.n, emoji=EMOJI[vote.position],
                 position=POSITION_LABELS[vote.position]))


def _vote_by_reaction(
    settings: RoomSettings, meeting: Meeting, proposal: Proposal, event: Reaction
) -> list[Effect]:
    position = position_of_reaction(event.key)
    if position is None or not proposal.is_open or event.sender == settings.bot_user_id:
        return []
    proposal.ballots.append(Ballot(event.sender, position, "", event.at, event.event_id))
    if position not in NEEDS_REASON:
        return []
    prefix = settings.command_prefix
    return [
        Notice(
            room_id=meeting.room_id,
            lines=(
                _("{name}, please give the reason for your {emoji} on proposal #{n}: {vote}",
                  name=Pill(event.sender, meeting.name_of(event.sender)),
                  emoji=EMOJI[position], n=proposal.n,
                  vote=Code(f"{prefix}vote {position} YOUR REASON")),
            ),
            languages=settings.languages,
            mentions=(event.sender,),
            kind="reply",  # not asked again for reactions made while the bot was away
            key=f"reason:{event.event_id}",
        )
    ]


def on_reaction(state: RoomState, settings: RoomSettings, event: Event) -> list[Effect]:
    meeting = state.meeting
    if meeting is None or not isinstance(event, Reaction):
        return []
    proposal = _proposal_for_target(meeting, event.target)
    if proposal is not None:
        return _vote_by_reaction(settings, meeting, proposal, event)
    for waiting in open_proposals(meeting):
        if waiting.anchor is None and position_of_reaction(event.key):
            waiting.early_reactions.append(event)
    return []


def on_redaction(state: RoomState, settings: RoomSettings, event: Event) -> list[Effect]:
    """A redacted reaction (or !vote) withdraws that response."""
    meeting = state.meeting
    if meeting is None or not isinstance(event, Redaction):
        return []
    for proposal in open_proposals(meeting):
        proposal.ballots = [b for b in proposal.ballots if b.source != event.target]
        proposal.early_reactions = [
            r for r in proposal.early_reactions if r.event_id != event.target
        ]
    return []


def _ticked(state: RoomState, event: Event, prefix: str) -> tuple[Proposal | None, str]:
    """The proposal a ``PREFIX TOKEN:REST`` timer is about (None if none), and REST."""
    meeting = state.meeting
    if meeting is None or not isinstance(event, Tick) or not event.timer.startswith(prefix):
        return None, ""
    token, _sep, rest = event.timer[len(prefix):].rpartition(":")
    return next((p for p in meeting.proposals if p.token == token), None), rest


def on_anchor(state: RoomState, settings: RoomSettings, event: Event) -> list[Effect]:
    """The shell reports the Matrix id of a posted proposal: ``proposal-posted:TOKEN:ID``."""
    proposal, anchor = _ticked(state, event, ANCHOR)
    meeting = state.meeting
    if meeting is None or proposal is None or proposal.anchor is not None:
        return []
    proposal.anchor = anchor
    effects: list[Effect] = []
    early, proposal.early_reactions = proposal.early_reactions, []
    for reaction in early:
        if reaction.target == anchor:
            effects += _vote_by_reaction(settings, meeting, proposal, reaction)
    return effects


def anchor_timer(token: str, event_id: str) -> str:
    return f"{ANCHOR}{token}:{event_id}"


# -- closing ------------------------------------------------------------------------------


def close(
    state: RoomState, settings: RoomSettings, meeting: Meeting, proposal: Proposal,
    event: RoomEvent, by: str,
) -> list[Effect]:
    tally = proposal.tally()
    proposal.result = outcome(proposal.kind, tally)
    proposal.closed_at = event.at
    proposal.closed_by = by
    section = meeting.current_section
    item = Item(
        n=meeting.next_item_number(),
        kind=ItemKind.DECISION,
        text=f"{proposal.text} — {proposal.result} ({proposal.kind}; {tally_text(tally)})",
        author=proposal.author,
        at=event.at,
        event_id=proposal.event_id,  # the minutes link the decision to where it was proposed
        section=section.n if section else None,
        prompt_id=section.prompt_id if section else None,
    )
    meeting.add_item(item)
    proposal.decision = item.n
    lines = outcome_lines(meeting, proposal, with_names(proposal.text, meeting.names), {})
    return [
        CancelTimer(f"{TIMER}{proposal.token}:remind"),
        CancelTimer(f"{TIMER}{proposal.token}:close"),
        announce(settings, meeting.room_id, proposal.outcome_key, *lines),
        TranslateProposal(meeting.room_id, meeting.id, proposal.token, "closed", event.event_id),
    ]


def outcome_lines(
    meeting: Meeting, proposal: Proposal, text: object, reasons: Mapping[str, object]
) -> list[Msg | str]:
    """The closed proposal's outcome; ``text`` and ``reasons`` (by the response's event):
    the words as each reader sees them (a reason not given there is shown as typed)."""
    tally = proposal.tally()
    result = proposal.result or outcome(proposal.kind, tally)
    lines: list[Msg | str] = [
        _("🗳 **Proposal #{n} {result}** ({kind}): {text}", n=proposal.n,
          result=RESULT_LABELS[result], kind=KIND_NAMES[proposal.kind], text=text),
        tally_text(tally),
    ]
    votes = proposal.votes().values()
    for ballot in votes:
        if ballot.position in NEEDS_REASON:
            reason = reasons.get(ballot.source) or ballot.reason or _("(no reason given)")
            lines.append(_("{emoji} {name}: {reason}", emoji=EMOJI[ballot.position],
                           name=meeting.name_of(ballot.voter), reason=reason))
    early = tuple(meeting.name_of(b.voter) for b in votes if proposal.before_edit(b))
    if early and proposal.edited_at is not None:
        lines.append(_("✏️ Voted before the edit of {time}: {names}.",
                       time=local_time(proposal.edited_at, meeting.timezone), names=early))
    lines.append(_("Recorded as decision #{n}.", n=proposal.decision))
    return lines


NUMBER_ERROR = _("Give a proposal number, such as 2.")


def _number(raw: str, event: Message) -> int | None:
    return whole_number(raw, NUMBER_ERROR) if raw.strip().lstrip("#") else None


@command(
    "close",
    usage="[N]",
    args=_number,
    role=Role.FACILITATOR,
    summary=_("Close the open proposal (or proposal N) and announce its outcome."),
)
def do_close(call: Call, number: int | None) -> None:
    proposal = _pick(call, number)
    call.effects.extend(
        close(call.state, call.settings, call.meeting, proposal, call.event, call.event.sender)
    )


def on_tick(state: RoomState, settings: RoomSettings, event: Event) -> list[Effect]:
    proposal, what = _ticked(state, event, TIMER)
    meeting = state.meeting
    if meeting is None or proposal is None or not proposal.is_open:
        return []
    if what == "close":
        return close(state, settings, meeting, proposal, event, settings.bot_user_id)
    if what == "remind" and not proposal.reminded:
        proposal.reminded = True
        voted = proposal.votes()
        silent = tuple(u for u in people_here(meeting, settings) if u not in voted)
        if not silent or proposal.closes_at is None:
            return []
        call = bot_call(state, settings, event, "vote")
        call.announce(
            _("⏰ Proposal #{n} closes at {time}. Not yet responded: {names}.", n=proposal.n,
              time=local_time(proposal.closes_at, meeting.timezone),
              names=tuple(Pill(u, meeting.name_of(u)) for u in silent)),
            mentions=silent,
        )
        return call.effects
    return []


def on_meeting_ended(
    state: RoomState, settings: RoomSettings, meeting: Meeting, event: RoomEvent
) -> list[Effect]:
    """A meeting never ends with a proposal left hanging: it closes with the meeting."""
    effects: list[Effect] = []
    for proposal in open_proposals(meeting):
        effects += close(state, settings, meeting, proposal, event, event.sender)
    return effects


def status_line(call: Call) -> list[Msg | str]:
    return [
        ngettext("Proposal #{n} is open: {count} response so far.",
                 "Proposal #{n} is open: {count} responses so far.", len(p.votes()), n=p.n)
        for p in open_proposals(call.meeting)
    ]


HOOKS = Hooks(
    reaction=(on_reaction,),
    redaction=(on_redaction,),
    tick=(on_anchor, on_tick),
    meeting_ended=(on_meeting_ended,),
    status=(status_line,),
)

"""Turn-taking: raised hands, the speaking queue, and rounds (QuatBot and Jitsi's habits).

Anyone raises and lowers their own hand; facilitators give the floor (``!call``), pass
someone over (``!skip``) or move them up (``!bump``). A round puts everyone present in the
queue, those who have not spoken on this prompt first, and calls them one after the other,
optionally with a per-speaker timebox. A hand lowers when its owner speaks; people who leave
the room drop out of the queue.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from meetbot.core import counts
from meetbot.core.durations import format_duration
from meetbot.core.effects import CancelTimer, Effect, StartTimer
from meetbot.core.events import Event, Membership, Message, RoomEvent, Tick
from meetbot.core.hooks import Hooks
from meetbot.core.initiative import bot_call
from meetbot.core.model import Meeting, RoomSettings, RoomState
from meetbot.core.records import ROUND_PREFIX, Round, SpeakingQueue
from meetbot.core.registry import (
    Call,
    Role,
    command,
    is_facilitator,
    optional_duration,
    optional_user,
    split_command,
    user,
)
from meetbot.i18n import Code, Msg, Pill, _, ngettext

PREFIX = ROUND_PREFIX


def queue_of(meeting: Meeting) -> SpeakingQueue:
    if meeting.queue is None:
        meeting.queue = SpeakingQueue()
    return meeting.queue


def _pill(meeting: Meeting, user: str) -> Pill:
    return Pill(user, meeting.name_of(user))


def spoken_on_current_section(meeting: Meeting) -> set[str]:
    section = meeting.current_section
    since = section.at if section else meeting.started_at
    return {
        e.sender for e in meeting.log if not e.is_command and not e.redacted and e.at >= since
    }


def people_here(meeting: Meeting, settings: RoomSettings) -> list[str]:
    queue = queue_of(meeting)
    people = dict.fromkeys([*meeting.present(), *queue.joined])
    return [u for u in people if u != settings.bot_user_id and u not in queue.gone]


# -- giving the floor ---------------------------------------------------------------------


def give_floor(call: Call, user: str) -> None:
    meeting = call.meeting
    queue = queue_of(meeting)
    queue.drop(user)
    queue.speaker = user
    turn = queue.round
    if turn is not None:
        call.effects.append(CancelTimer(turn.timer_key))
        turn.turn += 1
        if turn.per_speaker:
            call.effects.append(
                StartTimer(turn.timer_key, meeting.room_id, call.event.at + turn.per_speaker)
            )
            call.announce(
                _("🎤 {name}, you have the floor ({time}).", name=_pill(meeting, user),
                  time=format_duration(turn.per_speaker)),
                mentions=(user,),
            )
            return
    call.announce(_("🎤 {name}, you have the floor.", name=_pill(meeting, user)), mentions=(user,))


def call_next(call: Call) -> bool:
    """Give the floor to whoever is next; False (and the round closed) when nobody is."""
    queue = queue_of(call.meeting)
    waiting = queue.waiting()
    if waiting:
        give_floor(call, waiting[0])
        return True
    queue.speaker = None
    if queue.round is not None:
        call.effects.append(CancelTimer(queue.round.timer_key))
        queue.round = None
        call.announce(_("🔄 The round is complete: everyone has had a turn."))
    return False


# -- commands -----------------------------------------------------------------------------


@command("hand", summary=_("Raise your hand to speak; you join the queue."))
def do_hand(call: Call) -> None:
    queue = queue_of(call.meeting)
    who = call.event.sender
    if queue.speaker == who:
        call.reply(_("You have the floor already."))
        return
    if who not in queue.hands:
        queue.hands.append(who)
    position = queue.waiting().index(who) + 1
    call.reply(_("✋ Hand raised: you are number {n} in the queue.", n=position))


@command("lower", summary=_("Lower your hand; you leave the queue."))
def do_lower(call: Call) -> None:
    queue = queue_of(call.meeting)
    if call.event.sender not in queue.hands:
        call.reply(_("Your hand is not raised."))
        return
    queue.hands.remove(call.event.sender)
    call.reply(_("Hand lowered."))


@command("queue", summary=_("Show who is speaking and who is waiting, in order."))
def do_queue(call: Call) -> None:
    meeting = call.meeting
    queue = queue_of(meeting)
    lines: list[Msg | str] = []
    if queue.speaker:
        lines.append(_("🎤 Speaking: {name}", name=meeting.name_of(queue.speaker)))
    waiting = queue.waiting()
    if queue.round is not None:
        lines.append(ngettext("🔄 A round is on: {count} person still to speak.",
                              "🔄 A round is on: {count} people still to speak.",
                              len(queue.round.order)))
    if waiting:
        lines.append(_("**Queue:**"))
        lines += [f"{n}. {meeting.name_of(u)}" for n, u in enumerate(waiting, start=1)]
    else:
        lines.append(_("Nobody is waiting. Raise your hand with {hand}.",
                       hand=Code(f"{call.prefix}hand")))
    call.reply(*lines)




@command(
    "call",
    usage="[@user]",
    args=optional_user,
    role=Role.FACILITATOR,
    summary=_("Give the floor to the next in the queue, or to the person named."),
)
def do_call(call: Call, who: str | None) -> None:
    if who is not None:
        give_floor(call, who)
        return
    if not call_next(call) and not call.effects:
        call.reply(_("Nobody is waiting in the queue."))


@command(
    "skip",
    usage="[@user]",
    args=optional_user,
    role=Role.FACILITATOR,
    summary=_("Pass over the next in the queue (in a round: the current speaker) and go on."),
)
def do_skip(call: Call, who: str | None) -> None:
    meeting = call.meeting
    queue = queue_of(meeting)
    if who is None:
        if queue.round is not None and queue.speaker:
            who = queue.speaker
        elif queue.waiting():
            who = queue.waiting()[0]
        else:
            call.reply(_("Nobody is waiting in the queue."))
            return
    queue.drop(who)
    call.announce(_("⏭ {name} is passed over.", name=meeting.name_of(who)))
    if queue.round is not None and (queue.speaker == who or queue.speaker is None):
        call_next(call)
    elif queue.speaker == who:
        queue.speaker = None


@command(
    "bump",
    usage="@user",
    args=user,
    role=Role.FACILITATOR,
    summary=_("Move someone to the front of the queue."),
)
def do_bump(call: Call, who: str) -> None:
    meeting = call.meeting
    queue = queue_of(meeting)
    queue.drop(who)
    if queue.round is not None:
        queue.round.order.insert(0, who)
    else:
        queue.hands.insert(0, who)
    call.announce(_("⬆ {name} is next.", name=_pill(meeting, who)), mentions=(who,))




@command(
    "round",
    usage="[TIME EACH]",
    args=optional_duration,
    role=Role.FACILITATOR,
    summary=_("Everyone in turn, those who have not spoken on this prompt first."),
)
def do_round(call: Call, per_speaker: timedelta | None) -> None:
    meeting = call.meeting
    queue = queue_of(meeting)
    spoken = spoken_on_current_section(meeting)
    people = people_here(meeting, call.settings)
    order = [u for u in people if u not in spoken] + [u for u in people if u in spoken]
    if not order:
        call.reply(_("Nobody is here for a round yet."))
        return
    if queue.round is not None:
        call.effects.append(CancelTimer(queue.round.timer_key))
    token = f"{meeting.id[:8]}:{hashlib.sha256(call.event.event_id.encode()).hexdigest()[:10]}"
    queue.round = Round(token=token, order=order, per_speaker=per_speaker)
    queue.hands = [u for u in queue.hands if u not in order]
    names = tuple(meeting.name_of(u) for u in order)
    if per_speaker:
        call.announce(_("🔄 A round: {names}. {time} each.", names=names,
                        time=format_duration(per_speaker)))
    else:
        call.announce(_("🔄 A round: {names}.", names=names))
    call_next(call)


def end_turn(call: Call) -> None:
    """``!done`` without a number, in a meeting: end your turn (the command itself is
    declared with the actions it also closes, :mod:`meetbot.core.facilitation.followup`)."""
    queue = queue_of(call.meeting)
    sender = call.event.sender
    if queue.speaker != sender and not is_facilitator(call.settings, call.meeting, call.event):
        call.reply(_("Only the person speaking (or a facilitator) can end the turn."))
        return
    if queue.round is not None:
        call_next(call)
        return
    queue.speaker = None
    call.reply(_("Thank you. The floor is open."))


# -- what happens around the commands -----------------------------------------------------


def on_message(state: RoomState, settings: RoomSettings, event: Event) -> list[Effect]:
    meeting = state.meeting
    if meeting is None or meeting.queue is None or not isinstance(event, Message):
        return []
    spoke = split_command(event.body, settings.command_prefix) is None
    if spoke and event.sender in meeting.queue.hands:
        meeting.queue.hands.remove(event.sender)  # they have spoken: the hand lowers
    return []


def on_membership(state: RoomState, settings: RoomSettings, event: Event) -> list[Effect]:
    meeting = state.meeting
    if meeting is None or not isinstance(event, Membership):
        return []
    queue = queue_of(meeting)
    who = event.sender
    if event.membership == "join":
        queue.gone.discard(who)
        if who not in queue.joined and who != settings.bot_user_id:
            queue.joined.append(who)
        return []
    if event.membership not in ("leave", "ban"):
        return []
    queue.gone.add(who)
    queue.drop(who)
    if queue.speaker != who:
        return []
    queue.speaker = None
    if queue.round is None:
        return []
    call = bot_call(state, settings, event, "call")
    call_next(call)
    return call.effects


def on_tick(state: RoomState, settings: RoomSettings, event: Event) -> list[Effect]:
    meeting = state.meeting
    if not isinstance(event, Tick) or not event.timer.startswith(PREFIX) or meeting is None:
        return []
    queue = meeting.queue
    if queue is None or queue.round is None or event.timer != queue.round.timer_key:
        return []
    call = bot_call(state, settings, event, "call")
    if queue.speaker:
        call.announce(_("⌛ Time is up, {name}.", name=meeting.name_of(queue.speaker)))
    call_next(call)
    return call.effects


def on_meeting_ended(
    state: RoomState, settings: RoomSettings, meeting: Meeting, event: RoomEvent
) -> list[Effect]:
    queue = meeting.queue
    if queue is None or queue.round is None:
        return []
    return [CancelTimer(queue.round.timer_key)]


def status_line(call: Call) -> list[Msg | str]:
    queue = call.meeting.queue
    if queue is None or (not queue.speaker and not queue.waiting()):
        return []
    speaker = call.meeting.name_of(queue.speaker) if queue.speaker else "—"
    return [_("Speaking: {speaker}; {people} waiting.", speaker=speaker,
              people=counts.people(len(queue.waiting())))]


HOOKS = Hooks(
    message=(on_message,),
    membership=(on_membership,),
    tick=(on_tick,),
    meeting_ended=(on_meeting_ended,),
    status=(status_line,),
)

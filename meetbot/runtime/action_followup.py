"""Actions followed up: the shell that numbers actions, closes them and lists them.

Every effect of :mod:`meetbot.core.followup_effects` is kept inside the event's own
transaction (``app.persisters``): the status change and its answer are committed together,
the answer's key derives from the event, so a restart neither loses nor repeats one. The
reminders by direct message are a durable task: opening a direct chat needs Matrix.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from nio import AsyncClient, RoomCreateResponse

from meetbot.app import MeetBotApp
from meetbot.core.commands.meeting import local_time
from meetbot.core.effects import Notice
from meetbot.core.followup_effects import (
    COORDINATOR,
    DIRECT,
    ActionClosed,
    ActionRemindersDue,
    ActionsCarried,
    ActionsListed,
    ActionsNoted,
)
from meetbot.core.mentions import with_names
from meetbot.core.records import SlotKey
from meetbot.i18n import Code, Msg, _, ngettext
from meetbot.minutes.action_history import OPEN, FollowedAction, followed_actions
from meetbot.storage.action_store import CARRIED, DONE, ActionStore
from meetbot.storage.store import Task

log = logging.getLogger(__name__)

REMINDERS = "action-reminders"

STATUS: dict[str, Msg] = {"done": _("done"), "dropped": _("dropped")}


def action_line(action: FollowedAction) -> Msg:
    meeting = action.meeting
    owners = action.owner_names()
    return _("- A{number} {text} — {owners} ({meeting}, {date})",
             number=action.number, text=with_names(action.item.text, meeting.names),
             owners=", ".join(owners) if owners else _("nobody assigned"),
             meeting=meeting.title, date=action.item.at.date().isoformat())


def _how_to_close(prefix: str) -> Msg:
    return _("Close one with {done} or {drop}.", done=Code(f"{prefix}done N"),
             drop=Code(f"{prefix}drop N REASON"))


def open_actions(actions: Sequence[FollowedAction]) -> list[FollowedAction]:
    return [a for a in actions if a.status == OPEN]


class ActionFollowUp:
    """The persisters of the follow-up effects, for one app."""

    def __init__(self, app: MeetBotApp) -> None:
        self.app = app
        self.store = ActionStore(app.store.db)
        self.prefix = app.config.command_prefix

    async def noted(self, effect: ActionsNoted, _state: Any) -> None:
        await self.store.note(effect.meeting_id, effect.items, effect.region_id, effect.room_id,
                              effect.at)

    async def carried(self, effect: ActionsCarried, _state: Any) -> None:
        earlier = [a for a in open_actions(await followed_actions(self.app,
                                                                  region_id=effect.region_id))
                   if a.row.meeting_id != effect.meeting_id]
        if not earlier:
            return
        for action in earlier:
            await self.store.add_step(action.number, CARRIED, effect.at,
                                      meeting_id=effect.meeting_id, region_id=effect.region_id,
                                      room_id=effect.room_id)
        await self.app.enqueue_notice(Notice(
            room_id=effect.room_id,
            lines=(
                ngettext("**Open action carried over** from earlier meetings ({count}):",
                         "**Open actions carried over** from earlier meetings ({count}):",
                         len(earlier)),
                *(action_line(a) for a in earlier),
                _how_to_close(self.prefix),
            ),
            languages=effect.languages, kind="announce", key=effect.key,
        ))

    async def listed(self, effect: ActionsListed, _state: Any) -> None:
        if not effect.live:
            return
        if effect.where == DIRECT:
            found = [a for a in open_actions(await followed_actions(self.app))
                     if effect.user_id in a.owners]
            head = _("**Your open actions** ({count}):", count=len(found))
        elif effect.where == COORDINATOR:
            found = open_actions(await followed_actions(self.app))
            head = _("**Open actions**, all regions ({count}):", count=len(found))
        else:
            found = open_actions(await followed_actions(self.app, region_id=effect.region_id))
            head = _("**Open actions** of this region ({count}):", count=len(found))
        if not found:
            lines: tuple[Msg | str, ...] = (_("No open actions."),)
        else:
            lines = (head, *(action_line(a) for a in found), _how_to_close(self.prefix))
        await self._reply(effect, *lines)

    async def closed(self, effect: ActionClosed, _state: Any) -> None:
        found = await followed_actions(self.app, number=effect.number)
        if not found:
            await self._reply(effect, _("There is no action A{number}; see {actions}.",
                                        number=effect.number,
                                        actions=Code(f"{self.prefix}actions")))
            return
        action = found[0]
        if action.status != OPEN:
            await self._reply(effect, _("Action A{number} is already closed ({status}).",
                                        number=action.number, status=STATUS[action.status]))
            return
        if not self._may_close(effect, action):
            await self._reply(effect, _(
                "Only the owners of action A{number} or a facilitator can close it.",
                number=action.number))
            return
        meeting_id = effect.meeting_id if effect.where != DIRECT else None
        await self.store.add_step(
            action.number, effect.step, effect.at, meeting_id=meeting_id,
            region_id=effect.region_id if effect.where not in (DIRECT, COORDINATOR) else None,
            room_id=effect.room_id if effect.where != DIRECT else None,
            user_id=effect.user_id, reason=effect.reason or None, event_id=effect.event_id,
        )
        text = with_names(action.item.text, action.meeting.names)
        if effect.step == DONE:
            await self._reply(effect, _("Action A{number} is done: {text}.",
                                        number=action.number, text=text))
        else:
            await self._reply(effect, _("Action A{number} is dropped: {text}.",
                                        number=action.number, text=text))

    def _may_close(self, effect: ActionClosed, action: FollowedAction) -> bool:
        config = self.app.config
        coordinators = config.coordinator.users if config.coordinator else ()
        return (effect.user_id in action.owners or effect.facilitator
                or effect.user_id in config.facilitators or effect.user_id in coordinators)

    async def _reply(self, effect: ActionsListed | ActionClosed, *lines: Msg | str) -> None:
        if not effect.live:
            return
        await self.app.enqueue_notice(Notice(
            room_id=effect.room_id, lines=lines, languages=(effect.language,),
            reply_to=effect.event_id, kind="reply", key=f"reply:{effect.event_id}:actions",
            thread_root=effect.thread_root,
        ))

    async def reminders_due(self, effect: ActionRemindersDue, _state: Any) -> None:
        await self.app.store.add_task(REMINDERS, f"{REMINDERS}:{effect.timer}", {
            "region_id": effect.region_id, "timer": effect.timer,
        })


async def attach(app: MeetBotApp) -> None:
    """Called when the app opens: keep the follow-up effects with their events."""
    followup = ActionFollowUp(app)
    app.persisters[ActionsNoted] = followup.noted
    app.persisters[ActionsCarried] = followup.carried
    app.persisters[ActionsListed] = followup.listed
    app.persisters[ActionClosed] = followup.closed
    app.persisters[ActionRemindersDue] = followup.reminders_due


class ReminderTask:
    """Before a region's meeting: each owner of an open action gets a direct message."""

    def __init__(self, app: MeetBotApp, client: AsyncClient | None) -> None:
        self.app = app
        self.client = client

    async def __call__(self, task: Task) -> None:
        app = self.app
        region = app.config.region(str(task.payload.get("region_id") or ""))
        key = SlotKey.parse(str(task.payload.get("timer") or ""))
        by_owner: dict[str, list[FollowedAction]] = {}
        if region is not None and key is not None:
            async with app.store.db.between_writes():
                actions = open_actions(await followed_actions(app, region_id=region.id))
            for action in actions:
                for owner in action.owners:
                    if owner != app.bot_user_id:
                        by_owner.setdefault(owner, []).append(action)
        notices: list[Notice] = []
        for owner, mine in sorted(by_owner.items()):
            assert region is not None and key is not None
            room_id = await self._direct_room(owner)
            if room_id is None:
                continue
            title = key.title or f"{region.name} — meeting {key.number}"
            when = f"{local_time(key.starts, region.timezone, '%Y-%m-%d %H:%M')} " \
                   f"({region.timezone})"
            notices.append(Notice(
                room_id=room_id,
                lines=(
                    _("📋 **{title}** starts on {when}. Your open actions ({count}):",
                      title=title, when=when, count=len(mine)),
                    *(action_line(a) for a in mine),
                    _how_to_close(app.config.command_prefix),
                ),
                languages=(app.user_languages.get(owner) or region.languages[0],),
                kind="announce", key=f"{task.key}:{owner}",
            ))
        async with app.store.db.transaction():
            for notice in notices:
                await app.enqueue_notice(notice)
            await app.store.finish_task(task.id)

    async def _direct_room(self, user_id: str) -> str | None:
        """The direct chat with ``user_id`` the bot knows, else a new one (remembered, so
        ``!done`` and ``!drop`` typed there are answered as in any direct chat)."""
        for room_id, person in self.app.direct_rooms.items():
            if person == user_id:
                return room_id
        if self.client is None:
            return None
        response = await self.client.room_create(is_direct=True, invite=[user_id])
        if not isinstance(response, RoomCreateResponse):
            log.warning("could not open a direct chat for an action reminder: %s", response)
            return None
        await self.app.remember_direct_room(response.room_id, user_id)
        return response.room_id


def task_handlers(app: MeetBotApp, client: AsyncClient | None) -> dict[str, Any]:
    return {REMINDERS: ReminderTask(app, client)}

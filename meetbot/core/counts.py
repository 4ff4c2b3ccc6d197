"""Counted nouns ("1 decision", "2 decisions") in each reader's language.

A notice with several counts is one message whose parameters are these, so each count
agrees with its own noun: French says "0 décision" and "2 décisions", Spanish
"0 decisiones" and "1 decisión".
"""

from __future__ import annotations

from meetbot.i18n import Msg, ngettext


def decisions(count: int) -> Msg:
    return ngettext("{count} decision", "{count} decisions", count)


def actions(count: int) -> Msg:
    return ngettext("{count} action", "{count} actions", count)


def open_actions(count: int) -> Msg:
    return ngettext("{count} open action item", "{count} open action items", count)


def items(count: int) -> Msg:
    return ngettext("{count} item", "{count} items", count)


def messages(count: int) -> Msg:
    return ngettext("{count} message", "{count} messages", count)


def people(count: int) -> Msg:
    return ngettext("{count} person", "{count} people", count)


def meetings(count: int) -> Msg:
    return ngettext("{count} meeting", "{count} meetings", count)


def meetings_held(count: int) -> Msg:
    return ngettext("{count} meeting held", "{count} meetings held", count)


def regions(count: int) -> Msg:
    return ngettext("{count} region", "{count} regions", count)

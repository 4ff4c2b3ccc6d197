"""The report's own words, marked for the translation catalogue.

The coordinator's summary after each meeting is part of the minutes: its words are in
:mod:`meetbot.minutes.labels`.
"""

from __future__ import annotations

from meetbot.i18n import Msg, _, ngettext

# A plural label's count (0 here) is given where it is used: t("generated", count=..., ...).
REPORT_LABELS: dict[str, Msg] = {
    "report_title": _("Research programme report"),
    "generated": ngettext("Generated {at} (UTC) from {count} meeting held.",
                          "Generated {at} (UTC) from {count} meetings held.", 0),
    "progress": _("Progress"),
    "held": _("held"),
    "running": _("running"),
    "scheduled": _("scheduled"),
    "missed": _("missed"),
    "unscheduled": _("not scheduled"),
    "meeting_n": _("Meeting {n}"),
    "matrix": _("Prompts across regions"),
    "no_contributions": _("Nothing recorded on this prompt."),
    "messages_count": ngettext("{count} message", "{count} messages", 0),
    "endorsed": _("Most endorsed"),
    "endorsements": ngettext("{count} endorsement", "{count} endorsements", 0),
    "decisions": _("Decisions, all regions"),
    "no_decisions": _("No decisions yet."),
    "tally": _("votes"),
    "actions": _("Open action items, all regions"),
    "no_actions": _("No action items yet."),
    "unassigned": _("UNASSIGNED"),
    "participation": _("Participation"),
    "people": _("people"),
    "messages": _("messages"),
    "languages": _("languages"),
    "region": _("Region"),
    "chart_messages": _("Messages per region and meeting"),
    "chart_people": _("People per region and meeting"),
    "chart_languages": _("Messages by language, per region"),
    "original": _("original"),
    # The coordinator's room, after the report is rewritten; each count is a counted noun
    # from meetbot.core.counts ("1 meeting held", "2 meetings held").
    "report_posted": _("**Research report** updated: {meetings} in {regions}, {decisions}, "
                       "{actions}."),
}


def report_label(key: str, **params: object) -> Msg:
    return REPORT_LABELS[key].with_params(**params)

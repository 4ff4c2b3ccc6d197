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
    "written_count": ngettext("{count} written answer", "{count} written answers", 0),
    "written": _("written"),
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
    # The page's frame: contents, and what a reader needs to know before sharing it.
    "contents": _("Contents"),
    "meeting": _("Meeting"),
    "meetings": _("Meetings"),
    "prompt": _("Prompt"),
    "meetings_count": ngettext("{count} meeting", "{count} meetings", 0),
    "contributions_count": ngettext("{count} contribution", "{count} contributions", 0),
    "decisions_count": ngettext("{count} decision", "{count} decisions", 0),
    "actions_count": ngettext("{count} action item", "{count} action items", 0),
    "no_meeting": _("No meeting held."),
    "nothing_recorded": _("Nothing recorded."),
    "per_meeting": _("Meeting by meeting"),
    "names_by_matrix": _("People are named as they appear in Matrix (display names and Matrix "
                         "ids): keep this report within the coordination team. {command} "
                         "writes one to share."),
    "names_by_pseudonym": _("People are named by pseudonyms (P-…), as in the research "
                            "exports; Matrix ids in what they said are replaced too."),
    "language_unknown": _("language not recorded"),
    "chart_data_note": _("The numbers are in the tables above."),
    # Alt text of the charts: what they show, in words.
    "alt_messages": _("Bar charts, one per region, of the number of messages in each "
                      "meeting held."),
    "alt_people": _("Bar charts, one per region, of the number of people in each meeting "
                    "held."),
    "alt_languages": _("Stacked bars, one per region, of the messages written in each "
                       "language."),
    "alt_region_none": _("{region}: no meeting held."),
    "alt_region_messages": _("{region}: {meetings}; messages per meeting: from {low} to "
                             "{high}, {total} in all."),
    "alt_region_messages_one": _("{region}: 1 meeting; messages: {total}."),
    "alt_region_people": _("{region}: {meetings}; people per meeting: from {low} to {high}."),
    "alt_region_people_one": _("{region}: 1 meeting; people: {high}."),
    "alt_region_languages": _("{region}: {parts}."),
    # Idea families: what regions said alike, per prompt (meetbot.research.families).
    "families": _("Idea families across regions"),
    "families_intro": _("Ideas, decisions and most-endorsed messages that say much the same, "
                        "grouped per prompt across regions and languages from their "
                        "translations into {language} (TF-IDF of words and characters, "
                        "agglomerative clustering). Suggestions to check, not findings: each "
                        "family shows the contributions closest to its centre, in their own "
                        "words."),
    "family_n": _("Family {n}"),
    "families_count": ngettext("{count} family", "{count} families", 0),
    "unclustered_count": ngettext("{count} unclustered contribution",
                                  "{count} unclustered contributions", 0),
    "no_families": _("Nothing to group yet."),
    "translation": _("translation"),
    "regions_list": _("regions: {regions}"),
    # The coordinator's room, after the report is rewritten; each count is a counted noun
    # from meetbot.core.counts ("1 meeting held", "2 meetings held").
    "report_posted": _("**Research report** updated: {meetings} in {regions}, {decisions}, "
                       "{actions}."),
}


def report_label(key: str, **params: object) -> Msg:
    return REPORT_LABELS[key].with_params(**params)

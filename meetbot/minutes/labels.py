"""The minutes' own words (headings, labels), marked for the translation catalogue.

Templates refer to them by key, so a template never holds an untranslatable string.
"""

from __future__ import annotations

from meetbot.core.commands.items import KIND_LABELS
from meetbot.i18n import Msg, _, ngettext

LABELS: dict[str, Msg] = {
    "minutes_of": _("Minutes: {title}"),
    "region": _("Region"),
    "started": _("Started"),
    "ended": _("Ended"),
    "not_ended": _("not ended"),
    "duration": _("Duration"),
    "chairs": _("Chaired by"),
    "started_by": _("Started by"),
    "full_log_link": _("Full log"),
    "meeting_id": _("Meeting id"),
    "summary": _("Summary"),
    "no_section": _("Before the first prompt"),
    "no_items": _("No items were recorded."),
    "no_section_items": _("Nothing recorded on this prompt."),
    "nothing_recorded": _("Nothing recorded."),
    "decisions": _("Decisions"),
    "no_decisions": _("No decisions were recorded."),
    "actions_by_person": _("Action items, by person"),
    "no_actions": _("No action items were recorded."),
    "unassigned": _("UNASSIGNED"),
    "people_present": _("People present (lines said)"),
    "marked_present": _("marked present"),
    "chair": _("chair"),
    "log": _("Full log"),
    "edited": _("edited"),
    "original": _("original"),
    "translation": _("translation"),
    "view_in_matrix": _("open in Matrix"),
    "log_line": _("log"),
    "written_answers": _("Written answers"),
    "written_summary": ngettext("✍ {count} answer was written before or after the meeting.",
                                "✍ {count} answers were written before or after the meeting.",
                                0),
    "written_intro": _("Answers written before or after the meeting, in the prompt's "
                       "thread or by direct message."),
    "generated_by": _("Minutes written by meetbot from the meeting's record."),
    "prompt_place": _("Prompt {number}/{total}"),
    # A label before its value: French puts a space before the colon.
    "field": _("{name}:"),
    "original_in": _("original ({language}):"),
    # Chat summaries.
    # Each count is a counted noun from meetbot.core.counts ("1 decision", "2 decisions").
    "room_summary_head": _("**Minutes of {title}**: {items}, {decisions}, {actions}, {people}."),
    "coordinator_head": _("**{region}** — {title}"),
    "coordinator_when": _("{when} ({duration}), chaired by {chairs}."),
    "still_open": _("{start}, not ended"),
    "coordinator_people": _("{people}: {names}."),
    # Each {original} is "" or original_beside: the item as typed, beside its translation.
    "decision_line": _("- \\#{n} {text}{original}"),
    "action_line": _("- \\#{n} {text}{original} — {owners}"),
    "person_actions": _("- {name}:"),
    "person_action_line": _("    - \\#{n} {text}{original}"),
    "decisions_heading": _("**Decisions**"),
    "actions_heading": _("**Action items, by person**"),
    # The coordinator's summary: the meeting's place in the series, votes, per prompt.
    "series": _("Meeting {n} of {total}."),
    "languages_used": _("Languages used: {languages}."),
    "voted": _("- Voted: {text} — {tally}{outcome}"),
    "prompt_heading": _("**Prompt {number}/{total}** ({id}): {text}"),
    "prompt_id_heading": _("**Prompt {id}:** {text}"),
    "topic_heading": _("**Topic #{n}:** {text}"),
    "free_heading": _("**Before the first prompt**"),
    "contribution": _("- {kind} #{n}: {text}{original} — {author}"),
    "endorsed_line": _("- ★ {count}: {text}{original} — {author}"),
    "original_beside": _(" (original, {language}: {text})"),
}

KIND_NAMES = {kind.value: msg for kind, msg in KIND_LABELS.items()}


def label(key: str, **params: object) -> Msg:
    """The label ``key`` with its parameters filled in later, per reader."""
    base = LABELS.get(key) or KIND_NAMES[key]
    return base.with_params(**params)

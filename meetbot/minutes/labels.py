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
    "corrected_translation": _("translation corrected by a person"),
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
    # Consent rounds: each proposal, its outcome and the responses, reasons translated.
    "votes": _("Votes on proposals"),
    "proposal_round": _("Proposal #{n}"),
    "result_adopted": _("adopted"),
    "result_rejected": _("rejected"),
    "result_blocked": _("blocked"),
    "result_open": _("not closed"),
    "edited_by_author": _("edited by its author"),
    "voted_before_edit": _("voted before the edit"),
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

# Actions followed up across meetings (the minutes' and the report's "action_history").
ACTION_HISTORY_LABELS: dict[str, Msg] = {
    "action_history": _("Actions followed up"),
    "action_head": _("A{number}: {text} — {owners} ({status})"),
    "action_status_open": _("open"),
    "action_status_done": _("done"),
    "action_status_dropped": _("dropped"),
    "action_step_opened": _("{date}: opened in {meeting} by {by}"),
    "action_step_carried": _("{date}: carried over into {meeting}"),
    "action_step_done": _("{date}: done, marked by {by} in {meeting}"),
    "action_step_done_direct": _("{date}: done, marked by {by}, by direct message"),
    "action_step_dropped": _("{date}: dropped by {by} in {meeting}"),
    "action_step_dropped_direct": _("{date}: dropped by {by}, by direct message"),
}
LABELS.update(ACTION_HISTORY_LABELS)

KIND_NAMES = {kind.value: msg for kind, msg in KIND_LABELS.items()}


def label(key: str, **params: object) -> Msg:
    """The label ``key`` with its parameters filled in later, per reader."""
    base = LABELS.get(key) or KIND_NAMES[key]
    return base.with_params(**params)

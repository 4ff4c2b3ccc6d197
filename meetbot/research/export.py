"""Research exports: one row per message, pseudonymous, as CSV or JSON lines.

Matrix ids and display names stay out unless ``privacy.export_matrix_ids`` is set; ids typed
into messages become pseudonyms too. The pseudonym mapping is never written beside them.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from meetbot.minutes.by_prompt import prompt_of_lines
from meetbot.research.dataset import HeldMeeting
from meetbot.research.families import (
    MeetingContributions,
    families_of,
    gathered,
    meeting_contributions,
)
from meetbot.research.pseudonyms import Pseudonyms, pseudonymous_document
from meetbot.research.qdpx import QdpxProject

FORMATS = ("csv", "jsonl", "qdpx")
BASE_LANGUAGES = ("en", "fr", "es")
COLUMNS = ("speaker", "region", "meeting_number", "meeting_id", "line", "at_utc", "prompt_id",
           "item_kind", "language", "text")
# After the translations, so the columns above keep their places.
SHAPE_COLUMNS = ("msgtype", "reply_to_line", "attachment_kind", "attachment_name",
                 "attachment_mimetype", "attachment_size", "attachment_url", "mode")
# A shared file's facts, flat for the CSV (the JSON lines keep them as one object).
ATTACHMENT_FIELDS = ("kind", "name", "mimetype", "size", "url")
IDENTITY_COLUMNS = ("matrix_id", "display_name")


def message_rows(
    meetings: Sequence[HeldMeeting], pseudonyms: Pseudonyms, *, with_ids: bool = False
) -> Iterator[dict[str, Any]]:
    """What people said, meeting by meeting: tagged items carry their kind, the bot's
    commands (``!next``) and removed messages are left out."""
    for held in meetings:
        doc = held.doc
        prompts = prompt_of_lines(doc)
        items = {item["event_id"]: item for item in doc.get("items", [])}
        for line in doc.get("log", []):
            item = items.get(line["event_id"])
            if line["is_command"] and (item is None or item["kind"] in ("prompt", "topic")):
                continue
            source = item if item is not None else line
            text = str(item["text"] if item is not None else line["body"])
            row: dict[str, Any] = {
                "speaker": pseudonyms.of(line["sender"]),
                "region": doc["region"],
                "meeting_number": held.number,
                "meeting_id": doc["meeting_id"],
                "line": line["line"],
                "at_utc": line["at_utc"],
                "prompt_id": item["prompt_id"] if item is not None else prompts.get(line["line"]),
                "item_kind": item["kind"] if item is not None else None,
                "language": source.get("language"),
                "text": pseudonyms.in_text(text),
                "translations": {
                    lang: pseudonyms.in_text(t)
                    for lang, t in (source.get("translations") or {}).items()
                },
                "msgtype": line.get("msgtype") or "m.text",
                "reply_to_line": (line.get("reply_to") or {}).get("line"),
                "attachment": _attachment(line.get("attachment"), pseudonyms),
                "mode": "live",
            }
            if with_ids:
                row["matrix_id"] = line["sender"]
                row["display_name"] = line["display_name"]
            yield row
        yield from written_rows(held, pseudonyms, with_ids=with_ids)


def written_rows(
    held: HeldMeeting, pseudonyms: Pseudonyms, *, with_ids: bool = False
) -> Iterator[dict[str, Any]]:
    """The answers written around the meeting (``mode: written``): no log line."""
    doc = held.doc
    for group in doc.get("written") or []:
        for answer in group["answers"]:
            row: dict[str, Any] = {
                "speaker": pseudonyms.of(answer["sender"]),
                "region": doc["region"],
                "meeting_number": held.number,
                "meeting_id": doc["meeting_id"],
                "line": None,
                "at_utc": answer["at_utc"],
                "prompt_id": group["prompt_id"],
                "item_kind": None,
                "language": answer.get("language"),
                "text": pseudonyms.in_text(str(answer["body"])),
                "translations": {lang: pseudonyms.in_text(t)
                                 for lang, t in (answer.get("translations") or {}).items()},
                "msgtype": "m.text",
                "reply_to_line": None,
                "attachment": None,
                "mode": "written",
            }
            if with_ids:
                row["matrix_id"] = answer["sender"]
                row["display_name"] = answer["display_name"]
            yield row


def _attachment(attachment: Any, pseudonyms: Pseudonyms) -> dict[str, Any] | None:
    """A shared file as the exports carry it: never its bytes, its name pseudonymous like any
    text (a file name can hold a Matrix id)."""
    if not isinstance(attachment, dict):
        return None
    return {
        "kind": attachment.get("kind"),
        "name": pseudonyms.in_text(str(attachment.get("name") or "")),
        "mimetype": attachment.get("mimetype"),
        "size": attachment.get("size"),
        "url": attachment.get("url") or None,
    }


def to_jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def to_csv(rows: Sequence[dict[str, Any]], *, with_ids: bool = False) -> str:
    out = io.StringIO()
    _write_csv(out, rows, csv_languages(rows), with_ids=with_ids)
    return out.getvalue()


def csv_languages(rows: Iterable[dict[str, Any]], languages: list[str] | None = None,
                  ) -> list[str]:
    """The CSV's ``text_<language>`` columns: the base languages, then the others in the
    order they first come (``languages``: those found so far, extended in place)."""
    languages = list(BASE_LANGUAGES) if languages is None else languages
    for row in rows:
        for lang in row["translations"]:
            if lang not in languages:
                languages.append(lang)
    return languages


def _write_csv(out: TextIO, rows: Iterable[dict[str, Any]], languages: Sequence[str],
               *, with_ids: bool) -> None:
    header = [*COLUMNS, *(f"text_{lang}" for lang in languages), *SHAPE_COLUMNS]
    if with_ids:
        header += IDENTITY_COLUMNS
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        flat = {**row, **{f"text_{lang}": t for lang, t in row["translations"].items()}}
        attachment = row.get("attachment") or {}
        flat.update({f"attachment_{key}": attachment.get(key) for key in ATTACHMENT_FIELDS})
        writer.writerow(flat)


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")


class Exports:
    """The exports written one meeting at a time, for a record of any size: each meeting's
    rows go to the JSON lines as they come (and to a temporary file of them for the CSV,
    whose header waits for every language), its transcript and coded selections to the
    REFI-QDA project, and only what its idea families need of it (its contributions, a few
    per prompt) is kept. The files are those of :func:`to_csv`, :func:`to_jsonl` and
    :func:`meetbot.research.qdpx.build_qdpx` over the whole record.

    ``language``: the coordinator's, in which the qdpx's suggested idea families are grouped
    (from the translations into it). Use as a context manager; :meth:`finish` writes."""

    def __init__(self, out_dir: Path, formats: Iterable[str], pseudonyms: Pseudonyms, *,
                 with_ids: bool = False, project_name: str = "meetbot research export",
                 language: str = "en") -> None:
        self.formats = list(dict.fromkeys(formats))
        for fmt in self.formats:
            check_format(fmt)
        self.out_dir, self.pseudonyms, self.with_ids = out_dir, pseudonyms, with_ids
        self.language = language
        out_dir.mkdir(parents=True, exist_ok=True)
        self.jsonl: TextIO | None = None
        if "jsonl" in self.formats:
            self.jsonl = self._tmp("jsonl").open("w", encoding="utf-8")
        self.spool: TextIO | None = None  # the CSV's rows, as JSON lines
        if "csv" in self.formats:
            self.spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self.languages = list(BASE_LANGUAGES)
        self.project = QdpxProject(project_name) if "qdpx" in self.formats else None
        self.contributions: list[MeetingContributions] = []

    def __enter__(self) -> Exports:
        return self

    def __exit__(self, *_exc: object) -> None:
        for stream in (self.jsonl, self.spool):
            if stream is not None:
                stream.close()
        if self.project is not None:
            self.project.spool.close()
        for fmt in self.formats:
            self._tmp(fmt).unlink(missing_ok=True)

    def add(self, held: HeldMeeting) -> None:
        rows = list(message_rows([held], self.pseudonyms, with_ids=self.with_ids))
        lines = to_jsonl(rows) if self.jsonl or self.spool else ""
        if self.jsonl is not None:
            self.jsonl.write(lines)
        if self.spool is not None:
            self.spool.write(lines)
            csv_languages(rows, self.languages)
        if self.project is not None:
            part = meeting_contributions(
                replace(held, doc=pseudonymous_document(held.doc, self.pseudonyms)))
            self.contributions.append(part)
            self.project.add(held, rows, {c.line for _prompt, c in part[1]})

    def finish(self) -> list[Path]:
        """Write every format (each file replaced whole, once complete); their paths."""
        written = []
        for fmt in self.formats:
            tmp = self._tmp(fmt)
            if fmt == "csv" and self.spool is not None:
                self.spool.seek(0)
                with tmp.open("w", encoding="utf-8", newline="") as out:
                    _write_csv(out, (json.loads(line) for line in self.spool), self.languages,
                               with_ids=self.with_ids)
            elif fmt == "jsonl" and self.jsonl is not None:
                self.jsonl.close()
            elif fmt == "qdpx" and self.project is not None:
                families = families_of(gathered(self.contributions), [], self.language)
                self.project.write(tmp, families)
            path = tmp.with_name(f"meetbot-export.{fmt}")
            tmp.replace(path)
            written.append(path)
        return written

    def _tmp(self, fmt: str) -> Path:
        return self.out_dir / f"meetbot-export.{fmt}.tmp"


def write_export(
    out_dir: Path, fmt: str, meetings: Sequence[HeldMeeting], pseudonyms: Pseudonyms,
    *, with_ids: bool = False, project_name: str = "meetbot research export",
    language: str = "en",
) -> Path:
    """One format of the exports of ``meetings`` (see :class:`Exports`)."""
    with Exports(out_dir, [fmt], pseudonyms, with_ids=with_ids, project_name=project_name,
                 language=language) as exports:
        for held in meetings:
            exports.add(held)
        return exports.finish()[0]


def write_mapping(path: Path, pseudonyms: Pseudonyms) -> Path:
    """The pseudonym -> Matrix id key, for the coordinator's safe keeping (asked for apart)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({p: u for u, p in sorted(pseudonyms.seen.items())}, indent=2))
    path.chmod(0o600)
    return path

"""Research exports: one row per message, pseudonymous, as CSV or JSON lines.

Matrix ids and display names stay out unless ``privacy.export_matrix_ids`` is set; ids typed
into messages become pseudonyms too. The pseudonym mapping is never written beside them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from meetbot.minutes.by_prompt import prompt_of_lines
from meetbot.research.dataset import HeldMeeting
from meetbot.research.pseudonyms import Pseudonyms

FORMATS = ("csv", "jsonl", "qdpx")
BASE_LANGUAGES = ("en", "fr", "es")
COLUMNS = ("speaker", "region", "meeting_number", "meeting_id", "line", "at_utc", "prompt_id",
           "item_kind", "language", "text")
# After the translations, so the columns above keep their places.
SHAPE_COLUMNS = ("msgtype", "reply_to_line", "attachment_kind", "attachment_name",
                 "attachment_mimetype", "attachment_size", "attachment_url")
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
                # Where each translation comes from: 'machine', 'human' (a person's !fix)
                # or 'glossary' (fixed terms).
                "translation_source": {
                    lang: (source.get("translation_sources") or {}).get(lang, "machine")
                    for lang in (source.get("translations") or {})
                },
                "msgtype": line.get("msgtype") or "m.text",
                "reply_to_line": (line.get("reply_to") or {}).get("line"),
                "attachment": _attachment(line.get("attachment"), pseudonyms),
            }
            if with_ids:
                row["matrix_id"] = line["sender"]
                row["display_name"] = line["display_name"]
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


def to_jsonl(rows: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def to_csv(rows: Sequence[dict[str, Any]], *, with_ids: bool = False) -> str:
    languages = list(BASE_LANGUAGES)
    for row in rows:
        for lang in row["translations"]:
            if lang not in languages:
                languages.append(lang)
    header = [*COLUMNS, *(f"text_{lang}" for lang in languages), *SHAPE_COLUMNS]
    if with_ids:
        header += IDENTITY_COLUMNS
    # Last, so every column above keeps its place: machine | human | glossary.
    header += [f"translation_source_{lang}" for lang in languages]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        flat = {**row, **{f"text_{lang}": t for lang, t in row["translations"].items()}}
        flat.update({f"translation_source_{lang}": source
                     for lang, source in row.get("translation_source", {}).items()})
        attachment = row.get("attachment") or {}
        flat.update({f"attachment_{key}": attachment.get(key) for key in ATTACHMENT_FIELDS})
        writer.writerow(flat)
    return out.getvalue()


def write_export(
    out_dir: Path, fmt: str, meetings: Sequence[HeldMeeting], pseudonyms: Pseudonyms,
    *, with_ids: bool = False, project_name: str = "meetbot research export",
    language: str = "en",
) -> Path:
    """``language``: the coordinator's, in which the qdpx's suggested idea families are
    grouped (from the translations into it)."""
    from meetbot.research.qdpx import build_qdpx, qdpx_families

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = list(message_rows(meetings, pseudonyms, with_ids=with_ids))
    path = out_dir / f"meetbot-export.{fmt}"
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "csv":
        tmp.write_text(to_csv(rows, with_ids=with_ids), encoding="utf-8", newline="")
    elif fmt == "jsonl":
        tmp.write_text(to_jsonl(rows), encoding="utf-8")
    elif fmt == "qdpx":
        tmp.write_bytes(build_qdpx(rows, meetings, project_name,
                                   families=qdpx_families(meetings, pseudonyms, language)))
    else:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    tmp.replace(path)
    return path


def write_mapping(path: Path, pseudonyms: Pseudonyms) -> Path:
    """The pseudonym -> Matrix id key, for the coordinator's safe keeping (asked for apart)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({p: u for u, p in sorted(pseudonyms.seen.items())}, indent=2))
    path.chmod(0o600)
    return path

"""A REFI-QDA project (``.qdpx``): participants as cases, one text source per meeting.

The archive holds ``project.qde`` (QDA-XML, namespace ``urn:QDA-XML:project:1.0``) and the
transcripts under ``sources/``; each message is a coded selection of its transcript (the
prompt it answered, its kind when tagged, and the idea family meetbot suggests for it, under
the code "Idea families"), so QualCoder, NVivo or ATLAS.ti open the
programme ready to compare prompts across regions.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any
from xml.etree import ElementTree as ET

from meetbot.research.dataset import HeldMeeting
from meetbot.research.families import METHOD, idea_families
from meetbot.research.pseudonyms import Pseudonyms, pseudonymous_document

NS = "urn:QDA-XML:project:1.0"
_GUIDS = uuid.UUID("9d7f6c1e-2b54-4f0a-8e3b-6a1c5d2e7f90")


def guid(*parts: object) -> str:
    """Stable GUIDs: exporting the same record twice gives the same project."""
    return str(uuid.uuid5(_GUIDS, "/".join(str(p) for p in parts))).upper()


def _el(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, f"{{{NS}}}{tag}", attrs)


Span = tuple[int, int, dict[str, Any]]


def transcript(held: HeldMeeting, rows: Sequence[dict[str, Any]]) -> tuple[str, list[Span]]:
    """The meeting as plain text, one line per message, and where each message sits."""
    doc = held.doc
    header = f"{doc['region_name']} — meeting {held.number} — {doc['started_at']}\n\n"
    text = header
    spans = []
    for row in rows:
        prefix = f"[{row['at_utc'][11:16]} UTC] {row['speaker']}: "
        kind = f"({row['item_kind']}) " if row["item_kind"] else ""
        if row.get("mode") == "written":
            kind = "(written) " + kind
        start = len(text) + len(prefix)
        text += prefix + kind + _shared(row) + row["text"]
        spans.append((start, len(text), row))
        text += "\n"
    return text, spans


def _shared(row: dict[str, Any]) -> str:
    """A shared file, as the transcript names it: ``[file: notes.pdf (application/pdf)] ``."""
    attachment = row.get("attachment")
    if not attachment:
        return ""
    kind = str(attachment.get("kind") or "file").removeprefix("m.")
    mimetype = f" ({attachment['mimetype']})" if attachment.get("mimetype") else ""
    return f"[{kind}: {attachment.get('name') or ''}{mimetype}] "


def qdpx_families(meetings: Sequence[HeldMeeting], pseudonyms: Pseudonyms,
                  language: str) -> list[dict[str, Any]]:
    """The idea families of the pseudonymous record (their names are words people said)."""
    return idea_families([replace(h, doc=pseudonymous_document(h.doc, pseudonyms))
                          for h in meetings], [], language)


def _family_codes(parent: ET.Element, families: Sequence[Mapping[str, Any]],
                  ) -> dict[tuple[str, int], list[tuple[str, ...]]]:
    """A code per family under "Idea families"; which messages each one codes."""
    root = _el(parent, "Code", guid=guid("code", "families"), name="Idea families",
               isCodable="false")
    _el(root, "Description").text = (
        "Suggested by meetbot: ideas, decisions and most-endorsed messages grouped across "
        f"regions by their translations ({METHOD['vectors']}; {METHOD['clustering']}, "
        f"threshold {METHOD['distance_threshold']}). Check them before use.")
    coded: dict[tuple[str, int], list[tuple[str, ...]]] = {}
    for prompt in families:
        for n, family in enumerate(prompt["families"], 1):
            key = ("family", str(prompt["prompt_id"]), str(n))
            label = ", ".join(family.get("terms") or [])
            code = _el(root, "Code", guid=guid("code", *key), isCodable="true",
                       name=f"{prompt['prompt_id']} · family {n}" + (f": {label}" if label else ""))
            _el(code, "Description").text = (
                f"{family['size']} contributions; regions: {', '.join(family['regions'])}")
            for member in family["members"]:
                coded.setdefault((member["meeting_id"], int(member["line"])), []).append(key)
    return coded


def build_qdpx(rows: Sequence[dict[str, Any]], meetings: Sequence[HeldMeeting], name: str,
               families: Sequence[Mapping[str, Any]] = ()) -> bytes:
    ET.register_namespace("", NS)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    user = guid("user", "meetbot")
    project = ET.Element(f"{{{NS}}}Project", {
        "name": name, "origin": "meetbot", "creatingUserGUID": user, "creationDateTime": now,
    })
    _el(_el(project, "Users"), "User", guid=user, name="meetbot")

    kinds = sorted({r["item_kind"] for r in rows if r["item_kind"]})
    prompts = sorted({r["prompt_id"] for r in rows if r["prompt_id"]})
    codes = _el(_el(project, "CodeBook"), "Codes")
    prompt_root = _el(codes, "Code", guid=guid("code", "prompts"), name="prompt", isCodable="false")
    for pid in prompts:
        _el(prompt_root, "Code", guid=guid("code", "prompt", pid), name=pid, isCodable="true")
    kind_root = _el(codes, "Code", guid=guid("code", "kinds"), name="item kind", isCodable="false")
    for kind in kinds:
        _el(kind_root, "Code", guid=guid("code", "kind", kind), name=kind, isCodable="true")
    in_family = _family_codes(codes, families) if families else {}

    variables = _el(project, "Variables")
    for var in ("region", "language"):
        _el(variables, "Variable", guid=guid("variable", var), name=var, typeOfVariable="Text")

    by_meeting: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_meeting.setdefault(row["meeting_id"], []).append(row)
    speakers: dict[str, dict[str, Any]] = {}
    for row in rows:
        who = speakers.setdefault(row["speaker"], {"regions": Counter(), "languages": Counter(),
                                                   "sources": []})
        who["regions"][row["region"]] += 1
        who["languages"][row["language"] or "unknown"] += 1
        if row["meeting_id"] not in who["sources"]:
            who["sources"].append(row["meeting_id"])
    if speakers:
        cases = _el(project, "Cases")
        for speaker, facts in sorted(speakers.items()):
            case = _el(cases, "Case", guid=guid("case", speaker), name=speaker)
            for var, counter in (("region", facts["regions"]), ("language", facts["languages"])):
                value = _el(case, "VariableValue")
                _el(value, "VariableRef", targetGUID=guid("variable", var))
                _el(value, "TextValue").text = counter.most_common(1)[0][0]
            for meeting_id in facts["sources"]:
                _el(case, "SourceRef", targetGUID=guid("source", meeting_id))

    files: dict[str, str] = {}
    if meetings:
        sources = _el(project, "Sources")
        for held in meetings:
            meeting_id = held.doc["meeting_id"]
            text, spans = transcript(held, by_meeting.get(meeting_id, []))
            source_guid = guid("source", meeting_id)
            files[f"sources/{source_guid}.txt"] = text
            source = _el(sources, "TextSource", guid=source_guid,
                         name=f"{held.doc['region']}-meeting-{held.number}-{meeting_id[:8]}",
                         plainTextPath=f"internal://{source_guid}.txt",
                         creatingUser=user, creationDateTime=now)
            for index, (start, end, row) in enumerate(spans):
                # A written answer has no log line: its place in the transcript names it.
                line = row["line"] if row["line"] is not None else f"written-{index}"
                selection = _el(source, "PlainTextSelection",
                                guid=guid("selection", meeting_id, line),
                                name=f"{row['speaker']} #{line}",
                                startPosition=str(start), endPosition=str(end),
                                creatingUser=user, creationDateTime=now)
                for code in ([("prompt", row["prompt_id"])] if row["prompt_id"] else []) + (
                    [("kind", row["item_kind"])] if row["item_kind"] else []
                ) + (in_family.get((meeting_id, int(line)), []) if isinstance(line, int) else []):
                    coding = _el(selection, "Coding", guid=guid("coding", meeting_id, line,
                                                                *code),
                                 creatingUser=user, creationDateTime=now)
                    _el(coding, "CodeRef", targetGUID=guid("code", *code))
    xml = ET.tostring(project, encoding="utf-8", xml_declaration=True)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("project.qde", xml)
        for path, text in files.items():
            zf.writestr(path, text.encode("utf-8"))
    return archive.getvalue()

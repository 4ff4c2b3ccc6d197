"""A REFI-QDA project (``.qdpx``): participants as cases, one text source per meeting.

The archive holds ``project.qde`` (QDA-XML, namespace ``urn:QDA-XML:project:1.0``) and the
transcripts under ``sources/``; each message is a coded selection of its transcript (the
prompt it answered, and its kind when tagged), so QualCoder, NVivo or ATLAS.ti open the
programme ready to compare prompts across regions.
"""

from __future__ import annotations

import io
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO
from xml.etree import ElementTree as ET

from meetbot.research.dataset import HeldMeeting

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


def build_qdpx(rows: Sequence[dict[str, Any]], meetings: Sequence[HeldMeeting], name: str) -> bytes:
    """The whole project at once, from every meeting and its rows."""
    by_meeting: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_meeting.setdefault(row["meeting_id"], []).append(row)
    project = QdpxProject(name)
    for row in rows:
        project.count(row)
    for held in meetings:
        project.add_source(held, by_meeting.get(held.doc["meeting_id"], []))
    return project.finish()


_PLACEHOLDER = "meetbot-sources-follow"


class QdpxProject:
    """A REFI-QDA project built one meeting at a time, for a record of any size.

    Each meeting's source (its transcript's codings) is written out as XML text when the
    meeting is added, and its document can go; what the project needs of all the meetings
    together (the people as cases, the codes) is small. :meth:`finish` gives exactly the
    bytes one ElementTree of the whole project would (``build_qdpx`` is this, all at once).
    """

    def __init__(self, name: str) -> None:
        ET.register_namespace("", NS)
        self.name = name
        self.now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.user = guid("user", "meetbot")
        self.kinds: set[str] = set()
        self.prompts: set[str] = set()
        self.speakers: dict[str, dict[str, Any]] = {}
        self.sources: list[bytes] = []  # each meeting's <TextSource> element, serialised
        self.files: dict[str, str] = {}

    def add(self, held: HeldMeeting, rows: Sequence[dict[str, Any]]) -> None:
        """One meeting and its rows (``export.message_rows`` of it), in the record's order."""
        for row in rows:
            self.count(row)
        self.add_source(held, rows)

    def count(self, row: dict[str, Any]) -> None:
        """What the project keeps of every row: its codes, and its speaker as a case."""
        if row["item_kind"]:
            self.kinds.add(row["item_kind"])
        if row["prompt_id"]:
            self.prompts.add(row["prompt_id"])
        who = self.speakers.setdefault(row["speaker"], {
            "regions": Counter(), "languages": Counter(), "sources": []})
        who["regions"][row["region"]] += 1
        who["languages"][row["language"] or "unknown"] += 1
        if row["meeting_id"] not in who["sources"]:
            who["sources"].append(row["meeting_id"])

    def add_source(self, held: HeldMeeting, rows: Sequence[dict[str, Any]]) -> None:
        """The meeting's transcript and its coded selections, serialised at once."""
        meeting_id = held.doc["meeting_id"]
        text, spans = transcript(held, rows)
        source_guid = guid("source", meeting_id)
        self.files[f"sources/{source_guid}.txt"] = text
        source = ET.Element(f"{{{NS}}}TextSource", {
            "guid": source_guid,
            "name": f"{held.doc['region']}-meeting-{held.number}-{meeting_id[:8]}",
            "plainTextPath": f"internal://{source_guid}.txt",
            "creatingUser": self.user, "creationDateTime": self.now,
        })
        for start, end, row in spans:
            selection = _el(source, "PlainTextSelection",
                            guid=guid("selection", meeting_id, row["line"]),
                            name=f"{row['speaker']} #{row['line']}",
                            startPosition=str(start), endPosition=str(end),
                            creatingUser=self.user, creationDateTime=self.now)
            for code in ([("prompt", row["prompt_id"])] if row["prompt_id"] else []) + (
                [("kind", row["item_kind"])] if row["item_kind"] else []
            ):
                coding = _el(selection, "Coding", guid=guid("coding", meeting_id, row["line"],
                                                            *code),
                             creatingUser=self.user, creationDateTime=self.now)
                _el(coding, "CodeRef", targetGUID=guid("code", *code))
        self.sources.append(_without_namespace(ET.tostring(source, encoding="unicode"))
                            .encode("utf-8", "xmlcharrefreplace"))

    def finish(self) -> bytes:
        """The ``.qdpx`` archive: ``project.qde``, then each meeting's transcript."""
        archive = io.BytesIO()
        self.write(archive)
        return archive.getvalue()

    def write(self, out: str | Path | BinaryIO) -> None:
        """Write the archive to a file (or a binary stream), the sources straight from their
        pieces: the project is never held whole in memory."""
        head, tail = self._skeleton()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            # As ZipFile.writestr would file it (same time stamp, mode and compression).
            info = zipfile.ZipInfo("project.qde", date_time=time.localtime(time.time())[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            with zf.open(info, "w") as qde:
                qde.write(head)
                for source in self.sources:
                    qde.write(source)
                qde.write(tail)
            for path, text in self.files.items():
                zf.writestr(path, text.encode("utf-8"))

    def _skeleton(self) -> tuple[bytes, bytes]:
        """``project.qde`` before and after the sources."""
        project = ET.Element(f"{{{NS}}}Project", {
            "name": self.name, "origin": "meetbot", "creatingUserGUID": self.user,
            "creationDateTime": self.now,
        })
        _el(_el(project, "Users"), "User", guid=self.user, name="meetbot")
        codes = _el(_el(project, "CodeBook"), "Codes")
        prompt_root = _el(codes, "Code", guid=guid("code", "prompts"), name="prompt",
                          isCodable="false")
        for pid in sorted(self.prompts):
            _el(prompt_root, "Code", guid=guid("code", "prompt", pid), name=pid,
                isCodable="true")
        kind_root = _el(codes, "Code", guid=guid("code", "kinds"), name="item kind",
                        isCodable="false")
        for kind in sorted(self.kinds):
            _el(kind_root, "Code", guid=guid("code", "kind", kind), name=kind, isCodable="true")
        variables = _el(project, "Variables")
        for var in ("region", "language"):
            _el(variables, "Variable", guid=guid("variable", var), name=var,
                typeOfVariable="Text")
        if self.speakers:
            cases = _el(project, "Cases")
            for speaker, facts in sorted(self.speakers.items()):
                case = _el(cases, "Case", guid=guid("case", speaker), name=speaker)
                for var, counter in (("region", facts["regions"]),
                                     ("language", facts["languages"])):
                    value = _el(case, "VariableValue")
                    _el(value, "VariableRef", targetGUID=guid("variable", var))
                    _el(value, "TextValue").text = counter.most_common(1)[0][0]
                for meeting_id in facts["sources"]:
                    _el(case, "SourceRef", targetGUID=guid("source", meeting_id))
        if not self.sources:
            return ET.tostring(project, encoding="utf-8", xml_declaration=True), b""
        _el(_el(project, "Sources"), "TextSource", guid=_PLACEHOLDER)
        xml = ET.tostring(project, encoding="utf-8", xml_declaration=True)
        head, tail = xml.split(f'<TextSource guid="{_PLACEHOLDER}" />'.encode(), 1)
        return head, tail


def _without_namespace(xml: str) -> str:
    """A serialised child element as it reads inside the project, which declares the default
    namespace once at its root."""
    return xml.replace(f' xmlns="{NS}"', "", 1)

"""A REFI-QDA project (``.qdpx``): participants as cases, one text source per meeting.

The archive holds ``project.qde`` (QDA-XML, namespace ``urn:QDA-XML:project:1.0``) and the
transcripts under ``sources/``; each message is a coded selection of its transcript (the
prompt it answered, its kind when tagged, and the idea family meetbot suggests for it, under
the code "Idea families"), so QualCoder, NVivo or ATLAS.ti open the
programme ready to compare prompts across regions.
"""

from __future__ import annotations

import io
import tempfile
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, BinaryIO
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
    """The whole project at once, from every meeting and its rows."""
    by_meeting: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_meeting.setdefault(row["meeting_id"], []).append(row)
    members = {(str(m["meeting_id"]), int(m["line"]))
               for prompt in families for family in prompt["families"]
               for m in family["members"]}
    with QdpxProject(name) as project:
        for held in meetings:
            meeting_id = held.doc["meeting_id"]
            project.add(held, by_meeting.get(meeting_id, []),
                        {line for mid, line in members if mid == meeting_id})
        archive = io.BytesIO()
        project.write(archive, families)
    return archive.getvalue()


_SLOT = "meetbot-family-codings-follow"
_SLOT_XML = f'<Coding guid="{_SLOT}" />'
_SOURCES_XML = f'<TextSource guid="{_SLOT}" />'.encode()


class QdpxProject:
    """A REFI-QDA project built one meeting at a time, for a record of any size.

    Each meeting's source (its transcript's coded selections) is serialised when the meeting
    is added and kept in a temporary file with its transcript, so its minutes document can
    go. What the project needs of all the meetings together is small: the people as cases,
    the codes, and the idea families, which come at the end (:meth:`write`) and code the
    selections named at :meth:`add` (``family_lines``). The bytes of ``project.qde`` are
    those one ElementTree of the whole project gives.
    """

    def __init__(self, name: str) -> None:
        ET.register_namespace("", NS)
        self.name = name
        self.now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.user = guid("user", "meetbot")
        self.kinds: set[str] = set()
        self.prompts: set[str] = set()
        self.speakers: dict[str, dict[str, Any]] = {}
        self.spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed on exit)
        # Pieces of the sources' XML in the spool, each followed by the family codings of
        # one selection (its meeting id and line) or by nothing.
        self.pieces: list[tuple[int, int, tuple[str, int] | None]] = []
        self.files: list[tuple[str, int, int]] = []  # transcripts in the spool

    def __enter__(self) -> QdpxProject:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.spool.close()

    def add(self, held: HeldMeeting, rows: Sequence[dict[str, Any]],
            family_lines: Collection[int] = ()) -> None:
        """One meeting and its rows (``export.message_rows`` of it), in the record's order;
        ``family_lines``: the lines that may be in an idea family (its contributions)."""
        for row in rows:
            self._count(row)
        meeting_id = held.doc["meeting_id"]
        text, spans = transcript(held, rows)
        source_guid = guid("source", meeting_id)
        self.files.append((f"sources/{source_guid}.txt", *self._spool(text.encode("utf-8"))))
        source = ET.Element(f"{{{NS}}}TextSource", {
            "guid": source_guid,
            "name": f"{held.doc['region']}-meeting-{held.number}-{meeting_id[:8]}",
            "plainTextPath": f"internal://{source_guid}.txt",
            "creatingUser": self.user, "creationDateTime": self.now,
        })
        slots: list[tuple[str, int]] = []
        for index, (start, end, row) in enumerate(spans):
            # A written answer has no log line: its place in the transcript names it.
            line = row["line"] if row["line"] is not None else f"written-{index}"
            selection = _el(source, "PlainTextSelection",
                            guid=guid("selection", meeting_id, line),
                            name=f"{row['speaker']} #{line}",
                            startPosition=str(start), endPosition=str(end),
                            creatingUser=self.user, creationDateTime=self.now)
            codes = ([("prompt", row["prompt_id"])] if row["prompt_id"] else []) + (
                [("kind", row["item_kind"])] if row["item_kind"] else [])
            for code in codes:
                self._coding(selection, meeting_id, line, code)
            # A contribution always answered a prompt, so its selection has codings already
            # and the family's follow them inside it.
            if codes and isinstance(line, int) and line in family_lines:
                _el(selection, "Coding", guid=_SLOT)
                slots.append((meeting_id, int(row["line"])))
        xml = _without_namespace(ET.tostring(source, encoding="unicode"))
        parts = xml.split(_SLOT_XML)
        for part, slot in zip(parts, [*slots, None], strict=True):
            self.pieces.append((*self._spool(part.encode("utf-8", "xmlcharrefreplace")), slot))

    def write(self, out: str | Path | BinaryIO,
              families: Sequence[Mapping[str, Any]] = ()) -> None:
        """The ``.qdpx`` archive: ``project.qde``, then each meeting's transcript, written
        from their pieces (the project is never whole in memory)."""
        head, tail, in_family = self._skeleton(families)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            # As ZipFile.writestr files it (its time stamp, mode and compression).
            info = zipfile.ZipInfo("project.qde", date_time=time.localtime(time.time())[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            with zf.open(info, "w") as qde:
                qde.write(head)
                for offset, length, slot in self.pieces:
                    qde.write(self._read(offset, length))
                    if slot is not None:
                        qde.write(self._family_codings(slot, in_family.get(slot, [])))
                qde.write(tail)
            for path, offset, length in self.files:
                zf.writestr(path, self._read(offset, length))

    def _count(self, row: dict[str, Any]) -> None:
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

    def _coding(self, selection: ET.Element, meeting_id: str, line: object,
                code: tuple[str, ...]) -> None:
        coding = _el(selection, "Coding", guid=guid("coding", meeting_id, line, *code),
                     creatingUser=self.user, creationDateTime=self.now)
        _el(coding, "CodeRef", targetGUID=guid("code", *code))

    def _family_codings(self, slot: tuple[str, int], codes: list[tuple[str, ...]]) -> bytes:
        holder = ET.Element(f"{{{NS}}}PlainTextSelection")
        for code in codes:
            self._coding(holder, slot[0], slot[1], code)
        return b"".join(_without_namespace(ET.tostring(child, encoding="unicode"))
                        .encode("utf-8", "xmlcharrefreplace") for child in holder)

    def _spool(self, data: bytes) -> tuple[int, int]:
        offset = self.spool.seek(0, io.SEEK_END)
        self.spool.write(data)
        return offset, len(data)

    def _read(self, offset: int, length: int) -> bytes:
        self.spool.seek(offset)
        return self.spool.read(length)

    def _skeleton(self, families: Sequence[Mapping[str, Any]],
                  ) -> tuple[bytes, bytes, dict[tuple[str, int], list[tuple[str, ...]]]]:
        """``project.qde`` before and after the sources, and which selections each idea
        family codes."""
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
        in_family = _family_codes(codes, families) if families else {}
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
        if not self.pieces:
            return ET.tostring(project, encoding="utf-8", xml_declaration=True), b"", in_family
        _el(_el(project, "Sources"), "TextSource", guid=_SLOT)
        xml = ET.tostring(project, encoding="utf-8", xml_declaration=True)
        head, tail = xml.split(_SOURCES_XML, 1)
        return head, tail, in_family


def _without_namespace(xml: str) -> str:
    """A serialised child element as it reads inside the project, which declares the default
    namespace once at its root."""
    return xml.replace(f' xmlns="{NS}"', "", 1)

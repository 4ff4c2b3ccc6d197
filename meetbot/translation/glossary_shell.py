"""The glossary shell: the config file's terms and the rooms' terms as one glossary, given to
the translation service; ``!term`` and ``!glossary`` carried out; which terms each stored
translation used, recorded (``glossary_hits``).

Terms added in a room are stored (``glossary_terms``) and read again before each round of
live translation, so a term applies from the next message on, and one removed by a
withdrawal (:func:`meetbot.research.consent.withdraw`) is gone from the next round.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from meetbot.app import MeetBotApp
from meetbot.config.glossary import GlossaryFile, read_glossary
from meetbot.core.glossary_effects import AddTerm, RemoveTerm, ShowGlossary
from meetbot.core.model import RoomState
from meetbot.i18n import Code, Msg, _, md_escape, ngettext, render_lines
from meetbot.matrix.content import html_to_text, markdown_to_html, txn_id_for
from meetbot.storage.glossary_store import GlossaryStore, RoomTerm
from meetbot.translation.glossary import Glossary

SHOWN = 60  # terms listed in a room at most (the export has them all)


class GlossaryShell:
    def __init__(self, app: MeetBotApp, apply: Callable[[Glossary], None]) -> None:
        """``apply``: gives the translation service the glossary after each change (the
        service itself is made on first use; it takes :attr:`glossary` then)."""
        self.app = app
        self._apply = apply
        path = app.config.glossary_path
        self.file = read_glossary(path, app.config.source) if path else GlossaryFile()
        self.rows: list[RoomTerm] | None = None
        self.glossary = Glossary.build(self.file.keep, self.file.terms)
        self.store = GlossaryStore(app.store)
        app.persisters[AddTerm] = self._persist_add
        app.persisters[RemoveTerm] = self._persist_remove
        app.persisters[ShowGlossary] = self._persist_show

    async def refresh(self) -> Glossary:
        """Read the rooms' terms again; the service translates with the result."""
        rows = await self.store.terms()
        if rows != self.rows:
            self.rows = rows
            self.glossary = Glossary.build(
                self.file.keep, self.file.terms,
                [(r.source, r.lang, r.target, r.added_by) for r in rows],
            )
        self._apply(self.glossary)
        return self.glossary

    async def record(
        self, event_id: str, text: str, source: str, translations: Mapping[str, str]
    ) -> None:
        """Which terms each stored translation of ``text`` used (inside the transaction)."""
        glossary = self.glossary
        if not glossary:
            return
        targets = list(translations)
        await self.store.save_hits(event_id, glossary.hits(text, source, targets))
        whole = [lang for lang in targets if glossary.whole(text, source, lang)]
        if whole:
            await self.store.mark_glossary_origin(event_id, whole)

    # -- the commands' effects, inside the command's transaction -----------------------
    async def _persist_add(self, effect: AddTerm, state: RoomState) -> None:
        await self.store.add(effect.source, effect.lang, effect.target, effect.user_id,
                             effect.room_id)

    async def _persist_remove(self, effect: RemoveTerm, state: RoomState) -> None:
        removed = await self.store.remove(effect.source)
        if not effect.answer:
            return
        in_file = self._in_file(effect.source)
        if removed:
            line = _("Glossary: {source} removed.", source=Code(removed[0].source))
        elif in_file:
            line = _("{source} is in the glossary file: change it there, then restart the bot.",
                     source=Code(effect.source))
        else:
            line = _("{source} is not in the glossary; {command} lists it.",
                     source=Code(effect.source), command=Code(self._prefix() + "glossary"))
        await self._answer(effect.room_id, effect.event_id, effect.thread_root,
                           {lang: [line] for lang in effect.languages})

    async def _persist_show(self, effect: ShowGlossary, state: RoomState) -> None:
        if not effect.answer:
            return
        rows = await self.store.terms()
        blocks = {lang: self.lines(lang, rows) for lang in effect.languages}
        await self._answer(effect.room_id, effect.event_id, effect.thread_root, blocks)

    # -- what !glossary shows ---------------------------------------------------------
    def lines(self, lang: str, rows: Sequence[RoomTerm]) -> list[Msg | str]:
        """The glossary as a reader of ``lang`` needs it: the names kept, and each fixed
        translation into ``lang`` (room-added terms marked)."""
        kept: dict[str, bool] = {name: False for name in self.file.keep}
        fixed: dict[str, tuple[str, bool]] = {}
        for entry in self.file.terms:
            if lang in entry:
                others = " / ".join(words for other, words in entry.items() if other != lang)
                fixed[others] = (entry[lang], False)
        for row in rows:
            if not row.lang:
                kept[row.source] = True
            elif row.lang == lang:
                fixed[row.source] = (row.target, True)
        if not kept and not fixed:
            return [_("The glossary is empty. A facilitator adds a term with {usage}.",
                      usage=Code(self._prefix() + "term add Guifi.net"))]
        room = _("(added in a room)").render(lang)
        out: list[Msg | str] = [ngettext("Glossary: {count} term.", "Glossary: {count} terms.",
                                         len(kept) + len(fixed))]
        shown = 0
        if kept:
            out.append(_("Kept as written in every language:"))
            for name, added in kept.items():
                if shown < SHOWN:
                    out.append(f"• {md_escape(name)}" + (f" {room}" if added else ""))
                shown += 1
        if fixed:
            out.append(_("Always translated this way into {lang}:", lang=Code(lang)))
            for words, (target, added) in fixed.items():
                if shown < SHOWN:
                    out.append(f"• {md_escape(words)} → {md_escape(target)}"
                               + (f" {room}" if added else ""))
                shown += 1
        if shown > SHOWN:
            out.append(_("… and {n} more; {command} writes them all to the glossary file.",
                         n=shown - SHOWN, command=Code("meetbot glossary export")))
        return out

    def _in_file(self, source: str) -> bool:
        folded = source.casefold()
        return any(name.casefold() == folded for name in self.file.keep) or any(
            words.casefold() == folded for entry in self.file.terms for words in entry.values()
        )

    def _prefix(self) -> str:
        return self.app.config.command_prefix

    async def _answer(self, room_id: str, event_id: str, thread_root: str | None,
                      blocks: Mapping[str, Sequence[Msg | str]]) -> None:
        many = len(blocks) > 1
        plain: list[str] = []
        marked: list[str] = []
        for lang, lines in blocks.items():  # as notice_content lays out a block per language
            rendered = markdown_to_html(
                (f"**{lang.upper()}** · " if many else "") + render_lines(lines, lang, escape=True)
            )
            text = html_to_text(rendered)
            plain.append(f"[{lang}]" + text.removeprefix(lang.upper() + " ·") if many else text)
            marked.append(rendered)
        content: dict[str, Any] = {
            "msgtype": "m.notice", "body": "\n\n".join(plain),
            "format": "org.matrix.custom.html", "formatted_body": "<hr>".join(marked),
            "m.mentions": {},
        }
        if thread_root:
            content["m.relates_to"] = {
                "rel_type": "m.thread", "event_id": thread_root, "is_falling_back": False,
                "m.in_reply_to": {"event_id": event_id},
            }
        else:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": event_id}}
        await self.app.store.enqueue(room_id, txn_id_for(f"glossary:{event_id}"), content)

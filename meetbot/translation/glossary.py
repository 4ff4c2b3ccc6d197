"""The glossary: terms no back-end may translate its own way.

Two kinds of term: names kept as written in every language (networks, organisations,
places: "Guifi.net"), and fixed translations ("community network" → es "red comunitaria",
fr "réseau communautaire"). They come from the config's glossary file
(:mod:`meetbot.config.glossary`) and from rooms (``!term add``, table ``glossary_terms``).

They are honoured the way Matrix ids and links are (:mod:`meetbot.translation.shield`): before
a text goes to a back-end, each term found in it becomes a placeholder, which the back-end
passes through; after, the placeholder is put back as the term written in the text (a kept
name) or as its fixed translation in the target language. Every back-end goes through this
in :meth:`meetbot.translation.base.Translator.translate_batch`.

Matching: case-insensitive, on word boundaries (never inside a word, nor inside a dotted or
hyphenated name such as "guifi.network" or "co-host"), the longest term
first at each place, the leftmost place first; a fixed translation's source term is looked
for in the text's own language (a term added from a room without one, in any language); the
words of a term match across any run of spaces or a line break. A fixed translation at the
start of a sentence takes a capital when the glossary writes it in lower case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from meetbot.translation.shield import protected_spans

KEEP = ""  # the target language of a term kept as written in every language
ANY = ""  # the source language of a term looked for whatever the text's language


@dataclass(frozen=True)
class Term:
    """One glossary entry for one target language (or kept everywhere)."""

    source: str  # what is looked for in a text
    target: str | None = None  # its fixed translation; None: kept as the text writes it
    target_lang: str = KEEP
    source_lang: str = ANY
    added_by: str = ""  # who added it from a room ('' for the file's terms)

    @property
    def kept(self) -> bool:
        return self.target is None

    def applies(self, source: str, target: str) -> bool:
        if self.kept:
            return True
        return self.target_lang == target and self.source_lang in (ANY, source)


@dataclass(frozen=True)
class Found:
    """A term found in a text: where, what is put back there, and which term."""

    start: int
    end: int
    put_back: str
    term: Term


# A word's edges: not next to a letter or digit, nor inside a name such as "guifi.network",
# "co-host" or "@host" (a dot, hyphen, slash or @ joined to a word on the other side).
_BEFORE = r"(?<!\w)(?<!\w[.\-/@])"
_AFTER = r"(?!\w)(?![.\-/@]\w)"


def _key(words: str) -> str:
    return " ".join(unicodedata.normalize("NFC", words).split()).casefold()


def _pattern(term: str) -> str:
    forms = dict.fromkeys(unicodedata.normalize(form, term) for form in ("NFC", "NFD"))
    return "|".join(r"\s+".join(re.escape(word) for word in form.split()) for form in forms)


@dataclass
class _Matcher:
    pattern: re.Pattern[str] | None
    terms: dict[str, Term]


@dataclass
class Glossary:
    """Terms, and a matcher per language pair built the first time the pair is asked."""

    terms: tuple[Term, ...] = ()
    _matchers: dict[tuple[str, str], _Matcher] = field(default_factory=dict, compare=False,
                                                       repr=False)

    def __bool__(self) -> bool:
        return bool(self.terms)

    @classmethod
    def build(
        cls,
        keep: Iterable[str] = (),
        entries: Iterable[Mapping[str, str]] = (),
        room_terms: Iterable[tuple[str, str, str, str]] = (),
    ) -> Glossary:
        """From the file's ``keep`` names and ``terms`` entries (``{lang: text}``, or
        ``source:`` for a term looked for in any language), then the rooms' terms
        ``(source, lang, target, added_by)`` (lang '': kept). Later ones win: a room's term
        replaces the file's for the same words."""
        terms: list[Term] = [Term(name.strip()) for name in keep if name.strip()]
        for entry in entries:
            texts = {lang: text.strip() for lang, text in entry.items() if text.strip()}
            anywhere = texts.pop("source", None)
            for target_lang, target in texts.items():
                if anywhere:
                    terms.append(Term(anywhere, target, target_lang, ANY))
                for source_lang, source in texts.items():
                    if source_lang != target_lang:
                        terms.append(Term(source, target, target_lang, source_lang))
        for source, lang, target, added_by in room_terms:
            if lang == KEEP:
                terms.append(Term(source, None, KEEP, ANY, added_by))
            else:
                terms.append(Term(source, target, lang, ANY, added_by))
        return cls(tuple(terms))

    def matcher(self, source: str, target: str) -> _Matcher:
        matcher = self._matchers.get((source, target))
        if matcher is None:
            chosen: dict[str, Term] = {}
            for term in self.terms:
                if term.applies(source, target):
                    chosen[_key(term.source)] = term  # a later term replaces an earlier one
            if not chosen:
                matcher = _Matcher(None, {})
            else:
                # Longest first: at one place, "community network" wins over "network".
                ordered = sorted(chosen.values(), key=lambda t: len(t.source), reverse=True)
                alternatives = "|".join(f"(?:{_pattern(t.source)})" for t in ordered)
                pattern = re.compile(rf"{_BEFORE}(?:{alternatives}){_AFTER}", re.IGNORECASE)
                matcher = _Matcher(pattern, chosen)
            self._matchers[(source, target)] = matcher
        return matcher

    def find(self, text: str, source: str, target: str) -> list[Found]:
        """The terms in ``text`` (written in ``source``) for a translation into ``target``,
        in order, none overlapping."""
        if not self.terms or source == target:
            return []
        matcher = self.matcher(source, target)
        if matcher.pattern is None:
            return []
        found: list[Found] = []
        kept_whole: list[tuple[int, int]] | None = None
        for match in matcher.pattern.finditer(text):
            if kept_whole is None:
                kept_whole = protected_spans(text)
            start, end = match.span()
            if any(start < b and end > a for a, b in kept_whole):
                continue  # inside a link or an id: the span is kept whole as it is
            said = match.group(0)
            term = matcher.terms.get(_key(said)) or _by_pattern(matcher.terms.values(), said)
            if term is None:  # pragma: no cover - every match is one of the terms
                continue
            found.append(Found(start, end, _put_back(term, said), term))
        return found

    def spans(self, text: str, source: str, target: str) -> list[tuple[int, int, str]]:
        """What :func:`meetbot.translation.shield.shield` takes as ``terms``."""
        return [(f.start, f.end, f.put_back) for f in self.find(text, source, target)]

    def hits(self, text: str, source: str, targets: Sequence[str]) -> dict[str, list[str]]:
        """The glossary's terms (as the glossary writes them) a translation of ``text`` into
        each target uses, for the record (``glossary_hits``)."""
        found: dict[str, list[str]] = {}
        for target in targets:
            terms = dict.fromkeys(f.term.source for f in self.find(text, source, target))
            if terms:
                found[target] = list(terms)
        return found

    def whole(self, text: str, source: str, target: str) -> bool:
        """The text is one glossary term and nothing else (its translation is the
        glossary's, not a machine's)."""
        stripped = text.strip()
        found = self.find(stripped, source, target)
        return len(found) == 1 and found[0].start == 0 and found[0].end == len(stripped)


def _by_pattern(terms: Iterable[Term], said: str) -> Term | None:
    """The term a match is (when case folding and the regex disagree: "ß", "İ")."""
    for term in terms:
        if re.fullmatch(_pattern(term.source), said, re.IGNORECASE):
            return term
    return None


def _put_back(term: Term, said: str) -> str:
    if term.target is None:
        return said  # a name stays as the person wrote it
    target = term.target
    # "Community network is…": the sentence's capital stays where the text put it.
    if said[:1].isupper() and not term.source[:1].isupper() and target[:1].islower():
        return target[:1].upper() + target[1:]
    return target

"""What a translator must not touch: Matrix ids, pills, room aliases, URLs and code spans.

Before a text goes to a back-end, each such span is replaced by a placeholder; after, the
placeholders are put back (:class:`Shielded`). Every back-end goes through this, in
:meth:`meetbot.translation.base.Translator.translate_batch`.

The placeholders are made to survive rule-based and neural translators: a short run of
rare letters and a number (``Zxq0``, ``Zxq1``), a word no dictionary knows, so Apertium
passes it through unchanged. Back-ends still mangle them now and then — another case
(``ZXQ0``), a space inside (``Zxq 0``), the word after it capitalised as if a sentence
began there — and restoring allows for all of that. When a placeholder is lost or doubled
(a neural model may drop or repeat one), the text is translated again piece by piece
between its protected spans (:meth:`Shielded.gaps`), which keeps every span exactly at
the price of some context.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# -- what is protected ------------------------------------------------------------------

# A server name: a DNS name or IP literal and an optional port; it never ends in a dot, so
# the full stop after "@sam:example.org." stays a full stop.
_SERVER = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)(?::[0-9]{1,5})?"
_PATTERNS = (
    # Code: a fenced block, then a span between runs of backticks of the same length.
    r"```.*?```",
    r"(`+)(?!`).+?(?<!`)\1(?!`)",
    # A Markdown link (a pill as Element writes it: [Sam](https://matrix.to/#/@sam:server)).
    r"\[[^\[\]\n]*\]\((?:https?|matrix|mailto):[^()\s]*(?:\([^()\s]*\)[^()\s]*)*\)",
    # An HTML link, pills included.
    r"<a\s[^<>]*>.*?</a>",
    # A web, Matrix or mail address; trailing punctuation belongs to the sentence.
    r"(?:https?://|www\.|matrix:|mailto:)[^\s<>\"]*[^\s<>\".,;:!?'’)\]]",
    r"<(?:https?|matrix|mailto):[^\s<>]+>",
    # Matrix identifiers: users, room aliases, room ids.
    r"[@#!][A-Za-z0-9._=/+\-]+:" + _SERVER,
)
PROTECTED = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.DOTALL)

# Placeholder stems: letters that make no word in English, French or Spanish. The first
# one that the text does not already contain is used.
STEMS = ("Zxq", "Qzx", "Xqz", "Kzq", "Wxq")


def protected_spans(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` of every span of ``text`` a translator must leave alone."""
    return [match.span() for match in PROTECTED.finditer(text)]


# -- placeholders in, originals out ------------------------------------------------------

_SPACES = re.compile(r"[ \t\u00a0]{2,}")
_WORD = re.compile(r"\w+", re.UNICODE)


def tidy_spaces(text: str) -> str:
    """Runs of spaces inside a line become one (a back-end that dropped a word leaves two);
    spaces at the ends of lines go."""
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


@dataclass(frozen=True)
class Shielded:
    """A text with its protected spans taken out."""

    text: str
    spans: tuple[str, ...]  # the protected spans, in order
    masked: str  # the text with a placeholder in each span's place
    stem: str
    # Where each span is in ``text``; a glossary term's span puts back its fixed
    # translation (``spans`` holds what is put back, not always what the text said).
    bounds: tuple[tuple[int, int], ...] = ()

    @property
    def untouched(self) -> bool:
        """Nothing to protect: the text goes to the back-end as it is."""
        return not self.spans

    @property
    def wordless(self) -> bool:
        """Nothing left to translate once the spans are out (a lone link, an id)."""
        return not any(worth_translating(gap) for gap in self.gaps())

    def placeholder(self, index: int) -> str:
        return f"{self.stem}{index}"

    def _found(self) -> re.Pattern[str]:
        """A placeholder as a back-end may give it back: any case, a space inside."""
        letters = r"\s?".join(re.escape(ch) for ch in self.stem)
        return re.compile(rf"(?<!\w){letters}\s?([0-9]+)(?![0-9])", re.IGNORECASE)

    def restore(self, translated: str) -> str | None:
        """The translation with each span back in its placeholder's place, or ``None`` when
        a placeholder is missing or doubled (then translate the :meth:`gaps` instead)."""
        if self.untouched:  # blank stays blank, as the back-end made it
            return tidy_spaces(translated) if translated.strip() else translated
        text = tidy_spaces(translated)
        matches = list(self._found().finditer(text))
        if sorted(int(m.group(1)) for m in matches) != list(range(len(self.spans))):
            return None
        lower = self._lowercase_followers()
        out: list[str] = []
        last = 0
        for match in matches:
            index = int(match.group(1))
            out += [text[last : match.start()], self.spans[index]]
            last = match.end()
            # A back-end may take an unknown word for the end of a sentence and capitalise
            # the next one ("Zxq0 will host" -> "Zxq0 Organizará"): when that word was in
            # lower case in the source, it is put back in lower case.
            after = _NEXT_WORD.match(text, last)
            if index in lower and after is not None and _capitalised(after.group(1)):
                word = after.group(1)
                out.append(" " + word[0].lower() + word[1:])
                last = after.end()
        out.append(text[last:])
        return "".join(out)

    def _lowercase_followers(self) -> set[int]:
        """The spans followed, in the source, by a space and a word in lower case."""
        found = set()
        for index, (_start, end) in enumerate(self.bounds):
            after = _NEXT_WORD.match(self.text, end)
            if after is not None and after.group(1)[0].islower():
                found.add(index)
        return found

    def filled(self) -> str:
        """The text with each span's put-back text in its place, untranslated (a text of
        spans alone: a link stays a link, a glossary term takes its fixed translation)."""
        out: list[str] = []
        last = 0
        for (start, end), span in zip(self.bounds, self.spans, strict=True):
            out += [self.text[last:start], span]
            last = end
        out.append(self.text[last:])
        return "".join(out)

    def gaps(self) -> list[str]:
        """The source text around the spans: one more gap than spans, empty ones included."""
        gaps, last = [], 0
        for start, end in self.bounds:
            gaps.append(self.text[last:start])
            last = end
        gaps.append(self.text[last:])
        return gaps

    def assemble(self, translated_gaps: Sequence[str]) -> str:
        """The text again from its translated :meth:`gaps` and the untouched spans."""
        out: list[str] = []
        for index, gap in enumerate(self.gaps()):
            out.append(_keep_edges(gap, translated_gaps[index]))
            if index < len(self.spans):
                out.append(self.spans[index])
        return "".join(out)


_NEXT_WORD = re.compile(r" (\w+)")


def _capitalised(word: str) -> bool:
    """"Organizará", not "I", "ONU" or "R2D2": a capital, then small letters only."""
    return len(word) > 1 and word.isalpha() and word[0].isupper() and word[1:].islower()


def _keep_edges(source: str, translated: str) -> str:
    """A translated gap keeps the source's spaces and line breaks at its two ends."""
    if not source.strip():
        return source
    lead = source[: len(source) - len(source.lstrip())]
    trail = source[len(source.rstrip()) :]
    return lead + tidy_spaces(translated).strip() + trail


def worth_translating(gap: str) -> bool:
    """Punctuation and spaces between two spans (", ", " and "?) stay: only words go."""
    return any(ch.isalpha() for ch in gap)


def shield(text: str, terms: Sequence[tuple[int, int, str]] = ()) -> Shielded:
    """``text`` with every protected span replaced by a numbered placeholder.

    ``terms``: glossary matches, ``(start, end, what to put back)``; one that overlaps a
    protected span (a term inside a URL) is left out: the span is kept whole.
    """
    found = [(start, end, text[start:end]) for start, end in protected_spans(text)]
    if terms:
        taken = [(start, end) for start, end, _ in found]
        for start, end, put_back in terms:
            if all(end <= a or start >= b for a, b in taken):
                found.append((start, end, put_back))
        found.sort()
    folded = text.casefold()
    stem = next((s for s in STEMS if s.casefold() not in folded), "")
    n = 0
    while not stem:  # a text that holds every stem (a test of this module, surely)
        n += 1
        stem = next((s * (n + 1) for s in STEMS if (s * (n + 1)).casefold() not in folded), "")
    if not found:
        return Shielded(text, (), text, stem)
    parts: list[str] = []
    last = 0
    for index, (start, end, _put_back) in enumerate(found):
        parts.append(text[last:start])
        parts.append(f"{stem}{index}")
        last = end
    parts.append(text[last:])
    return Shielded(
        text, tuple(put for _, _, put in found), "".join(parts), stem,
        tuple((start, end) for start, end, _ in found),
    )

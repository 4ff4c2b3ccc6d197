"""The translator interface shared by every back-end, with pivot routing.

Back-ends implement :meth:`Translator._translate_direct` for the pairs they have; this base
class finds a route (direct, else through a pivot language), chains the passes, and keeps
what no translator may touch (Matrix ids, pills, aliases, URLs, code) out of every back-end's
reach (:mod:`meetbot.translation.shield`).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from meetbot.translation.glossary import Glossary
from meetbot.translation.shield import Shielded, shield, tidy_spaces, worth_translating

Pair = tuple[str, str]


class TranslationError(Exception):
    """A translation failed; the message is meant to be shown to people."""


class BackendUnavailable(TranslationError):
    """The back-end cannot be reached at all (server down, binary missing).

    Retrying text by text would fail the same way, so the service does not split batches on it.
    """


class MissingPair(TranslationError):
    """No installed model (nor pivot route) translates ``source`` into ``target``."""

    def __init__(self, source: str, target: str, backend: str = "", hint: str = "") -> None:
        self.source = source
        self.target = target
        self.backend = backend
        where = f" with the {backend} back-end" if backend else ""
        message = f"No translation from '{source}' to '{target}' is installed{where}."
        if hint:
            message += " " + hint
        super().__init__(message)


class Translator(abc.ABC):
    """A blocking translation back-end.

    Subclasses set :attr:`name` and :attr:`pivots`, and implement :meth:`pairs` and
    :meth:`_translate_direct`. Calls may block for seconds: run them off the event loop.
    """

    name: str = "abstract"
    #: Languages tried, in order, as an intermediate step when no direct pair exists.
    pivots: Sequence[str] = ("en",)
    #: Most texts in one call (the service batches concurrent requests up to this).
    max_batch: int = 32

    @abc.abstractmethod
    def pairs(self) -> set[Pair]:
        """The direct (source, target) pairs this back-end can translate."""

    @abc.abstractmethod
    def _translate_direct(self, texts: list[str], source: str, target: str) -> list[str]:
        """Translate ``texts`` with a direct pair; ``(source, target)`` is in :meth:`pairs`."""

    def install_hint(self, source: str, target: str) -> str:
        """How a person would make ``source`` → ``target`` available (for error messages)."""
        return ""

    def route(self, source: str, target: str) -> list[Pair]:
        """The passes used for ``source`` → ``target``: [] when identical, else 1 or 2 pairs.

        Raises:
            MissingPair: neither a direct pair nor a pivot route exists.
        """
        if source == target:
            return []
        available = self.pairs()
        if (source, target) in available:
            return [(source, target)]
        for pivot in self.pivots:
            if pivot in (source, target):
                continue
            if (source, pivot) in available and (pivot, target) in available:
                return [(source, pivot), (pivot, target)]
        raise MissingPair(source, target, self.name, self.install_hint(source, target))

    def can_translate(self, source: str, target: str) -> bool:
        """Whether :meth:`translate_batch` would work, directly or through a pivot."""
        try:
            self.route(source, target)
        except MissingPair:
            return False
        return True

    def translate_batch(
        self, texts: list[str], source: str, target: str, glossary: Glossary | None = None
    ) -> list[str]:
        """Translate every text (blocking); the result is aligned with ``texts``.

        Matrix ids, pills, room aliases, URLs and code spans come back exactly as they were:
        they go to the back-end as placeholders, and a text whose placeholders the back-end
        lost is translated again piece by piece between them. The ``glossary``'s terms go the
        same way and come back kept as written or as their fixed translation into ``target``
        (:mod:`meetbot.translation.glossary`).

        Raises:
            MissingPair: the pair is not available.
            TranslationError: the back-end failed.
        """
        if not texts:
            return []
        route = self.route(source, target)
        if not route:
            return list(texts)
        if glossary:
            shielded = [shield(text, glossary.spans(text, source, target)) for text in texts]
        else:
            shielded = [shield(text) for text in texts]
        # A text of spans alone (a link, an id, a glossary term) is not sent to the back-end.
        asked = [i for i, s in enumerate(shielded) if not (s.spans and s.wordless)]
        result = [s.filled() if s.spans else s.text for s in shielded]
        outputs = self._passes([shielded[i].masked for i in asked], route)
        lost: list[int] = []
        for i, output in zip(asked, outputs, strict=True):
            restored = shielded[i].restore(output)
            if restored is None:
                lost.append(i)
            else:
                result[i] = restored
        if lost:
            for i, text in zip(lost, self._by_gaps([shielded[i] for i in lost], route),
                               strict=True):
                result[i] = text
        return result

    def _passes(self, texts: list[str], route: list[Pair]) -> list[str]:
        """``texts`` through every pass of ``route``, one back-end call per pass."""
        result = list(texts)
        if not result:
            return result
        for step_source, step_target in route:
            result = self._translate_direct(result, step_source, step_target)
            if len(result) != len(texts):
                raise TranslationError(
                    f"{self.name} returned {len(result)} translations for {len(texts)} texts"
                )
        return result

    def _by_gaps(self, shielded: list[Shielded], route: list[Pair]) -> list[str]:
        """Each text translated between its protected spans, which stay as they are."""
        gaps = [s.gaps() for s in shielded]
        wanted = [gap.strip() for each in gaps for gap in each if worth_translating(gap)]
        translated = iter(self._passes(wanted, route))
        return [
            s.assemble([tidy_spaces(next(translated)) if worth_translating(g) else g
                        for g in each])
            for s, each in zip(shielded, gaps, strict=True)
        ]

    def close(self) -> None:  # noqa: B027 - optional hook, most back-ends hold nothing
        """Release models, processes or connections."""

    def __enter__(self) -> Translator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

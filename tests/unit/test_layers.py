"""The minutes and research packages keep to their layers: research builds on the minutes,
never the reverse, neither reaches up into the runtime or the command line, and no import
(inside a function included) closes a cycle between their modules."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import meetbot
from meetbot.minutes import series
from meetbot.research import removal

PACKAGES = ("meetbot.minutes", "meetbot.research")
ABOVE_MINUTES = ("meetbot.research", "meetbot.runtime", "meetbot.cli", "meetbot.demo")
ABOVE_RESEARCH = ("meetbot.runtime", "meetbot.cli", "meetbot.demo")
# Known, to go: the minutes' task handler raises the task runner's NotReady (the handlers
# belong in meetbot.runtime, or NotReady below it).
KNOWN: set[tuple[str, str]] = {("meetbot.minutes.delivery", "meetbot.runtime.tasks")}


def test_the_minutes_recognise_the_withdrawn_stand_in() -> None:
    assert series.WITHDRAWN_DOMAIN == removal.WITHDRAWN_DOMAIN
    assert series.is_withdrawn(removal.tombstone())
    assert not series.is_withdrawn("@bea:example.org") and not series.is_withdrawn(None)


def test_the_minutes_document_is_whole_without_importing_any_feature() -> None:
    code = (
        "import sys\n"
        "from meetbot.minutes.document import PARTS\n"
        "assert 'consent_rounds' in dict(PARTS)\n"
        "assert not [m for m in sys.modules if m.startswith(('meetbot.runtime', 'meetbot.app'))]\n"
    )
    # The same meetbot as this test's, in a fresh interpreter.
    root = str(Path(meetbot.__file__).resolve().parents[1])
    path = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": path})


@cache
def graph() -> Any:
    grimp = pytest.importorskip("grimp")
    return grimp.build_graph("meetbot")


def _modules(prefixes: tuple[str, ...]) -> list[str]:
    return sorted(
        m for m in graph().modules if any(m == p or m.startswith(p + ".") for p in prefixes)
    )


def _imports(importer: str) -> Iterator[str]:
    yield from sorted(graph().find_modules_directly_imported_by(importer))


@pytest.mark.parametrize(
    ("package", "above"), [("meetbot.minutes", ABOVE_MINUTES), ("meetbot.research", ABOVE_RESEARCH)]
)
def test_a_package_imports_nothing_above_it(package: str, above: tuple[str, ...]) -> None:
    wrong = [
        (module, imported)
        for module in _modules((package,))
        for imported in _imports(module)
        if imported.startswith(above) and (module, imported) not in KNOWN
    ]
    assert wrong == []


def test_no_import_cycle_among_the_minutes_and_research_modules() -> None:
    """Tarjan's strongly connected components over the two packages' modules."""
    nodes = set(_modules(PACKAGES))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in _imports(module):
            if imported not in nodes:
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = [stack.pop()]
            while component[-1] != module:
                component.append(stack.pop())
            if len(component) > 1 or module in set(_imports(module)):
                cycles.append(sorted(component))

    for module in sorted(nodes):
        if module not in index:
            visit(module)
    assert cycles == []

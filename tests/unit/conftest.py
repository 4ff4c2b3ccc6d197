"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser import Browser, axe_path, browser, chromium_path
from components import require_component

# -- a headless Chromium and axe-core, for the tests that open pages ---------------------


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    path = chromium_path()
    require_component("chromium", path is not None, "apt-get install chromium")
    assert path is not None
    with browser(path, tmp_path_factory.mktemp("profile")) as running:
        yield running


@pytest.fixture(scope="module")
def axe() -> str:
    path = axe_path()
    require_component("axe-core", path is not None, "bash scripts/bootstrap.sh (npm)")
    assert path is not None
    return path.read_text(encoding="utf-8")

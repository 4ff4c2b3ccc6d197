"""Shared fixtures: embedded Synapse homeservers and Matrix test participants.

One homeserver per session (rate limits off) keeps the suite fast; each test
creates its own rooms and users, so tests stay independent. The rate-limited
server starts only if a test asks for it.
"""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

# Imported by module name, not as ``tests.matrix_helpers``: argostranslate installs a
# top-level ``tests`` package into site-packages that shadows ours. pytest puts this
# directory (a conftest outside any package) on sys.path, so test modules can do the same.
from matrix_helpers import MakeParticipant, Participant

from meetbot.demo.homeserver import Homeserver

_counter = itertools.count(1)

# No test reaches outside the machine: the Argos package index (read by meetbot's downloader
# and by argostranslate alike) is a closed local port unless a test serves one itself.
os.environ["ARGOS_PACKAGE_INDEX"] = "http://127.0.0.1:9/"


def _start_homeserver(data_dir: Path, *, rate_limits: bool) -> Homeserver:
    hs = Homeserver(data_dir, rate_limits=rate_limits)
    hs.start()
    return hs


@pytest.fixture(scope="session")
def homeserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver]:
    """A running Synapse with every rate limit switched off, shared by the session."""
    hs = _start_homeserver(tmp_path_factory.mktemp("synapse"), rate_limits=False)
    try:
        yield hs
    finally:
        hs.stop()


@pytest.fixture(scope="session")
def homeserver_ratelimited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver]:
    """A second Synapse with its default rate limits, as a real deployment has."""
    hs = _start_homeserver(tmp_path_factory.mktemp("synapse-rl"), rate_limits=True)
    try:
        yield hs
    finally:
        hs.stop()


@pytest.fixture
async def make_participant(
    homeserver: Homeserver, request: pytest.FixtureRequest
) -> AsyncIterator[MakeParticipant]:
    """Factory for :class:`Participant` s, all closed when the test ends.

    ``await make_participant("alice", encryption=True)`` registers a fresh user
    ``alice_<n>_<test>...``; pass ``homeserver=`` to use another server.
    """
    created: list[Participant] = []
    # Unique per test and per call, readable in Synapse's log.
    test_tag = re.sub(r"[^a-z0-9]", "", request.node.name.lower())[:20]
    default_hs = homeserver

    async def make(
        name: str = "user", *, homeserver: Homeserver | None = None, **kwargs: Any
    ) -> Participant:
        hs = homeserver or default_hs
        username = f"{name.lower()}_{next(_counter)}_{test_tag}_{uuid.uuid4().hex[:6]}"
        participant = await Participant.create(hs, username, **kwargs)
        created.append(participant)
        return participant

    yield make
    for participant in reversed(created):
        await participant.close()


@pytest.fixture
async def make_bot(
    homeserver: Homeserver, tmp_path: Path
) -> AsyncIterator[Any]:
    """Factory for bot harnesses (see tests/bot_helpers.py); every bot is stopped after."""
    from bot_helpers import BotHarness

    bots: list[BotHarness] = []

    def make() -> BotHarness:
        bot = BotHarness(homeserver, tmp_path / f"bot{len(bots)}")
        bot.workdir.mkdir(parents=True, exist_ok=True)
        bots.append(bot)
        return bot

    yield make
    for bot in bots:
        await bot.stop()


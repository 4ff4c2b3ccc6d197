"""Feature modules: importing one registers its commands, hooks, tasks and subcommands."""

from __future__ import annotations

import importlib

FEATURES: tuple[str, ...] = (
    "meetbot.core.commands.translation",
    "meetbot.cli.models",
    "meetbot.cli.demo",
    "meetbot.core.facilitation.timebox",
    "meetbot.core.facilitation.queue",
    "meetbot.core.facilitation.proposals",
    "meetbot.core.facilitation.scheduled",
    "meetbot.runtime.calendar",
    "meetbot.runtime.proposal_anchors",
    "meetbot.core.commands.research_consent",
    "meetbot.core.commands.coordinator",
    "meetbot.cli.research",
)


def load_features() -> None:
    for module in FEATURES:
        importlib.import_module(module)


load_features()

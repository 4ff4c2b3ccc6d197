"""Extension points for features that react to more than commands.

A feature module appends a function ``(state, settings, event) -> list[Effect]`` to the list
it cares about. Hooks run after the core has updated the record for the event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Hook = Callable[..., list[Any]]

message: list[Hook] = []
edit: list[Hook] = []
redaction: list[Hook] = []
reaction: list[Hook] = []
membership: list[Hook] = []
tick: list[Hook] = []
# Called as (state, settings, meeting, event) when a meeting starts or ends.
meeting_started: list[Hook] = []
meeting_ended: list[Hook] = []

"""Real components the tests need (Apertium, Chromium, hadolint): skip here, fail in CI."""

from __future__ import annotations

import os

import pytest


def require_component(name: str, available: bool, how: str = "") -> None:
    """Skip a test of a real component that is missing here, but fail in CI.

    CI sets MEETBOT_STRICT_COMPONENTS=1: there every real component must be installed, so
    a missing one is an install bug, not a reason to skip.
    """
    if available:
        return
    message = f"{name} is not installed{': ' + how if how else ''}"
    if os.environ.get("MEETBOT_STRICT_COMPONENTS"):
        pytest.fail(message + " (MEETBOT_STRICT_COMPONENTS is set)")
    pytest.skip(message)

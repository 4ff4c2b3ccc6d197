"""What a feature started with the bot is given: the app, the Matrix bot, the timers, the sync.

Features that act once the bot runs (the meeting calendar, proposal anchors) take this, not
the service, so they depend only on the parts they use.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from meetbot.app import MeetBotApp
from meetbot.matrix.bot import MatrixBot
from meetbot.runtime.timers import TimerScheduler


@dataclass(frozen=True)
class RunningBot:
    app: MeetBotApp
    bot: MatrixBot
    timers: TimerScheduler
    # The sync loop: when it ends, the bot has stopped.
    sync: asyncio.Task[None]

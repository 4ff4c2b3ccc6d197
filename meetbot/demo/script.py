"""The meeting the demo plays: a prompt answered in three languages, an action, a decision."""

from __future__ import annotations

from dataclasses import dataclass, field

from meetbot.demo.client import DemoClient, Message
from meetbot.demo.progress import Progress
from meetbot.demo.world import ANA, FACILITATOR, LUCIE, SAM

TITLE = "Demo regional meeting"

REPLIES = {
    ANA.key: "Podríamos compartir nuestras notas cada semana en un cuaderno común.",
    LUCIE.key: "Je propose un atelier chaque mois pour apprendre ensemble.",
    SAM.key: "I can host the first workshop online next month.",
}
ACTION = "will host the first workshop"
DECISION = "we share our notes every week in a common notebook"
SECOND_PROMPT = "How does our community make decisions today"


@dataclass
class Meeting:
    """The rooms and the people's clients of a running demo."""

    room: str
    coordinator_room: str
    bot_user_id: str
    clients: dict[str, DemoClient]
    timeout: float = 60.0
    sent: list[str] = field(default_factory=list)

    async def say(self, who: str, text: str, *, answer: str = "", mentions: tuple[str, ...] = ()
                  ) -> Message | None:
        """``who`` sends ``text``; with ``answer``, wait for the bot's notice that contains it."""
        client = self.clients[who]
        event_id = await client.send(self.room, text, mentions)
        self.sent.append(event_id)
        if not answer:
            await client.wait_for_message(
                self.room, lambda m: m.event_id == event_id, timeout=self.timeout,
                what=f"its own message {text!r}",
            )
            return None
        return await client.wait_for_message(
            self.room,
            lambda m: m.sender == self.bot_user_id and answer in m.body,
            after=event_id,
            timeout=self.timeout,
            what=f"the bot's answer to {text!r} (containing {answer!r})",
        )

    async def play(self, progress: Progress) -> None:
        facilitator = FACILITATOR.key
        with progress.step("Everyone tells the bot their language (!lang)"):
            for person in (FACILITATOR, ANA, LUCIE, SAM):
                await self.say(person.key, f"!lang {person.language}", answer=person.language)
        with progress.step("Maya starts the meeting"):
            await self.say(facilitator, f"!startmeeting {TITLE}", answer="Meeting started")
            await self.clients[facilitator].wait_for_message(
                self.room, lambda m: m.sender == self.bot_user_id and "work and learn" in m.body,
                timeout=self.timeout, what="the first prompt",
            )
        with progress.step("Ana, Lucie and Sam answer in Spanish, French and English"):
            for person in (ANA, LUCIE, SAM):
                await self.say(person.key, REPLIES[person.key])
        sam_id = self.clients[SAM.key].user_id
        with progress.step("Maya records an action and a decision"):
            await self.say(
                facilitator, f"!action {sam_id} {ACTION}", answer="Action #", mentions=(sam_id,)
            )
            await self.say(facilitator, f"!agreed {DECISION}", answer="Decision #")
        with progress.step("Maya moves to the next prompt"):
            await self.say(facilitator, "!next", answer=SECOND_PROMPT)

    async def end(self, progress: Progress) -> None:
        with progress.step("Maya ends the meeting"):
            await self.say(FACILITATOR.key, "!endmeeting", answer="Meeting ended")

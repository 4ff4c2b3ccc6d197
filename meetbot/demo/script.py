"""The meeting the demo plays: a prompt answered in three languages, two actions, a decision.

The meeting is data (:data:`PLAYED`, :data:`ENDING`): steps of lines, each said by one of
the demo's people. :class:`Meeting` plays them through real Matrix clients for
``meetbot demo``; the golden-output tests play the same lines through the bot's app without
a homeserver (:mod:`meetbot.demo.rehearsal`), so both show the same meeting.

The lines are chosen to read well through Apertium too (the back-end a machine without
Argos models falls back to): "organise", not "host", which Apertium knows only as a noun.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from meetbot.demo.client import DemoClient, Message
from meetbot.demo.progress import Progress
from meetbot.demo.world import ANA, FACILITATOR, LUCIE, SAM

TITLE = "Demo regional meeting"

REPLIES = {
    ANA.key: "Podríamos compartir nuestras notas cada semana en una libreta común.",
    LUCIE.key: "Je propose un atelier chaque mois pour apprendre ensemble.",
    SAM.key: "I can organise the first workshop online in January.",
}
ACTION = "will organise the first workshop"
ANAS_ACTION = "abrirá la libreta común esta semana"
DECISION = "we share our notes every week in a common notebook"
FIRST_PROMPT = "work and learn"
SECOND_PROMPT = "How does our community make decisions today"


@dataclass(frozen=True)
class Line:
    """What one person says; ``{sam}`` in the text stands for that person's user id."""

    who: str  # a person's key
    text: str
    answers: tuple[str, ...] = ()  # what the bot says back (a part of each), in order
    mentions: tuple[str, ...] = ()  # the people the line mentions, by key

    def body(self, user_ids: Mapping[str, str]) -> str:
        return self.text.format(**user_ids)


@dataclass(frozen=True)
class Step:
    """One step of the progress display: its title and the lines said in it."""

    title: str
    lines: tuple[Line, ...]


PLAYED = (
    Step("Everyone tells the bot their language (!lang)", tuple(
        Line(person.key, f"!lang {person.language}", (person.language,))
        for person in (FACILITATOR, ANA, LUCIE, SAM)
    )),
    Step("Maya starts the meeting", (
        Line(FACILITATOR.key, f"!startmeeting {TITLE}", ("Meeting started", FIRST_PROMPT)),
    )),
    Step("Ana, Lucie and Sam answer in Spanish, French and English", tuple(
        Line(person.key, REPLIES[person.key]) for person in (ANA, LUCIE, SAM)
    )),
    Step("Maya and Ana record two actions, Maya a decision", (
        Line(FACILITATOR.key, f"!action {{{SAM.key}}} {ACTION}", ("Action #",), (SAM.key,)),
        Line(ANA.key, f"!action {{{LUCIE.key}}} {ANAS_ACTION}", ("Acción #",), (LUCIE.key,)),
        Line(FACILITATOR.key, f"!agreed {DECISION}", ("Decision #",)),
    )),
    Step("Maya moves to the next prompt", (Line(FACILITATOR.key, "!next", (SECOND_PROMPT,)),)),
)
ENDING = (
    Step("Maya ends the meeting", (Line(FACILITATOR.key, "!endmeeting", ("Meeting ended",)),)),
)


@dataclass
class Meeting:
    """The rooms and the people's clients of a running demo."""

    room: str
    coordinator_room: str
    bot_user_id: str
    clients: dict[str, DemoClient]
    timeout: float = 60.0
    sent: list[str] = field(default_factory=list)

    @property
    def user_ids(self) -> dict[str, str]:
        return {key: client.user_id for key, client in self.clients.items()}

    async def say(self, line: Line) -> Message | None:
        """Say ``line``; wait for it to come back, or for each of the bot's answers to it."""
        client = self.clients[line.who]
        mentions = tuple(self.user_ids[key] for key in line.mentions)
        text = line.body(self.user_ids)
        event_id = await client.send(self.room, text, mentions)
        self.sent.append(event_id)
        if not line.answers:
            await client.wait_for_message(
                self.room, lambda m: m.event_id == event_id, timeout=self.timeout,
                what=f"its own message {text!r}",
            )
            return None
        answer: Message | None = None
        for part in line.answers:
            answer = await client.wait_for_message(
                self.room,
                self._from_bot_with(part),
                after=event_id,
                timeout=self.timeout,
                what=f"the bot's answer to {text!r} (containing {part!r})",
            )
        return answer

    def _from_bot_with(self, part: str) -> Callable[[Message], bool]:
        return lambda message: message.sender == self.bot_user_id and part in message.body

    async def _steps(self, steps: tuple[Step, ...], progress: Progress) -> None:
        for step in steps:
            with progress.step(step.title):
                for line in step.lines:
                    await self.say(line)

    async def play(self, progress: Progress) -> None:
        await self._steps(PLAYED, progress)

    async def end(self, progress: Progress) -> None:
        await self._steps(ENDING, progress)

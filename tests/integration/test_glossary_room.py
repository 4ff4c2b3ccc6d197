"""A network's names and terms survive translation, in a real room (real Synapse, real
Apertium): the facilitator adds a term from the room, a participant may not, anyone reads the
glossary, and the next message is translated with it; the record keeps which terms it used.
"""

from __future__ import annotations

import shutil

import pytest
import yaml
from components import require_component
from nio import RoomMessageNotice

from meetbot.storage.glossary_store import GlossaryStore

pytestmark = pytest.mark.integration

GLOSSARY = {
    "keep": ["Village Telco"],
    "terms": [{"en": "community network", "es": "red comunitaria",
               "fr": "réseau communautaire"}],
}


async def test_a_facilitator_adds_a_term_and_the_next_message_is_translated_with_it(
    make_participant, make_bot
) -> None:
    require_component("apertium", shutil.which("apertium") is not None,
                      "apt-get install apertium apertium-eng-spa apertium-fr-es")
    maya = await make_participant("maya", display_name="Maya")
    ana = await make_participant("ana", display_name="Ana")
    bot = make_bot()
    room = await maya.create_room("Glossary", invite=[ana.user_id, bot.user_id])
    await ana.join(room)
    (bot.workdir / "glossary.yaml").write_text(yaml.safe_dump(GLOSSARY, allow_unicode=True),
                                               encoding="utf-8")
    bot.configure(
        facilitators=[maya.user_id],
        regions=[{"id": "latam", "name": "Latin America", "room": room,
                  "languages": ["en", "es"], "timezone": "America/Bogota"}],
        translation={"backend": "apertium", "glossary": "glossary.yaml"},
    )
    await bot.start()
    await maya.wait_for_member(room, bot.user_id)

    # Ana is a participant: she is told who may add terms, and nothing is stored.
    asked = await ana.send(room, "!term add Common Ground")
    refusal = await ana.wait_for_notice(room, "!term", after=asked)
    assert "facilitator" in refusal.body
    asked = await maya.send(room, "!term add")
    usage = await maya.wait_for_notice(room, "Usage: !term add SOURCE", after=asked)
    assert "Give the term." in usage.body

    asked = await maya.send(room, "!term add Common Ground")
    await maya.wait_for_notice(room, "Common Ground is now kept as written", after=asked)
    asked = await maya.send(room, "!term add host = persona anfitriona es")
    await maya.wait_for_notice(room, "translated into es as persona anfitriona", after=asked)

    asked = await ana.send(room, "!glossary")
    shown = await ana.wait_for_notice(room, "Glossary: 3 terms", after=asked)
    english, spanish = shown.body.split("\n\n[es]")
    assert "Village Telco" in english and "Common Ground (added in a room)" in english
    assert "red comunitaria / réseau communautaire → community network" in english
    assert "community network / réseau communautaire → red comunitaria" in spanish
    assert "host → persona anfitriona" in spanish and "(añadido en una sala)" in spanish
    assert "Common Ground" in spanish and spanish.startswith(" Glosario: 4 términos."), spanish

    await maya.send(room, "!startmeeting")
    await maya.wait_for_notice(room, "Prompt 1/")
    said = await maya.send(room, "The host of Common Ground presents the community network "
                                 "of Village Telco on Monday.")

    def translation(event) -> bool:
        relates = event.source["content"].get("m.relates_to", {})
        return (isinstance(event, RoomMessageNotice)
                and relates.get("m.in_reply_to", {}).get("event_id") == said)

    notice = await ana.wait_for(room, translation, timeout=40)
    assert notice.body.startswith("[es] ")
    for kept in ("Common Ground", "persona anfitriona", "red comunitaria", "Village Telco"):
        assert kept in notice.body, notice.body
    assert "lunes" in notice.body  # the rest is Apertium's own translation

    await bot.settled()
    hits = await GlossaryStore(bot.app.store).hits(said)
    assert hits == {"es": sorted(["Common Ground", "community network", "host", "Village Telco"])}

    # Removed from the room: the next message is Apertium's own again.
    asked = await maya.send(room, "!term remove common ground")
    await maya.wait_for_notice(room, "Common Ground removed", after=asked)
    again = await maya.send(room, "Common Ground meets today.")

    def second(event) -> bool:
        relates = event.source["content"].get("m.relates_to", {})
        return (isinstance(event, RoomMessageNotice)
                and relates.get("m.in_reply_to", {}).get("event_id") == again)

    notice = await ana.wait_for(room, second, timeout=40)
    assert "Common Ground" not in notice.body, notice.body

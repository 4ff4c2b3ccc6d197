"""docs/own-homeserver.md, done for real.

The guide's marked code blocks run as written (bash and curl, only the shell variables set)
against a Synapse run as communities run theirs: people register with a token an admin makes.
Then the real bot runs with the access token of the device it was given, in an encrypted
room that someone who is not a facilitator made, is backed up with ``meetbot backup`` while
it runs, and comes back from the archive in an empty folder as the same device.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from bot_helpers import PROMPTS
from components import require_component
from matrix_helpers import Participant
from nio import AsyncClient, AsyncClientConfig, KeysUploadError, KeysUploadResponse

from meetbot.config.schema import load_config
from meetbot.demo.homeserver import Homeserver
from meetbot.runtime.service import BotService

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "own-homeserver.md"
BOT_PASSWORD = "6f1c0e9a4b7d2e8f3a5c1b9d0e7f2a4c6b8d1e3f5a7c9b0d"  # as `openssl rand -hex 24`


class CommunityServer(Homeserver):
    """Synapse as a community runs it: people register themselves with a token from an admin."""

    def _override(self) -> dict[str, Any]:
        override = super()._override()
        override.update({"enable_registration": True, "registration_requires_token": True})
        return override


@pytest.fixture(scope="module")
def community(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CommunityServer]:
    hs = CommunityServer(tmp_path_factory.mktemp("community"))
    hs.start()
    try:
        yield hs
    finally:
        hs.stop()


def guide_block(name: str) -> str:
    match = re.search(
        rf"<!-- guide: {re.escape(name)} -->\n```sh\n(.*?)```", GUIDE.read_text(), re.S
    )
    assert match, f"docs/own-homeserver.md has no code block marked {name!r}"
    return match.group(1)


async def run_block(name: str, **variables: str) -> list[dict[str, Any]]:
    """Run a block of the guide with bash, its shell variables set; return the JSON answers."""
    require_component("curl", shutil.which("curl") is not None, "apt-get install curl")
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **variables}
    result = await asyncio.to_thread(
        subprocess.run, ["bash", "-euo", "pipefail", "-c", guide_block(name)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, f"{name}: {result.stderr}"
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _get(hs: Homeserver, path: str, token: str) -> Any:
    request = urllib.request.Request(
        hs.url + path, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


async def _devices(hs: Homeserver, token: str) -> list[tuple[str, str]]:
    answer = await asyncio.to_thread(_get, hs, "/_matrix/client/v3/devices", token)
    return sorted((d["device_id"], d.get("display_name") or "") for d in answer["devices"])


def _variables(hs: Homeserver, localpart: str) -> dict[str, str]:
    return {"HS": hs.url, "BOT": hs.user_id(localpart), "BOT_PASSWORD": BOT_PASSWORD}


async def _start(config_path: Path, token: str) -> BotService:
    # The token comes from the environment, as the guide's config says.
    service = BotService(load_config(config_path, env={"MEETBOT_ACCESS_TOKEN": token}))
    await service.start()
    assert service.bot is not None
    await asyncio.wait_for(service.bot.synced.wait(), timeout=30)
    return service


async def test_from_a_registration_token_to_a_bot_restored_from_its_backup(
    community: CommunityServer, tmp_path: Path
) -> None:
    hs = community
    admin = await asyncio.to_thread(hs.register, "admin", "admin-password", True)
    bot = _variables(hs, "meetbot")

    # 1. The admin makes a registration token; the bot's account is made with it.
    [made] = await run_block("admin-new-token", **bot, ADMIN_TOKEN=admin.access_token)
    [asked] = await run_block("register-ask", **bot)
    assert ["m.login.registration_token", "m.login.dummy"] in [
        flow["stages"] for flow in asked["flows"]
    ]
    *_, registered = await run_block(
        "register-token", **bot, REGISTRATION_TOKEN=made["token"], SESSION=asked["session"]
    )
    assert registered["user_id"] == bot["BOT"] and "access_token" not in registered

    # 2. A device of its own, by name; whoami says which device the token is.
    [login] = await run_block("login", **bot)
    token = login["access_token"]
    assert login["device_id"] == "MEETBOT1"
    [whoami] = await run_block("whoami", **bot, ACCESS_TOKEN=token)
    assert (whoami["user_id"], whoami["device_id"]) == (bot["BOT"], "MEETBOT1")
    assert await _devices(hs, token) == [("MEETBOT1", "meetbot")], "no other device was made"

    # 6. The admin exempts the bot from the rate limits.
    [limits] = await run_block("ratelimit", **bot, ADMIN_TOKEN=admin.access_token)
    assert limits == {"messages_per_second": 0, "burst_count": 0}

    # 3-4. The config of the guide; someone who is not a facilitator makes an encrypted room
    # and invites the bot once it runs.
    olga = await Participant.create(hs, "olga", encryption=True, store_dir=tmp_path / "olga")
    maya = await Participant.create(hs, "maya", encryption=True, store_dir=tmp_path / "maya")
    service: BotService | None = None
    try:
        room = await olga.create_room("Andes", invite=[maya.user_id], encrypted=True,
                                      alias="andes")
        await maya.join(room)
        config_path = tmp_path / "meetbot.yaml"
        settings = {
            "homeserver": hs.url,
            "user_id": bot["BOT"],
            "data_dir": str(tmp_path / "data"),
            "prompts_dir": str(PROMPTS),
            "facilitators": [maya.user_id],
            "regions": [{"id": "andes", "name": "Andes", "room": f"#andes:{hs.server_name}",
                         "languages": ["es", "en"], "timezone": "America/Bogota"}],
            "translation": {"backend": "none"},
        }
        config_path.write_text(yaml.safe_dump(settings))
        service = await _start(config_path, token)
        await olga.invite(room, bot["BOT"])
        await maya.wait_for_member(room, bot["BOT"], timeout=30)
        session = json.loads((tmp_path / "data" / "session.json").read_text())
        assert session["device_id"] == "MEETBOT1"

        # 5. Encrypted both ways with a device nobody verified.
        start = await maya.send(room, "!startmeeting Andes")
        await maya.wait_for_notice(room, "Meeting started", after=start)
        idea = await olga.send(room, "!idea una biblioteca común")
        await olga.wait_for_notice(room, "Idea #2", after=idea)  # in Spanish, the room's first

        # 7. The backup, as a separate process while the bot runs, without the secret.
        archive = tmp_path / "backups" / "meetbot.tar.gz"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEETBOT_")}
        backup = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "meetbot", "backup", "--config", str(config_path),
             "--out", str(archive)],
            env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120,
            check=False,
        )
        assert backup.returncode == 0, backup.stderr
        with tarfile.open(archive) as tar:
            names = set(tar.getnames())
        assert {"meetbot.sqlite3", "session.json", "meetbot-backup.json"} <= names
        assert any(re.fullmatch(r"crypto/.*MEETBOT1\.db", name) for name in names), names
        await service.stop()
        service = None

        # The restore of the guide: an empty folder, tar, the same config pointed at it.
        restored = tmp_path / "restored"
        restored.mkdir(mode=0o700)
        await asyncio.to_thread(
            subprocess.run, ["tar", "-xzf", str(archive), "-C", str(restored)], check=True
        )
        settings["data_dir"] = str(restored)
        config_path.write_text(yaml.safe_dump(settings))
        service = await _start(config_path, token)
        assert await _devices(hs, token) == [("MEETBOT1", "meetbot")], "the same device"

        after = await olga.send(room, "!idea después de restaurar")
        await olga.wait_for_notice(room, "Idea #3", after=after)
        listing = await maya.send(room, "!items")
        items = await maya.wait_for_notice(room, "después de restaurar", after=listing)
        assert "una biblioteca común" in items.body, items.body
    finally:
        if service is not None:
            await service.stop()
        await olga.close()
        await maya.close()


async def test_an_admin_makes_the_account_and_the_bot_logs_in_with_a_device_id(
    community: CommunityServer,
) -> None:
    admin = await asyncio.to_thread(community.register, "admin2", "admin-password", True)
    bot = _variables(community, "meetbot_by_admin")
    [made] = await run_block("admin-create-user", **bot, ADMIN_TOKEN=admin.access_token)
    assert made["name"] == bot["BOT"] and made["admin"] is False
    [login] = await run_block("login", **bot)
    [whoami] = await run_block("whoami", **bot, ACCESS_TOKEN=login["access_token"])
    assert whoami["device_id"] == login["device_id"] == "MEETBOT1"


async def test_a_token_copied_from_another_client_cannot_carry_the_bots_keys(
    community: CommunityServer, tmp_path: Path
) -> None:
    """Why the guide says never to reuse Element's token: a second key store for one device."""
    person = await asyncio.to_thread(community.register, "element_user", "password")
    answers = []
    for name in ("element", "bot"):  # the person's client first, then a bot with its token
        store = tmp_path / name
        store.mkdir()
        client = AsyncClient(
            community.url, person.user_id, device_id=person.device_id, store_path=str(store),
            config=AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False),
        )
        client.restore_login(person.user_id, person.device_id, person.access_token)
        try:
            answers.append(await client.keys_upload())
        finally:
            await client.close()
    assert isinstance(answers[0], KeysUploadResponse)
    assert isinstance(answers[1], KeysUploadError)
    assert "already exists" in answers[1].message

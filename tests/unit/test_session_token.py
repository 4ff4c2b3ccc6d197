"""Logging in with an access token: the device comes from whoami, else from ``device_id``;
a token of another account or another device is refused, naming both."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from meetbot.config.schema import Config
from meetbot.matrix.session import LoginFailed, open_session, session_file

Whoami = dict[str, Any]


@pytest.fixture
async def fake_homeserver() -> AsyncIterator[Callable[[Whoami], Awaitable[str]]]:
    runners: list[web.AppRunner] = []

    async def start(whoami: Whoami) -> str:
        async def answer(_request: web.Request) -> web.Response:
            return web.json_response(whoami)

        app = web.Application()
        app.router.add_get("/_matrix/client/v3/account/whoami", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


def _config(tmp_path: Path, url: str, **extra: Any) -> Config:
    return Config.model_validate({
        "homeserver": url, "user_id": "@bot:example.org", "access_token": "tok",
        "data_dir": str(tmp_path / "data"), "encryption": False, **extra,
    })


async def test_the_device_comes_from_whoami(fake_homeserver, tmp_path) -> None:
    url = await fake_homeserver({"user_id": "@bot:example.org", "device_id": "WHO"})
    config = _config(tmp_path, url)
    client = await open_session(config)
    await client.close()
    assert client.device_id == "WHO"
    assert json.loads(session_file(config).read_text())["device_id"] == "WHO"


async def test_device_id_stands_in_when_whoami_does_not_name_one(fake_homeserver, tmp_path):
    url = await fake_homeserver({"user_id": "@bot:example.org"})
    config = _config(tmp_path, url, device_id="CONF")
    client = await open_session(config)
    await client.close()
    assert client.device_id == "CONF"
    assert json.loads(session_file(config).read_text())["device_id"] == "CONF"


async def test_without_any_device_the_config_is_asked_for_one(fake_homeserver, tmp_path):
    url = await fake_homeserver({"user_id": "@bot:example.org"})
    with pytest.raises(LoginFailed, match="give device_id in the config"):
        await open_session(_config(tmp_path, url))


async def test_a_token_of_another_device_is_refused(fake_homeserver, tmp_path) -> None:
    url = await fake_homeserver({"user_id": "@bot:example.org", "device_id": "WHO"})
    with pytest.raises(LoginFailed, match="belongs to device WHO, not to device_id CONF"):
        await open_session(_config(tmp_path, url, device_id="CONF"))
    assert not session_file(_config(tmp_path, url)).exists()


async def test_a_token_of_another_account_is_refused(fake_homeserver, tmp_path) -> None:
    url = await fake_homeserver({"user_id": "@alice:example.org", "device_id": "WHO"})
    with pytest.raises(LoginFailed, match=r"belongs to @alice:example\.org, not to user_id"):
        await open_session(_config(tmp_path, url))

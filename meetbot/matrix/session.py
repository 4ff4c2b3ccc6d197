"""Log in once and keep the device: the access token and device id live in ``data_dir``.

A new device on every start would strand the bot's encryption keys, so the bot logs in with
its password only the first time and restores that session afterwards. It never calls
``logout()``: that would delete the device and its keys.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, LoginResponse, WhoamiResponse
from nio.crypto import ENCRYPTION_ENABLED

from meetbot.config import Config

log = logging.getLogger(__name__)


class LoginFailed(RuntimeError):
    pass


def session_file(config: Config) -> Path:
    return config.data_path / "session.json"


def make_client(config: Config, device_id: str | None = None) -> AsyncClient:
    store = config.data_path / "crypto"
    store.mkdir(parents=True, exist_ok=True)
    client_config = AsyncClientConfig(
        encryption_enabled=config.encryption and ENCRYPTION_ENABLED,
        store_sync_tokens=False,  # the bot keeps its own token, after it has handled a sync
        max_limit_exceeded=None,  # always retry 429s, waiting retry_after_ms
        max_timeouts=None,
        request_timeout=60,
    )
    return AsyncClient(
        config.homeserver,
        config.user_id,
        device_id=device_id,
        store_path=str(store),
        config=client_config,
    )


async def open_session(config: Config) -> AsyncClient:
    """A logged-in client with its crypto store loaded."""
    path = session_file(config)
    if path.exists():
        saved = json.loads(path.read_text())
        if saved.get("user_id") == config.user_id and saved.get("homeserver") == config.homeserver:
            client = make_client(config, saved["device_id"])
            client.restore_login(config.user_id, saved["device_id"], saved["access_token"])
            whoami = await client.whoami()
            if isinstance(whoami, WhoamiResponse):
                log.info("restored session for %s (device %s)", config.user_id, saved["device_id"])
                return client
            await client.close()
            log.warning("the saved session no longer works (%s); logging in again", whoami)
    if config.access_token is not None:
        client = make_client(config)
        client.access_token = config.access_token.get_secret_value()
        whoami = await client.whoami()
        if not isinstance(whoami, WhoamiResponse) or not whoami.device_id:
            await client.close()
            raise LoginFailed(f"access_token is not accepted by {config.homeserver}: {whoami}")
        await client.close()
        client = make_client(config, whoami.device_id)
        client.restore_login(
            config.user_id, whoami.device_id, config.access_token.get_secret_value()
        )
        _save(path, config, whoami.device_id, config.access_token.get_secret_value())
        return client
    assert config.password is not None
    client = make_client(config)
    response = await client.login(
        config.password.get_secret_value(), device_name=config.device_name
    )
    if not isinstance(response, LoginResponse):
        await client.close()
        raise LoginFailed(
            f"could not log in to {config.homeserver} as {config.user_id}: {response}"
        )
    _save(path, config, response.device_id, response.access_token)
    log.info("logged in as %s, new device %s", config.user_id, response.device_id)
    return client


def _save(path: Path, config: Config, device_id: str, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(
            {
                "user_id": config.user_id,
                "homeserver": config.homeserver,
                "device_id": device_id,
                "access_token": token,
            },
            fh,
        )
    os.replace(tmp, path)

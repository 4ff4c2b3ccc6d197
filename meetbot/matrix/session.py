"""Reach the homeserver, log in once and keep the device.

The access token and device id live in ``data_dir``. A new device on every start would
strand the bot's encryption keys, so the bot logs in with its password only the first time
and restores that session afterwards. It never calls ``logout()``: that would delete the
device and its keys.

Start-up is bounded: :func:`connect` probes ``/_matrix/client/versions`` itself, names the
homeserver and the error in plain words (:func:`classify_exception`,
:func:`classify_versions`, :func:`classify_error_response`), retries what may pass
(refused, timeout, DNS, 5xx) with a capped back-off until a deadline, and fails at once on
what will not (TLS, not a Matrix server, wrong password, deactivated account).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    LoginResponse,
    WhoamiResponse,
)
from nio.crypto import ENCRYPTION_ENABLED

from meetbot.config.schema import Config

log = logging.getLogger(__name__)

VERSIONS_PATH = "/_matrix/client/versions"
PROBE_TIMEOUT_S = 10.0
FIRST_RETRY_S = 1.0
MAX_RETRY_S = 15.0
# While running, nio retries unanswered requests itself, waiting at most this long between.
MAX_RUNNING_RETRY_S = 30.0
_TOKEN_ERRORS = ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN")


# -- what went wrong, in plain words ------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Why the homeserver cannot be used, for a person; ``transient``: worth retrying."""

    message: str
    transient: bool


class StartupFailed(Exception):
    """The bot could not start; the message names the homeserver and the error."""


class LoginFailed(RuntimeError):
    """The homeserver answered, but not with a session."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class Unreachable(Exception):
    """A request found no homeserver (raised instead of retrying while connecting)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


_DNSError: type[BaseException] | None = getattr(aiohttp, "ClientConnectorDNSError", None)


def classify_exception(exc: BaseException) -> Problem:
    """What an exception raised by a request to the homeserver means."""
    if isinstance(exc, (LoginFailed, Unreachable)):
        return exc.problem
    cert = getattr(exc, "certificate_error", None)
    if isinstance(exc, (aiohttp.ClientConnectorCertificateError, ssl.SSLCertVerificationError)):
        detail = getattr(cert or exc, "verify_message", None) or str(cert or exc)
        return Problem(f"TLS certificate error: {detail}", transient=False)
    os_error = getattr(exc, "os_error", None)
    if (_DNSError is not None and isinstance(exc, _DNSError)) or isinstance(
        os_error or exc, socket.gaierror
    ):
        host = getattr(exc, "host", None)
        gai = os_error if isinstance(os_error, socket.gaierror) else exc
        reason = getattr(gai, "strerror", None) or str(gai)
        name = f" {host!r}" if host else ""
        if getattr(gai, "errno", None) == socket.EAI_AGAIN:
            return Problem(f"DNS lookup of{name} failed for now ({reason})", transient=True)
        return Problem(f"DNS name{name} not found ({reason})", transient=True)
    if isinstance(exc, (aiohttp.ClientSSLError, ssl.SSLError)):
        return Problem(
            f"TLS error: {os_error or exc} (is it an http:// server addressed as https://?)",
            transient=False,
        )
    where = ""
    if isinstance(exc, aiohttp.ClientConnectorError):
        where = f" at {exc.host}:{exc.port}"
    cause = os_error if isinstance(os_error, OSError) else exc
    if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == (
        errno.ECONNREFUSED
    ):
        return Problem(
            f"connection refused (nothing listens{where}: is the homeserver running?)",
            transient=True,
        )
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) or isinstance(
        cause, TimeoutError
    ):
        return Problem(f"timed out: no answer{where}", transient=True)
    if isinstance(exc, aiohttp.ServerDisconnectedError) or isinstance(
        cause, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)
    ):
        return Problem("the server closed the connection", transient=True)
    if isinstance(exc, aiohttp.InvalidURL):
        return Problem(f"not a valid URL ({exc})", transient=False)
    if isinstance(cause, OSError) and getattr(cause, "strerror", None):
        return Problem(f"cannot connect{where}: {cause.strerror}", transient=True)
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        return Problem(f"cannot connect{where}: {type(exc).__name__}: {exc}", transient=True)
    return Problem(f"{type(exc).__name__}: {exc}", transient=False)


def classify_versions(status: int, body: bytes) -> Problem | None:
    """The answer to ``GET /_matrix/client/versions``: None if it is a Matrix server's."""
    if status == 429:
        return Problem("rate limited (HTTP 429)", transient=True)
    if status >= 500:
        return Problem(
            f"server error (HTTP {status} for {VERSIONS_PATH}; the homeserver behind it may "
            "be down or starting)",
            transient=True,
        )
    if status != 200:
        return Problem(
            f"not a Matrix server: HTTP {status} for {VERSIONS_PATH} (is this the "
            "client-server URL? see https://YOUR.DOMAIN/.well-known/matrix/client)",
            transient=False,
        )
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return Problem(
            f"not a Matrix server: {VERSIONS_PATH} did not answer JSON", transient=False
        )
    if not isinstance(data, dict) or not isinstance(data.get("versions"), list):
        return Problem(
            f"not a Matrix server: {VERSIONS_PATH} answered JSON without a list of versions",
            transient=False,
        )
    return None


def classify_error_response(
    errcode: str | None, message: str, http_status: int | None, *, user_id: str = "the bot"
) -> Problem:
    """An error the homeserver answered to a login or whoami (nio's ErrorResponse fields)."""
    said = f" ({errcode}: {message})" if errcode else (f" ({message})" if message else "")
    if errcode == "M_FORBIDDEN":
        return Problem(f"login as {user_id} refused: wrong user id or password{said}", False)
    if errcode == "M_USER_DEACTIVATED":
        return Problem(f"the account {user_id} is deactivated{said}", False)
    if errcode in _TOKEN_ERRORS:
        return Problem(f"the access token of {user_id} is not accepted{said}", False)
    if errcode == "M_LIMIT_EXCEEDED" or http_status == 429:
        return Problem(f"rate limited{said}", True)
    if http_status is not None and http_status >= 500:
        return Problem(f"server error (HTTP {http_status}){said}", True)
    if errcode is None and http_status is None:
        return Problem(f"no usable answer{said}", True)
    status = f"HTTP {http_status}" if http_status is not None else "an error"
    return Problem(f"the homeserver answered {status}{said}", False)


def _response_problem(response: Any, user_id: str) -> Problem:
    transport = getattr(response, "transport_response", None)
    return classify_error_response(
        getattr(response, "status_code", None),
        getattr(response, "message", "") or "",
        getattr(transport, "status", None),
        user_id=user_id,
    )


async def probe(homeserver: str, timeout: float = PROBE_TIMEOUT_S) -> Problem | None:
    """Ask the homeserver for its versions: None if a Matrix server answered."""
    url = homeserver.rstrip("/") + VERSIONS_PATH
    try:
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout)
        ) as session, session.get(url) as response:
            body = await response.read()
            return classify_versions(response.status, body)
    except Exception as exc:  # every failure is a Problem; cancellation passes
        return classify_exception(exc)


# -- the client -----------------------------------------------------------------------------


class MatrixClient(AsyncClient):
    """nio's client, which names its homeserver and the error when it retries a request.

    nio retries unanswered requests forever (the running bot rides out outages that way);
    each wait is an ``asyncio.sleep``, so cancelling the request's task ends it. While the
    bot connects, ``fail_fast`` turns those retries into :class:`Unreachable`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fail_fast = False
        self.last_problem: Problem | None = None

    async def send(self, *args: Any, **kwargs: Any) -> aiohttp.ClientResponse:
        try:
            response = await super().send(*args, **kwargs)
        except (aiohttp.ClientConnectionError, asyncio.TimeoutError, TimeoutError) as exc:
            self.last_problem = classify_exception(exc)
            if self.fail_fast:
                raise Unreachable(self.last_problem) from exc
            raise
        if response.status >= 500:
            self.last_problem = Problem(f"server error (HTTP {response.status})", True)
        else:
            self.last_problem = None
        return response

    async def get_timeout_retry_wait_time(self, got_timeouts: int) -> float:
        wait = await super().get_timeout_retry_wait_time(got_timeouts)
        problem = self.last_problem.message if self.last_problem else "no answer"
        log.warning("homeserver %s: %s; retrying in %.1fs", self.homeserver, problem, wait)
        return wait


class _QuietRetries(logging.Filter):
    """nio's own retry message names neither the server nor the error: ours replaces it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Timed out, sleeping")


_NIO_LOGGER = logging.getLogger("nio.client.async_client")


def session_file(config: Config) -> Path:
    return config.data_path / "session.json"


def make_client(config: Config, device_id: str | None = None) -> MatrixClient:
    if not any(isinstance(f, _QuietRetries) for f in _NIO_LOGGER.filters):
        _NIO_LOGGER.addFilter(_QuietRetries())
    store = config.data_path / "crypto"
    store.mkdir(parents=True, exist_ok=True)
    client_config = AsyncClientConfig(
        encryption_enabled=config.encryption and ENCRYPTION_ENABLED,
        store_sync_tokens=False,  # the bot keeps its own token, after it has handled a sync
        max_limit_exceeded=None,  # always retry 429s, waiting retry_after_ms
        max_timeouts=None,
        max_timeout_retry_wait_time=MAX_RUNNING_RETRY_S,
        request_timeout=60,
    )
    return MatrixClient(
        config.homeserver,
        config.user_id,
        device_id=device_id,
        store_path=str(store),
        config=client_config,
    )


async def connect(config: Config, deadline: float) -> MatrixClient:
    """A logged-in client, or :class:`StartupFailed` naming the homeserver and the error.

    Transient problems are retried with a capped back-off, each attempt logged, until
    ``deadline`` (the event loop's clock); permanent ones fail at once.
    """
    loop = asyncio.get_running_loop()
    url = config.homeserver
    started = loop.time()
    delay = FIRST_RETRY_S
    attempt = 0
    log.info("connecting to homeserver %s as %s", url, config.user_id)
    while True:
        attempt += 1
        remaining = deadline - loop.time()
        problem = await probe(url, timeout=max(1.0, min(PROBE_TIMEOUT_S, remaining)))
        if problem is None:
            try:
                return await asyncio.wait_for(
                    open_session(config), timeout=max(1.0, deadline - loop.time())
                )
            except (LoginFailed, Unreachable) as exc:
                problem = exc.problem
            except asyncio.TimeoutError:
                problem = Problem("timed out while logging in", transient=True)
        if not problem.transient:
            raise StartupFailed(f"cannot start: homeserver {url}: {problem.message}")
        remaining = deadline - loop.time()
        if remaining <= 0:
            waited = loop.time() - started
            raise StartupFailed(
                f"cannot start: homeserver {url}: {problem.message} "
                f"(gave up after {attempt} attempts in {waited:.0f}s; see startup_timeout)"
            )
        wait = min(delay, remaining)
        log.warning(
            "homeserver %s: %s (attempt %d); retrying in %.0fs",
            url, problem.message, attempt, wait,
        )
        await asyncio.sleep(wait)
        delay = min(delay * 2, MAX_RETRY_S)


async def open_session(config: Config) -> MatrixClient:
    """A logged-in client with its crypto store loaded.

    Raises :class:`LoginFailed` or :class:`Unreachable` (no retries: :func:`connect` retries);
    the client it made is closed on any failure, cancellation included.
    """
    path = session_file(config)
    if path.exists():
        saved = json.loads(path.read_text())
        if saved.get("user_id") == config.user_id and saved.get("homeserver") == config.homeserver:
            client = make_client(config, saved["device_id"])
            async with _closed_on_failure(client):
                client.restore_login(config.user_id, saved["device_id"], saved["access_token"])
                whoami = await client.whoami()
                if isinstance(whoami, WhoamiResponse):
                    log.info(
                        "restored session for %s (device %s)", config.user_id, saved["device_id"]
                    )
                    client.fail_fast = False
                    return client
                if getattr(whoami, "status_code", None) not in _TOKEN_ERRORS:
                    # The server is there but unwell: never strand the device for that.
                    raise LoginFailed(_response_problem(whoami, config.user_id))
            await client.close()
            log.warning("the saved session no longer works (%s); logging in again", whoami)
    if config.access_token is not None:
        token = config.access_token.get_secret_value()
        client = make_client(config)
        async with _closed_on_failure(client):
            client.access_token = token
            whoami = await client.whoami()
            if not isinstance(whoami, WhoamiResponse):
                if isinstance(whoami, ErrorResponse):
                    raise LoginFailed(_response_problem(whoami, config.user_id))
                raise LoginFailed(Problem(f"whoami answered {whoami}", False))
            device_id = _token_device(config, whoami)
        await client.close()
        client = make_client(config, device_id)
        client.restore_login(config.user_id, device_id, token)
        _save(path, config, device_id, token)
        return client
    assert config.password is not None
    client = make_client(config)
    async with _closed_on_failure(client):
        response = await client.login(
            config.password.get_secret_value(), device_name=config.device_name
        )
        if not isinstance(response, LoginResponse):
            raise LoginFailed(_response_problem(response, config.user_id))
    _save(path, config, response.device_id, response.access_token)
    log.info("logged in as %s, new device %s", config.user_id, response.device_id)
    client.fail_fast = False
    return client


def _token_device(config: Config, whoami: WhoamiResponse) -> str:
    """The device an access token belongs to: whoami's, else the config's ``device_id``."""
    user = config.user_id
    if whoami.user_id and whoami.user_id != user:
        raise LoginFailed(Problem(
            f"the access token belongs to {whoami.user_id}, not to user_id {user}", False
        ))
    if whoami.device_id and config.device_id and whoami.device_id != config.device_id:
        raise LoginFailed(Problem(
            f"the access token of {user} belongs to device {whoami.device_id}, "
            f"not to device_id {config.device_id}", False,
        ))
    device_id = whoami.device_id or config.device_id
    if not device_id:
        raise LoginFailed(Problem(
            f"the homeserver does not say which device the access token of {user} "
            "belongs to: give device_id in the config", False,
        ))
    return device_id


@contextlib.asynccontextmanager
async def _closed_on_failure(client: MatrixClient) -> AsyncIterator[None]:
    """Fail fast inside; close the client if anything (cancellation too) escapes."""
    client.fail_fast = True
    try:
        yield
    except BaseException:
        await client.close()
        raise


def _save(path: Path, config: Config, device_id: str, token: str) -> None:
    """Write the session atomically: a complete file or the previous one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
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
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)

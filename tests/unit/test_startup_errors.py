"""Start-up errors in plain words: what each failure means, and whether to retry it.

The classification is pure (exception or answer in, message and transient/permanent out);
the probe and ``connect`` are checked against small local servers (a closed port, an HTTP
server that is not Matrix, a fake Matrix login, a TLS server with a self-signed certificate).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.client_reqrep import ConnectionKey

from meetbot.config.schema import Config
from meetbot.matrix.session import (
    Problem,
    StartupFailed,
    classify_error_response,
    classify_exception,
    classify_versions,
    connect,
    make_client,
    probe,
    session_file,
)


def _key(host: str = "matrix.example.org", port: int = 443) -> ConnectionKey:
    return ConnectionKey(host, port, True, True, None, None, None, None)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- exceptions -----------------------------------------------------------------------------


def test_connection_refused_is_transient_and_says_so() -> None:
    exc = aiohttp.ClientConnectorError(
        _key("127.0.0.1", 8008), ConnectionRefusedError(111, "Connect call failed")
    )
    problem = classify_exception(exc)
    assert problem.transient
    assert problem.message.startswith("connection refused")
    assert "127.0.0.1:8008" in problem.message


def test_a_dns_name_not_found_is_named_and_retried() -> None:
    gai = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    exc = aiohttp.ClientConnectorDNSError(_key("matrx.example.org"), gai)
    problem = classify_exception(exc)
    assert problem == Problem(
        "DNS name 'matrx.example.org' not found (Name or service not known)", transient=True
    )


def test_a_dns_failure_without_aiohttps_dns_class_is_still_dns() -> None:
    gai = socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
    problem = classify_exception(aiohttp.ClientConnectorError(_key(), gai))
    assert problem.transient
    assert problem.message.startswith("DNS lookup of 'matrix.example.org' failed for now")
    assert classify_exception(gai).message.startswith("DNS lookup")


def test_a_certificate_error_is_permanent_and_says_why() -> None:
    cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    cert.verify_message = "certificate has expired"
    problem = classify_exception(aiohttp.ClientConnectorCertificateError(_key(), cert))
    assert problem == Problem("TLS certificate error: certificate has expired", transient=False)


def test_other_tls_errors_are_permanent() -> None:
    error = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    problem = classify_exception(aiohttp.ClientConnectorSSLError(_key(), error))
    assert not problem.transient
    assert problem.message.startswith("TLS error:")
    assert "WRONG_VERSION_NUMBER" in problem.message


@pytest.mark.parametrize(
    "exc",
    [
        asyncio.TimeoutError(),
        TimeoutError(),
        aiohttp.ServerTimeoutError("Timeout on reading data from socket"),
        aiohttp.ClientConnectorError(_key(), TimeoutError(110, "Connection timed out")),
    ],
)
def test_timeouts_are_transient(exc: BaseException) -> None:
    problem = classify_exception(exc)
    assert problem.transient
    assert problem.message.startswith("timed out")


def test_a_dropped_connection_is_transient() -> None:
    problem = classify_exception(aiohttp.ServerDisconnectedError())
    assert problem == Problem("the server closed the connection", transient=True)


def test_an_unreachable_network_is_transient_and_named() -> None:
    os_error = OSError(101, "Network is unreachable")
    problem = classify_exception(aiohttp.ClientConnectorError(_key(), os_error))
    assert problem.transient
    assert "Network is unreachable" in problem.message


def test_an_invalid_url_is_permanent() -> None:
    assert not classify_exception(aiohttp.InvalidURL("http://")).transient


# -- the versions endpoint --------------------------------------------------------------------


def test_a_matrix_servers_versions_are_fine() -> None:
    assert classify_versions(200, json.dumps({"versions": ["v1.11"]}).encode()) is None


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (200, b"<html>Welcome to nginx</html>", "did not answer JSON"),
        (200, b'{"hello": "world"}', "without a list of versions"),
        (200, b"\xff\xfe", "did not answer JSON"),
        (404, b"Not found", "HTTP 404"),
        (403, b"", "HTTP 403"),
    ],
)
def test_anything_else_is_not_a_matrix_server(status: int, body: bytes, says: str) -> None:
    problem = classify_versions(status, body)
    assert problem is not None and not problem.transient
    assert problem.message.startswith("not a Matrix server")
    assert says in problem.message


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_server_errors_are_transient(status: int) -> None:
    problem = classify_versions(status, b"<html>Bad Gateway</html>")
    assert problem is not None and problem.transient
    assert str(status) in problem.message


# -- login answers ----------------------------------------------------------------------------


def test_a_wrong_password_is_permanent() -> None:
    problem = classify_error_response(
        "M_FORBIDDEN", "Invalid username or password", 403, user_id="@bot:example.org"
    )
    assert not problem.transient
    assert "login as @bot:example.org refused: wrong user id or password" in problem.message
    assert "M_FORBIDDEN" in problem.message


def test_a_deactivated_account_is_permanent() -> None:
    problem = classify_error_response(
        "M_USER_DEACTIVATED", "This account has been deactivated", 403, user_id="@bot:x.org"
    )
    assert problem.message.startswith("the account @bot:x.org is deactivated")
    assert not problem.transient


def test_a_rejected_access_token_is_permanent() -> None:
    problem = classify_error_response("M_UNKNOWN_TOKEN", "Invalid access token", 401)
    assert "access token" in problem.message and not problem.transient


@pytest.mark.parametrize(
    ("errcode", "status"),
    [("M_LIMIT_EXCEEDED", 429), (None, 502), ("M_UNKNOWN", 500), (None, None)],
)
def test_busy_or_broken_servers_are_retried(errcode: str | None, status: int | None) -> None:
    assert classify_error_response(errcode, "", status).transient


def test_other_refusals_are_permanent_and_quoted() -> None:
    problem = classify_error_response("M_INVALID_USERNAME", "bad user", 400)
    assert not problem.transient
    assert "HTTP 400" in problem.message and "M_INVALID_USERNAME: bad user" in problem.message


# -- against real sockets ---------------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve_http() -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """Start a local aiohttp server with the given routes; returns its base URL."""
    runners: list[web.AppRunner] = []

    async def start(routes: dict[tuple[str, str], Handler], tls: ssl.SSLContext | None = None):
        app = web.Application()
        for (method, path), handler in routes.items():
            app.router.add_route(method, path, handler)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"{'https' if tls else 'http'}://127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def _versions(_request: web.Request) -> web.Response:
    return web.json_response({"versions": ["v1.11"]})


def _config(tmp_path: Path, homeserver: str, **extra: object) -> Config:
    return Config.model_validate({
        "homeserver": homeserver, "user_id": "@bot:example.org", "password": "secret",
        "data_dir": str(tmp_path / "data"), "encryption": False, **extra,
    })


async def test_the_probe_names_a_closed_port_refused() -> None:
    problem = await probe(f"http://127.0.0.1:{_closed_port()}", timeout=5)
    assert problem is not None and problem.transient
    assert problem.message.startswith("connection refused")


async def test_the_probe_tells_a_web_server_from_a_matrix_server(serve_http) -> None:
    async def page(_request: web.Request) -> web.Response:
        return web.Response(text="<html>hello</html>", content_type="text/html")

    web_url = await serve_http({("GET", "/_matrix/client/versions"): page})
    problem = await probe(web_url)
    assert problem is not None and not problem.transient
    assert "did not answer JSON" in problem.message
    matrix_url = await serve_http({("GET", "/_matrix/client/versions"): _versions})
    assert await probe(matrix_url + "/") is None


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


async def test_a_self_signed_certificate_fails_start_up_at_once(serve_http, tmp_path) -> None:
    url = await serve_http({("GET", "/_matrix/client/versions"): _versions},
                           tls=_self_signed(tmp_path))
    problem = await probe(url)
    assert problem is not None and not problem.transient
    assert problem.message.startswith("TLS certificate error: self")  # self-signed certificate
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(StartupFailed, match="TLS certificate error") as err:
        await connect(_config(tmp_path, url), deadline=began + 60)
    assert url in str(err.value)
    assert loop.time() - began < 5, "permanent errors are not retried"


async def test_https_to_a_plain_http_port_is_a_tls_error(serve_http) -> None:
    url = await serve_http({("GET", "/_matrix/client/versions"): _versions})
    problem = await probe(url.replace("http://", "https://"))
    assert problem is not None and not problem.transient
    assert problem.message.startswith("TLS error")


async def test_connect_retries_a_closed_port_until_its_deadline(tmp_path, caplog) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    loop = asyncio.get_running_loop()
    began = loop.time()
    with caplog.at_level(logging.WARNING, "meetbot.matrix.session"), pytest.raises(
        StartupFailed
    ) as err:
        await connect(_config(tmp_path, url), deadline=began + 1.5)
    took = loop.time() - began
    assert 1.4 < took < 4
    assert f"homeserver {url}: connection refused" in str(err.value)
    attempts = [r.getMessage() for r in caplog.records if "(attempt" in r.getMessage()]
    assert len(attempts) >= 2 and all(url in message for message in attempts)


async def test_connect_gives_up_at_once_on_a_wrong_password(serve_http, tmp_path) -> None:
    calls: list[str] = []

    async def login(_request: web.Request) -> web.Response:
        calls.append("login")
        return web.json_response(
            {"errcode": "M_FORBIDDEN", "error": "Invalid username or password"}, status=403
        )

    url = await serve_http({("GET", "/_matrix/client/versions"): _versions,
                            ("POST", "/_matrix/client/v3/login"): login})
    with pytest.raises(StartupFailed) as err:
        await connect(_config(tmp_path, url), deadline=asyncio.get_running_loop().time() + 60)
    assert "wrong user id or password" in str(err.value) and url in str(err.value)
    assert calls == ["login"]
    assert not session_file(_config(tmp_path, url)).exists()


async def test_connect_retries_a_failing_login_then_saves_the_session(
    serve_http, tmp_path
) -> None:
    answers = [web.Response(status=502, text="<html>Bad Gateway</html>"), web.json_response({
        "user_id": "@bot:example.org", "access_token": "tok", "device_id": "DEV",
    })]

    async def login(_request: web.Request) -> web.Response:
        return answers.pop(0)

    url = await serve_http({("GET", "/_matrix/client/versions"): _versions,
                            ("POST", "/_matrix/client/v3/login"): login})
    config = _config(tmp_path, url)
    client = await connect(config, deadline=asyncio.get_running_loop().time() + 30)
    try:
        assert client.access_token == "tok" and not client.fail_fast
    finally:
        await client.close()
    saved = json.loads(session_file(config).read_text())
    assert saved["device_id"] == "DEV"
    assert [p.name for p in session_file(config).parent.iterdir() if ".tmp" in p.name] == []


async def test_a_saved_session_is_kept_when_the_server_is_unwell(serve_http, tmp_path) -> None:
    """A 5xx on whoami is no reason for a new device (that would strand the keys)."""
    logins: list[str] = []

    async def whoami(_request: web.Request) -> web.Response:
        return web.Response(status=503, text="starting")

    async def login(_request: web.Request) -> web.Response:
        logins.append("login")
        return web.json_response({"user_id": "@bot:example.org", "access_token": "new",
                                  "device_id": "NEW"})

    url = await serve_http({("GET", "/_matrix/client/versions"): _versions,
                            ("GET", "/_matrix/client/v3/account/whoami"): whoami,
                            ("POST", "/_matrix/client/v3/login"): login})
    config = _config(tmp_path, url)
    path = session_file(config)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"user_id": "@bot:example.org", "homeserver": url,
                                "device_id": "OLD", "access_token": "old"}))
    loop = asyncio.get_running_loop()
    with pytest.raises(StartupFailed, match="HTTP 503"):
        await connect(config, deadline=loop.time() + 1.5)
    assert logins == []
    assert json.loads(path.read_text())["device_id"] == "OLD"


async def test_cancelling_nios_endless_retries_ends_them(tmp_path, caplog) -> None:
    """A running bot's client retries forever, naming the server; cancellation ends it."""
    url = f"http://127.0.0.1:{_closed_port()}"
    client = make_client(_config(tmp_path, url))
    client.restore_login("@bot:example.org", "DEV", "token")
    try:
        with caplog.at_level(logging.WARNING):
            request = asyncio.ensure_future(client.whoami())
            for _ in range(100):
                if any("retrying in" in r.getMessage() for r in caplog.records):
                    break
                await asyncio.sleep(0.05)
            assert not request.done(), "nio keeps retrying while the bot runs"
            request.cancel()
            done, _ = await asyncio.wait({request}, timeout=1)
            assert request in done and request.cancelled()
    finally:
        await client.close()
    retries = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert retries and f"homeserver {url}: connection refused" in retries[0]
    assert not any("Timed out, sleeping" in r.getMessage() for r in caplog.records)


async def test_no_first_sync_within_the_start_up_timeout_names_the_last_error(
    serve_http, tmp_path
) -> None:
    """Logged in, but the homeserver never completes a sync: serve() gives up, naming it."""
    from meetbot.runtime.service import serve

    async def login(_request: web.Request) -> web.Response:
        return web.json_response({"user_id": "@bot:example.org", "access_token": "tok",
                                  "device_id": "DEV"})

    async def sync(_request: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>Bad Gateway</html>")

    url = await serve_http({("GET", "/_matrix/client/versions"): _versions,
                            ("POST", "/_matrix/client/v3/login"): login,
                            ("GET", "/_matrix/client/v3/sync"): sync})
    config = _config(tmp_path, url, startup_timeout="2s", translation={"backend": "none"})
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(StartupFailed) as err:
        await serve(config)
    assert 1.9 < loop.time() - began < 6
    assert f"homeserver {url}: server error (HTTP 502)" in str(err.value)
    assert "no sync within 2s" in str(err.value)

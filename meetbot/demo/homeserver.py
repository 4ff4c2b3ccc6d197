"""Run an embedded Synapse homeserver on 127.0.0.1 for tests and ``meetbot demo``.

The server lives entirely in one data directory: the generated ``homeserver.yaml``
(made once), an override file rewritten on every start, the SQLite database, the
signing key, the media store and ``synapse.log``.  Starting again on the same
directory therefore keeps every user, room and message, which is what the demo's
``--keep-running`` and the bot-restart tests rely on.

Example::

    with Homeserver(Path("demo-data")) as hs:
        alice = hs.register("alice", "secret")
        print(hs.url, alice.access_token)
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["Homeserver", "HomeserverError", "RegisteredUser"]

CONFIG_FILE = "homeserver.yaml"
OVERRIDE_FILE = "meetbot-override.yaml"
SECRET_FILE = "registration_shared_secret"
PORT_FILE = "port"
LOG_FILE = "synapse.log"

# Effectively "no limit": far more than any test can produce.
_UNLIMITED: dict[str, float] = {"per_second": 10000, "burst_count": 100000}

# Key names come from synapse/config/ratelimiting.py.
_FLAT_RATE_LIMITS = (
    "rc_message",
    "rc_registration",
    "rc_joins_per_room",
    "rc_room_creation",
    "rc_key_requests",
    "rc_3pid_validation",
    "rc_admin_redaction",
    "rc_media_create",
    "rc_profile",
    "rc_user_directory",
    "rc_delayed_event_mgmt",
    "rc_reports",
)
_NESTED_RATE_LIMITS = {
    "rc_login": ("address", "account", "failed_attempts"),
    "rc_joins": ("local", "remote"),
    "rc_invites": ("per_room", "per_user", "per_issuer"),
    "rc_presence": ("per_user",),
}


class HomeserverError(RuntimeError):
    """Synapse failed to start, died, or refused a request."""


@dataclass(frozen=True)
class RegisteredUser:
    """Credentials of a user on the embedded homeserver (one logged-in device)."""

    user_id: str
    password: str
    access_token: str
    device_id: str


def unlimited_rate_limits() -> dict[str, Any]:
    """Return Synapse config keys that switch every ``rc_*`` rate limit off."""
    limits: dict[str, Any] = {key: dict(_UNLIMITED) for key in _FLAT_RATE_LIMITS}
    for key, subkeys in _NESTED_RATE_LIMITS.items():
        limits[key] = {sub: dict(_UNLIMITED) for sub in subkeys}
    return limits


def _free_port() -> int:
    """Ask the kernel for a free TCP port on loopback.

    The socket is closed before Synapse binds, so another process may win the
    port in between; :meth:`Homeserver.start` retries when that happens.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Twisted listens with SO_REUSEADDR, so a port left in TIME_WAIT by the
        # previous run is usable; only a live listener makes it busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Homeserver:
    """An embedded Synapse process bound to 127.0.0.1.

    Args:
        data_dir: Directory holding config, database, keys and log; created if missing.
        server_name: Matrix server name (the part after ``:`` in user ids). Fixed once
            the config has been generated in ``data_dir``.
        port: TCP port to listen on; ``None`` reuses the port of the previous run in
            this directory when it is free, else picks a free one.
        rate_limits: ``False`` switches every ``rc_*`` limit off (functional tests);
            ``True`` keeps Synapse's defaults, as a real deployment has them.
        python: Interpreter that has ``matrix-synapse`` installed.
    """

    start_timeout: float = 60.0
    stop_timeout: float = 10.0
    _port_attempts: int = 5

    def __init__(
        self,
        data_dir: Path,
        *,
        server_name: str = "localhost",
        port: int | None = None,
        rate_limits: bool = False,
        python: str = sys.executable,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self._server_name = server_name
        self._requested_port = port
        self._port: int | None = port
        self.rate_limits = rate_limits
        self.python = python
        self._proc: subprocess.Popen[bytes] | None = None

    # -- properties -------------------------------------------------------------

    @property
    def server_name(self) -> str:
        """The Matrix server name, e.g. ``localhost``."""
        return self._server_name

    @property
    def port(self) -> int:
        """The TCP port of the client API (only known once started)."""
        if self._port is None:
            raise HomeserverError("the homeserver has no port yet; call start() first")
        return self._port

    @property
    def url(self) -> str:
        """Base URL of the client-server API, e.g. ``http://127.0.0.1:8008``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """File that receives Synapse's stdout and stderr."""
        return self.data_dir / LOG_FILE

    @property
    def running(self) -> bool:
        """True while the Synapse process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """PID of the Synapse process, or None when not started."""
        return self._proc.pid if self._proc is not None else None

    def user_id(self, localpart: str) -> str:
        """Full Matrix id for ``localpart`` on this server."""
        return f"@{localpart}:{self._server_name}"

    # -- lifecycle --------------------------------------------------------------

    def start(self) -> Homeserver:
        """Generate the config if needed, start Synapse and wait until it answers.

        Idempotent while running. Raises :class:`HomeserverError` with the tail of
        Synapse's log if the process exits or does not answer in time.
        """
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._generate_config()
        for attempt in range(self._port_attempts):
            self._port = self._choose_port(fresh=attempt > 0)
            self._write_override()
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            self._spawn()
            try:
                self._wait_ready(log_offset)
            except HomeserverError as exc:
                self._reap()
                # Lost the race for an auto-picked port: try another one.
                if self._requested_port is None and "Address already in use" in str(exc):
                    continue
                raise
            (self.data_dir / PORT_FILE).write_text(str(self._port))
            return self
        raise HomeserverError(f"no free port after {self._port_attempts} attempts")

    def stop(self) -> None:
        """Stop Synapse: SIGTERM, then SIGKILL if it has not exited in time."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                proc.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                proc.wait(timeout=self.stop_timeout)
        self._proc = None

    def __enter__(self) -> Homeserver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = 40, *, since: int = 0) -> str:
        """Last ``lines`` lines of Synapse's log, starting at byte offset ``since``."""
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(since)
                text = fh.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    # -- start helpers ----------------------------------------------------------

    def _generate_config(self) -> None:
        """Run Synapse's config generator once per data directory."""
        config = self.data_dir / CONFIG_FILE
        if config.exists():
            self._check_server_name(config)
            return
        cmd = [
            self.python, "-m", "synapse.app.homeserver",
            "--server-name", self._server_name,
            "--config-path", str(config),
            "--data-directory", str(self.data_dir),
            "--generate-config",
            "--report-stats=no",
        ]  # fmt: skip
        result = subprocess.run(cmd, cwd=self.data_dir, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise HomeserverError(
                f"synapse --generate-config failed ({result.returncode}):\n{result.stderr}"
            )

    def _check_server_name(self, config: Path) -> None:
        # The database is bound to the server name; a mismatch would fail later
        # with a far less obvious error from Synapse.
        for line in config.read_text().splitlines():
            if line.startswith("server_name:"):
                existing = line.split(":", 1)[1].strip().strip("\"'")
                if existing != self._server_name:
                    raise HomeserverError(
                        f"{config} was generated for server_name {existing!r}, "
                        f"not {self._server_name!r}"
                    )
                return

    def _choose_port(self, *, fresh: bool) -> int:
        if self._requested_port is not None:
            return self._requested_port
        # Keep the URL stable across restarts so clients configured with it still work.
        if not fresh:
            if self._port is not None and _port_is_free(self._port):
                return self._port
            previous = self._previous_port()
            if previous is not None and _port_is_free(previous):
                return previous
        return _free_port()

    def _previous_port(self) -> int | None:
        try:
            return int((self.data_dir / PORT_FILE).read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _shared_secret(self) -> str:
        """Registration secret, persisted so it survives restarts."""
        path = self.data_dir / SECRET_FILE
        if not path.exists():
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def _override(self) -> dict[str, Any]:
        override: dict[str, Any] = {
            "server_name": self._server_name,
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "registration_shared_secret": self._shared_secret(),
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "report_stats": False,
            "presence": {"enabled": False},
            # No log config: Synapse logs to stderr, which start() sends to log_path.
            "log_config": None,
            # Password hashing at the default 12 rounds costs ~0.25 s per login.
            "bcrypt_rounds": 4,
        }
        if not self.rate_limits:
            override.update(unlimited_rate_limits())
        return override

    def _write_override(self) -> None:
        # JSON is valid YAML, and keeps this module free of a YAML dependency.
        path = self.data_dir / OVERRIDE_FILE
        path.write_text(json.dumps(self._override(), indent=2))

    def _spawn(self) -> None:
        cmd = [
            self.python, "-m", "synapse.app.homeserver",
            "-c", str(self.data_dir / CONFIG_FILE),
            "-c", str(self.data_dir / OVERRIDE_FILE),
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            # A new session: Ctrl-C in the terminal does not hit Synapse directly,
            # and stop() can signal the whole process group.
            self._proc = subprocess.Popen(
                cmd,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_ready(self, log_offset: int) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        url = f"{self.url}/_matrix/client/versions"
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise HomeserverError(
                    f"Synapse exited with code {code} while starting; log tail:\n"
                    + self.log_tail(since=log_offset)
                )
            try:
                with urllib.request.urlopen(url, timeout=1.0) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            # Waiting on the process doubles as the pause: a Synapse that dies wakes us at once.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=0.1)
        raise HomeserverError(
            f"Synapse did not answer on {url} within {self.start_timeout:.0f} s; log tail:\n"
            + self.log_tail(since=log_offset)
        )

    def _signal(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        # The group may already be gone if Synapse exited on its own.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)

    def _reap(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self.stop()
        self._proc = None

    # -- users ------------------------------------------------------------------

    def register(
        self,
        username: str,
        password: str,
        admin: bool = False,
        *,
        device_id: str | None = None,
    ) -> RegisteredUser:
        """Create ``username`` via the shared-secret admin API and return a session.

        If the user already exists, log in with ``password`` instead (so calling this
        again after a restart is fine). ``device_id`` is only honoured on that login
        path; pass it to keep an E2EE device (and its keys) across runs.
        """
        nonce = self._request("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(self._shared_secret().encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([
            nonce.encode(),
            username.encode(),
            password.encode(),
            b"admin" if admin else b"notadmin",
        ]))  # fmt: skip
        body = {
            "nonce": nonce,
            "username": username,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        try:
            data = self._request("POST", "/_synapse/admin/v1/register", body)
        except HomeserverError as exc:
            if "M_USER_IN_USE" not in str(exc):
                raise
            return self.login(username, password, device_id=device_id)
        return RegisteredUser(
            user_id=data["user_id"],
            password=password,
            access_token=data["access_token"],
            device_id=data["device_id"],
        )

    def login(
        self, username: str, password: str, *, device_id: str | None = None
    ) -> RegisteredUser:
        """Log in with a password; a new device unless ``device_id`` is given."""
        body: dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": username},
            "password": password,
        }
        if device_id is not None:
            body["device_id"] = device_id
        data = self._request("POST", "/_matrix/client/v3/login", body)
        return RegisteredUser(
            user_id=data["user_id"],
            password=password,
            access_token=data["access_token"],
            device_id=data["device_id"],
        )

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send one JSON request; raise HomeserverError with errcode on failure."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                result: dict[str, Any] = json.loads(resp.read())
                return result
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", errors="replace")
            raise HomeserverError(f"{method} {path} -> {exc.code}: {detail}") from None

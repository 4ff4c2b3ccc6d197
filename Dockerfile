# meetbot in a container: a slim Python base, a non-root user, its state in /data.
#
#   docker build -t meetbot .
#   docker build -t meetbot --build-arg ARGOS_LANGUAGES="es fr" .   # bakes Argos models in
#   docker run -v ./meetbot.yaml:/config/meetbot.yaml:ro -v meetbot-data:/data meetbot
#
# Config: a mounted file (MEETBOT_CONFIG, default /config/meetbot.yaml); secrets may come from
# the environment instead (MEETBOT_PASSWORD or MEETBOT_ACCESS_TOKEN). See docs/deployment.md.

# An exact Python release on an exact Debian release (a digest cannot be looked up offline;
# add @sha256:... here if you build from a registry you trust). Python major.minor must match
# the one deploy/constraints.txt was made with (scripts/update-constraints.sh).
ARG PYTHON_VERSION=3.11.13
ARG DEBIAN_RELEASE=bookworm

# -- build: the virtualenv, pinned; every dependency is a wheel, so no compiler --------------
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS build

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
ENV PATH=/opt/meetbot/venv/bin:$PATH

# Space-separated Argos languages to bake in (e.g. "es fr"); empty: no Argos at all.
ARG ARGOS_LANGUAGES=""
# Extra optional dependencies, comma-separated (e.g. "reports"); Argos is added when needed,
# without stanza and torch (meetbot runs neither; see docs/deployment.md for the sizes).
ARG EXTRAS="reports"

WORKDIR /src
COPY pyproject.toml ./
COPY deploy/install-venv.sh deploy/constraints.txt ./deploy/
COPY meetbot ./meetbot
COPY prompts ./prompts
# pyproject names a README; the build does not need the real one.
RUN touch README.md \
    && ARGOS=0 \
    && if [ -n "$ARGOS_LANGUAGES" ]; then ARGOS=1; fi \
    && EXTRAS="$EXTRAS" ARGOS="$ARGOS" sh deploy/install-venv.sh /opt/meetbot/venv /src

# Download the models at build time, so the running bot never needs the internet.
RUN mkdir -p /opt/meetbot/models \
    && if [ -n "$ARGOS_LANGUAGES" ]; then \
         meetbot models install --models-dir /opt/meetbot/models $ARGOS_LANGUAGES; \
       fi

# -- runtime ------------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE}

# tini reaps children and forwards signals. (Encryption needs no system library: matrix-nio
# uses vodozemac, which comes as a wheel.)
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 meetbot \
    && useradd --system --uid 10001 --gid meetbot --home-dir /data --shell /usr/sbin/nologin meetbot \
    && mkdir -p /data /config \
    && chown meetbot:meetbot /data

COPY --from=build /opt/meetbot/venv /opt/meetbot/venv
COPY --from=build /src/prompts /opt/meetbot/prompts
# Argos keeps a little state beside its models: the bot's user owns them.
COPY --from=build --chown=10001:10001 /opt/meetbot/models /opt/meetbot/models

ENV PATH=/opt/meetbot/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MEETBOT_CONFIG=/config/meetbot.yaml \
    MEETBOT_HEALTH_PORT=9108

USER 10001:10001
WORKDIR /data
VOLUME /data

# Healthy while the bot syncs with its homeserver: `meetbot healthcheck` asks /healthz on
# 127.0.0.1:9108 (MEETBOT_HEALTH_PORT turns health on when the config has no `health:` key;
# a `health:` key wins). A bot stuck starting or without a sync for 90s is unhealthy. The
# start period covers the start-up timeout (2m).
HEALTHCHECK --interval=30s --timeout=15s --start-period=150s --retries=3 \
    CMD ["meetbot", "healthcheck"]

ENTRYPOINT ["tini", "--", "meetbot"]
CMD ["run"]

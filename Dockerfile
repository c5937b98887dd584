# The Routines service: one image for every process type.
#
#   make image                                    # podman or docker, whichever is installed
#   podman run --rm routines:0.1.0 db upgrade     # then: web | worker | scheduler
#
# BASE may be any Debian-like image with `python3` (3.11+) and its venv module: the
# default, or a local one such as the Debian bookworm rootfs that
# tests/e2e/test_container_image.py makes with mmdebstrap. Nothing here names a fixed
# interpreter path, so both work. Both stages use the same BASE, so the virtualenv's
# interpreter link stays valid when it is copied across.
ARG BASE=python:3.11-slim-bookworm

# --- build: a virtualenv with the service and its runtime dependencies only ---------
FROM ${BASE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1

# Only for a build behind an intercepting HTTPS proxy: a CA bundle (mounted into the
# build) that pip should trust. Unset, pip uses its own.
ARG PIP_CERT

RUN python3 -m venv /opt/routines

# The dependencies first, from the lock file (pinned, every file's hash checked), so
# that a change to the code rebuilds only the small layer below. Every one ships a
# wheel: no compiler needed.
WORKDIR /src
COPY requirements.txt ./
RUN /opt/routines/bin/pip install --require-hashes --only-binary=:all: -r requirements.txt

COPY pyproject.toml ./
COPY shared ./shared
COPY web ./web
COPY workers ./workers
COPY scheduler ./scheduler
COPY launcher ./launcher
# A regular (not editable) install: migrations and web/ops_page.html travel as package
# data, so the final image needs no source tree.
# pip and setuptools are install-time tools: they stay behind in this stage.
RUN /opt/routines/bin/pip install --no-deps . \
 && /opt/routines/bin/pip uninstall -q -y pip setuptools

# --- final: the base, an unprivileged user and the virtualenv; no build tools -------
FROM ${BASE}

# UID/GID 10001, as k8s/base/*.yaml run every pod (runAsUser/runAsGroup/fsGroup).
# Written straight into /etc/passwd and /etc/group: a minimal base may lack useradd.
RUN echo 'routines:x:10001:' >> /etc/group \
 && echo 'routines:x:10001:10001:Routines service:/home/routines:/usr/sbin/nologin' >> /etc/passwd \
 && mkdir -p /home/routines \
 && chown 10001:10001 /home/routines \
 && chmod 0750 /home/routines

COPY --from=build /opt/routines /opt/routines

ENV PATH=/opt/routines/bin:$PATH \
    HOME=/home/routines \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ROUTINES_BIND=0.0.0.0:3100

USER 10001:10001
WORKDIR /home/routines

# web 3100; worker and scheduler serve /metrics and /health on 9191 and 9300.
EXPOSE 3100 9191 9300

# Last, so that a new revision rebuilds no layer but this metadata.
ARG BASE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="routines" \
      org.opencontainers.image.description="Recurring and event-driven work for AI agents: cron, webhooks and API fires turned into execution issues." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${BASE}"

ENTRYPOINT ["routines"]
CMD ["web"]

# syntax=docker/dockerfile:1
# One image for every Feira process: each service (gunicorn), the gateway (nginx) and the one-shot
# steps (`python -m stack.compose keys|migrate`). docker-compose.yml chooses the command; no secret
# is in the image, they all come from the environment at run time.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS dependencies
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /build
# `pip install .` on pyproject.toml alone installs the project's dependencies (no dev extras) in a
# layer that a code change does not invalidate. The code itself runs from /app (below): the gunicorn
# settings, the gateway templates and the migrations are files beside it, found from its path.
COPY pyproject.toml ./
RUN --mount=type=cache,target=/root/.cache/pip /opt/venv/bin/pip install .

FROM ${PYTHON_IMAGE}
# The same nginx package `make up` installs (stack/ensure-system.sh); psycopg[binary] needs no libpq.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx-light \
    && rm -rf /var/lib/apt/lists/*
# A fixed numeric uid, so Kubernetes' runAsNonRoot can check it. /var/lib/feira is the run
# directory (rendered nginx config, metrics); keys/, media/ and monitoring/ hold the mount points of
# the key, picture and status snapshot volumes, and a new named volume takes its owner and mode
# from them.
RUN groupadd --system --gid 10001 feira \
    && useradd --system --uid 10001 --gid feira --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin feira \
    && install -d -o feira -g feira -m 0755 /var/lib/feira /var/lib/feira/keys \
        /var/lib/feira/keys/public /var/lib/feira/media /var/lib/feira/monitoring \
    && install -d -o feira -g feira -m 0700 /var/lib/feira/keys/signing
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /app
# Owned by root: the processes can read the code, not change it.
COPY . .
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FEIRA_RUN_DIR=/var/lib/feira
USER 10001:10001
CMD ["python", "-m", "stack.compose", "--help"]

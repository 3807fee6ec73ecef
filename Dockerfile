# condorbot: the signal service. Build: `docker build -t condorbot .`; run with docker-compose.yml.
# Two stages: the first may compile (build tools for any dependency without a wheel for this
# platform), the second carries only the virtualenv, the shipped data and no compiler.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"
WORKDIR /src
# Dependencies change less often than the code: keep them in their own layer.
# constraints.txt: the exact versions the tests and the published figures were made with.
COPY pyproject.toml README.md constraints.txt ./
RUN mkdir -p core bot && touch core/__init__.py bot/__init__.py \
    && pip install -c constraints.txt . \
    && pip uninstall -y condorbot
COPY core ./core
COPY bot ./bot
RUN pip install --no-deps .

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="condorbot" \
      org.opencontainers.image.description="SPX iron-condor signals with an adaptive layered VIX hedge"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/opt/venv/bin:${PATH}" \
    DATA_DIR=/app/data \
    STATE_DIR=/var/lib/condorbot
# A fixed, unprivileged uid/gid so volume ownership is predictable across rebuilds.
RUN groupadd --system --gid 10001 condorbot \
    && useradd --system --uid 10001 --gid condorbot --home-dir /app --shell /usr/sbin/nologin condorbot \
    && mkdir -p /app /var/lib/condorbot \
    && chown condorbot:condorbot /var/lib/condorbot
COPY --from=build /opt/venv /opt/venv
# Market data the recorded source and the calendars read (read-only for the bot).
COPY data /app/data
WORKDIR /app
USER condorbot
VOLUME ["/var/lib/condorbot"]
# `condorbot health` exits non-zero when Redis does not answer or the process is not healthy.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD condorbot health || exit 1
ENTRYPOINT ["condorbot"]
CMD ["run"]

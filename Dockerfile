# syntax=docker/dockerfile:1
# acronis-task-exporter: Prometheus exporter for the Acronis Task Manager API v2.
#
#   docker build -t acronis-task-exporter .
#   docker run --rm -p 9862:9862 acronis-task-exporter --demo
#
# Two stages: the build stage installs the package into a virtual environment, the
# runtime stage copies only that venv onto a clean slim image (no pip cache, no build
# tools, no source tree). No credential is ever baked in: pass them at run time as
# ACRONIS_EXPORTER_* variables or, better, as files (--api.client-secret-file).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/acronis-task-exporter
COPY pyproject.toml README.md ./
COPY exporter ./exporter
# The simulator is a sibling package, shipped for --demo and the compose demo stack.
COPY simulator ./simulator
# Not editable, no dev extras: the runtime gets the package and its dependencies only.
RUN /opt/acronis-task-exporter/bin/pip install --no-cache-dir . \
    && /opt/acronis-task-exporter/bin/python -m compileall -q /opt/acronis-task-exporter

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="acronis-task-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the Acronis Cyber Protect Cloud Task Manager API v2" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="deploy/README.md in the source repository"
COPY --from=build /opt/acronis-task-exporter /opt/acronis-task-exporter
COPY deploy/docker/healthcheck.py /opt/acronis-task-exporter/healthcheck.py
# The revision feeds acronis_exporter_build_info; its name sits outside the settings prefix.
ENV PATH=/opt/acronis-task-exporter/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ACRONIS_TASK_EXPORTER_REVISION=${REVISION}
# 65532 is the "nonroot" id distroless images use: no passwd entry is needed, and a
# numeric USER lets Kubernetes prove runAsNonRoot without resolving a name.
USER 65532:65532
EXPOSE 9862
# No curl in slim images: the venv's own Python asks /healthz (port and TLS follow the
# ACRONIS_EXPORTER_WEB__* variables, so a changed listen address keeps the check right).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/opt/acronis-task-exporter/healthcheck.py"]
ENTRYPOINT ["acronis-task-exporter"]

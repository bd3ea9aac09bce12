# acronis-task-exporter: Prometheus exporter for the Acronis Task Manager API v2.
#
#   docker build -t acronis-task-exporter .
#   docker run --rm -p 9862:9862 acronis-task-exporter --demo
#
# Two stages: the build stage installs the locked dependencies and the package into a
# virtual environment that never had pip, the runtime stage copies only that venv onto a
# clean slim image (no pip, setuptools, build tools or source tree). No credential is ever
# baked in: pass them at run time as ACRONIS_EXPORTER_* variables or, better, as files
# (--api.client-secret-file). deploy/README.md ("Container image") explains the build
# arguments, how to move the base digest, and how to refresh the locks.

# The base, pinned by digest so a rebuild gets the same Python and Debian packages.
# To move it, see "Updating the base image" in deploy/README.md.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

FROM ${PYTHON_IMAGE} AS build
# Offline builds (the test suite, an air-gapped CI) pass --build-arg PIP_NO_INDEX=1 and
# --build-arg PIP_FIND_LINKS=<a mounted wheelhouse>; pip reads both from the environment.
# Not passed, they stay unset and pip uses its index as usual.
ARG PIP_NO_INDEX
ARG PIP_FIND_LINKS
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements.lock requirements-build.lock pyproject.toml README.md ./
COPY exporter ./exporter
# The simulator is a sibling package, shipped for --demo and the compose demo stack.
COPY simulator ./simulator
# A throwaway tools venv (pinned pip, setuptools, wheel; every file hash-checked) builds
# the package's wheel and installs into the runtime venv from outside it (pip --python),
# so the runtime venv is created --without-pip and pip, setuptools and pkg_resources
# never reach the image. requirements.lock is installed in hash-checking mode, which also
# fails the build if the lock misses a dependency; `pip check` proves the package's own
# requirements are met by it.
RUN python -m venv /opt/build-tools \
    && /opt/build-tools/bin/pip install --no-cache-dir --only-binary=:all: --require-hashes \
        -r requirements-build.lock \
    && /opt/build-tools/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /tmp/dist . \
    && python -m venv --without-pip /opt/acronis-task-exporter \
    && /opt/build-tools/bin/pip --python /opt/acronis-task-exporter/bin/python install --no-cache-dir \
        --only-binary=:all: --require-hashes -r requirements.lock \
    && /opt/build-tools/bin/pip --python /opt/acronis-task-exporter/bin/python install --no-cache-dir \
        --no-deps /tmp/dist/*.whl \
    && /opt/build-tools/bin/pip --python /opt/acronis-task-exporter/bin/python check \
    && /opt/acronis-task-exporter/bin/python -m compileall -q /opt/acronis-task-exporter

FROM ${PYTHON_IMAGE}
# VERSION follows exporter.__version__; REVISION is the git commit; CREATED is RFC 3339,
# by default the commit's time (make image passes it), so a rebuild of one commit labels
# alike. SOURCE_URL is where the source is published.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG SOURCE_URL=https://github.com/acronis-task-exporter/acronis-task-exporter
LABEL org.opencontainers.image.title="acronis-task-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the Acronis Cyber Protect Cloud Task Manager API v2" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.url="${SOURCE_URL}" \
      org.opencontainers.image.documentation="${SOURCE_URL}/blob/main/deploy/README.md"
COPY --from=build /opt/acronis-task-exporter /opt/acronis-task-exporter
# The revision feeds acronis_exporter_build_info; its name sits outside the settings prefix.
ENV PATH=/opt/acronis-task-exporter/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ACRONIS_TASK_EXPORTER_REVISION=${REVISION}
# 65532 is the "nonroot" id distroless images use: no passwd entry is needed, and a
# numeric USER lets Kubernetes prove runAsNonRoot without resolving a name.
USER 65532:65532
EXPOSE 9862
# No curl in slim images: the exporter asks its own /healthz. --healthcheck loads the
# same settings (flags, ACRONIS_EXPORTER_* variables, --config.file) and, when the
# exporter is PID 1, the flags it was started with (from /proc/1/cmdline), so a port or
# TLS set any of these ways keeps the check right.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["acronis-task-exporter", "--healthcheck"]
ENTRYPOINT ["acronis-task-exporter"]

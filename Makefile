# The README's two commands: `make demo` and `make test`. Both build their own virtual
# environment; `make test` also installs Debian's prometheus package (promtool and the
# server) when it is missing.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test check lint typecheck unit bench soak golden clean tools lock image image-test

demo: $(VENV)/.runtime
	$(BIN)/acronis-task-exporter --demo

test: $(VENV)/.dev tools lint typecheck unit

# The fast tier for a developer's edit loop: lint, types and every test not marked slow,
# prometheus or image (those need seconds to minutes each, or root). `make test` stays the
# whole suite and what CI runs.
check: $(VENV)/.dev lint typecheck
	$(BIN)/pytest -q $(PARALLEL) -m "not slow and not prometheus and not image"

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

# Whole modules per worker (loadfile), so a module's shared simulator, exporter and
# Prometheus stay in one process; most of the suite waits on real processes and polls,
# so two workers on two cores halve its time (19 -> 9.5 minutes here).
PARALLEL ?= --numprocesses auto --maxprocesses 4 --dist loadfile

unit: $(VENV)/.dev tools
	$(BIN)/pytest $(PARALLEL) --durations=15

# Benchmarks and the soak never run in the test suite.
bench: $(VENV)/.runtime
	$(BIN)/python -m bench

soak: $(VENV)/.dev
	$(BIN)/python -m bench.soak

golden: $(VENV)/.dev
	$(BIN)/pytest tests --update-golden -q

# The image test (pytest -m image) alone: builds the Dockerfile with buildah, smoke-runs it.
image-test: $(VENV)/.dev tools
	$(BIN)/pytest -m image

# promtool, the Prometheus server and amtool, buildah and debootstrap (the image test): real
# tools the tests run. --no-install-recommends because recommends would drag in services we
# never start. node_modules: @grafana/schema and tsc at package-lock.json's versions, which
# type-check the dashboards (tests/deploy/test_dashboards.py).
tools: node_modules/.package-lock.json
	@command -v promtool >/dev/null && command -v prometheus >/dev/null && command -v amtool >/dev/null \
	  && command -v buildah >/dev/null && command -v debootstrap >/dev/null || { \
	  echo "installing Debian's prometheus, prometheus-alertmanager, buildah and debootstrap packages"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	    prometheus prometheus-alertmanager buildah debootstrap >/dev/null; }

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# The locks: requirements.lock (runtime closure of pyproject's dependencies) and
# requirements-build.lock (pip and the build backend), both with hashes, both read by the
# Dockerfile. Rerun after changing pyproject.toml; existing pins are kept unless
# `make lock UV_FLAGS=--upgrade`.
UV_COMPILE = $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command 'make lock' $(UV_FLAGS)
lock: $(VENV)/.dev
	$(UV_COMPILE) pyproject.toml -o requirements.lock
	$(BIN)/python -c 'import tomllib; print("pip", *tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")' \
	  | $(UV_COMPILE) - -o requirements-build.lock

# The image, labelled with this checkout's version, commit and commit time (RFC 3339), so
# two builds of one commit carry the same labels. CONTAINER_BUILD="buildah bud --format docker"
# builds without Docker.
CONTAINER_BUILD ?= docker build
IMAGE ?= acronis-task-exporter:dev
image:
	$(CONTAINER_BUILD) -t $(IMAGE) \
	  --build-arg VERSION=$$(sed -n 's/^__version__ = "\(.*\)"/\1/p' exporter/__init__.py) \
	  --build-arg REVISION=$$(git rev-parse HEAD) \
	  --build-arg CREATED=$$(git show -s --format=%cI HEAD) .

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The runtime dependencies come at the versions requirements.lock pins (the image's), as
# constraints: pip refuses hashes there, so only the name==version lines are kept.
$(VENV)/constraints.txt: requirements.lock | $(VENV)/bin/python
	sed -n 's/^\([A-Za-z0-9][^ ;]*==[^ ;]*\).*/\1/p' requirements.lock > $@

$(VENV)/.runtime: pyproject.toml $(VENV)/constraints.txt | $(VENV)/bin/python
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e .
	@touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/constraints.txt | $(VENV)/bin/python
	$(BIN)/pip install -q -c $(VENV)/constraints.txt -e '.[dev,deploy]'
	@touch $@ $(VENV)/.runtime

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info

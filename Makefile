# The README's two commands: `make demo` and `make test`. Both build their own virtual
# environment; `make test` also installs Debian's prometheus package (promtool and the
# server) when it is missing.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint typecheck unit bench soak golden clean

demo: $(VENV)/.runtime
	$(BIN)/acronis-task-exporter --demo

test: $(VENV)/.dev tools lint typecheck unit

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy

unit: $(VENV)/.dev tools
	$(BIN)/pytest

# Benchmarks and the soak never run in the test suite.
bench: $(VENV)/.runtime
	$(BIN)/python -m bench

soak: $(VENV)/.dev
	$(BIN)/python -m bench.soak

golden: $(VENV)/.dev
	$(BIN)/pytest tests --update-golden -q

# promtool, the Prometheus server and amtool: real tools the tests run. --no-install-recommends
# because recommends would drag in services we never start.
tools:
	@command -v promtool >/dev/null && command -v prometheus >/dev/null && command -v amtool >/dev/null || { \
	  echo "installing Debian's prometheus and prometheus-alertmanager packages"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	    prometheus prometheus-alertmanager >/dev/null; }

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[dev,deploy]'
	@touch $@ $(VENV)/.runtime

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info

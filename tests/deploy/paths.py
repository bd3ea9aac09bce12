"""Where the deployment assets live, and small loaders the deploy tests share."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
ALERTS = REPO / "grafana" / "alerts"
RULE_FILES = sorted(ALERTS.glob("*.rules.yaml"))
RULE_TESTS = sorted((ALERTS / "tests").glob("*.yaml"))
GRAFANA_MANAGED = ALERTS / "grafana-managed" / "acronis-task-exporter.yaml"
DASHBOARDS = sorted((REPO / "grafana" / "dashboards").glob("*.json"))
COMPOSE = REPO / "deploy" / "compose"
CHART = REPO / "deploy" / "helm" / "acronis-task-exporter"
SIDECAR = REPO / "deploy" / "sidecar"
RUNBOOK = REPO / "docs" / "runbook.md"
README = REPO / "README.md"
VENV_BIN = Path(sys.executable).parent
JOB = "acronis-task-exporter"  # the scrape job name the rules select on


def load_yaml(path: Path) -> Any:  # noqa: ANN401 - YAML documents are untyped by nature
    """Parse one YAML document."""
    return yaml.safe_load(path.read_text())


def load_json(path: Path) -> Any:  # noqa: ANN401 - JSON documents are untyped by nature
    """Parse one JSON document."""
    return json.loads(path.read_text())


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of every rule file, in file order."""
    return [rule for path in RULE_FILES for group in load_yaml(path)["groups"] for rule in group["rules"]]


def tool(name: str) -> str:
    """Path of a command-line tool from the venv or PATH; skip the test when it is missing."""
    found = shutil.which(name, path=os.pathsep.join((str(VENV_BIN), os.environ.get("PATH", ""))))
    if found is None:
        pytest.skip(f"{name} is not installed (see the Makefile's tools and the deploy extra)")
    return found

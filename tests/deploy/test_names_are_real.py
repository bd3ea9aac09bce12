"""Every flag, metric and label the runbook, the dashboards and the alerts name is real.

A runbook that tells an operator at 3 a.m. to run a flag the CLI rejects, or to look at a
series that does not exist, is worse than none. Flags are checked against the exporter's
own ``--help`` (the console script, run for real); metric and label names against the live
``/metrics`` of an exporter polling the simulator after faults made every error counter
exist (tests/deploy/live.py).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.deploy.live import DATA_TIMEOUT, samples
from tests.deploy.paths import DASHBOARDS, RULE_FILES, RUNBOOK, load_json, load_yaml, tool
from tests.deploy.promql import TARGET_LABELS, alert_queries, family, metric_names, without_thresholds
from tests.support.processes import wait_until
from tests.support.prometheus import now

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.deploy.live import Stack

_OPTION_LINE = re.compile(r"^  (-\S.*?)(?: {2,}.*)?$")
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)*)(=[^\s`)\],;]*)?")
_SELECTOR = re.compile(r"\b((?:acronis|astra_control)_[a-z0-9_]+)\{([^}]*)\}")
_MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")
_LABEL_REF = re.compile(r"\$labels\.(\w+)")


@dataclass(frozen=True)
class Mention:
    """A name as written in one of the documents, and where."""

    where: str
    text: str


def help_flags() -> dict[str, bool]:
    """Every flag of ``acronis-task-exporter --help``, mapped to whether it takes a value."""
    result = subprocess.run(
        [tool("acronis-task-exporter"), "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    flags: dict[str, bool] = {}
    for line in result.stdout.splitlines():
        if (match := _OPTION_LINE.match(line)) is None:
            continue
        for option in match.group(1).split(", "):
            name, _, metavar = option.partition(" ")
            flags[name] = bool(metavar)
    return flags


def documents() -> dict[str, str]:
    """Return what operators read: the runbook, the rule files, every string of every dashboard."""
    texts = {str(RUNBOOK.name): RUNBOOK.read_text()}
    texts |= {path.name: path.read_text() for path in RULE_FILES}
    texts |= {path.name: "\n".join(strings(load_json(path))) for path in DASHBOARDS}
    return texts


def strings(node: Any) -> list[str]:  # noqa: ANN401 - JSON is untyped by nature
    """Every string inside a JSON document."""
    if isinstance(node, str):
        return [node]
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    return [text for child in children for text in strings(child)]


def flag_problems(texts: dict[str, str], flags: dict[str, bool]) -> list[str]:
    """List the flags the CLI does not have, and values given to flags that take none."""
    problems = []
    for where, text in texts.items():
        for match in _FLAG.finditer(text):
            name, value = match.group(1), match.group(2)
            if name not in flags:
                problems.append(f"{where}: {match.group(0)}: the exporter has no flag {name}")
            elif value and not flags[name]:
                problems.append(f"{where}: {match.group(0)}: {name} takes no value (the CLI exits 2)")
    return problems


@pytest.fixture(scope="module")
def flags() -> dict[str, bool]:
    """Return the exporter's flags, from its console script."""
    return help_flags()


class TestFlags:
    """Flags are checked against the real --help."""

    def test_help_lists_value_flags_and_boolean_flags(self, flags: dict[str, bool]) -> None:
        """The parser reads --help right: a value flag, a boolean and its --no- form."""
        assert flags["--poll.interval"] is True
        assert flags["--poll.activities"] is False
        assert flags["--no-poll.activities"] is False

    def test_every_flag_named_in_the_runbook_dashboards_and_alerts_exists(
        self, flags: dict[str, bool]
    ) -> None:
        """Each --flag the documents name is in --help, and is given a value only if it takes one."""
        texts = documents()
        assert any(_FLAG.search(text) for text in texts.values())
        assert flag_problems(texts, flags) == []

    @pytest.mark.parametrize(
        "text",
        ["--poll.activities=false", "--poll.activity", "--api.client-secret-files", "--no-poll.interval"],
    )
    def test_a_wrong_flag_is_reported(self, flags: dict[str, bool], text: str) -> None:
        """The check fails on the flag the old runbook gave, and on misspelt or impossible ones."""
        assert flag_problems({"runbook": f"Run it with `{text}`."}, flags)


def metric_mentions() -> list[Mention]:
    """List every acronis_* name in the documents."""
    return [
        Mention(where, name) for where, text in documents().items() for name in sorted(metric_names(text))
    ]


def label_mentions() -> list[tuple[Mention, str]]:
    """(metric mention, label name) for every matcher inside an acronis_* selector."""
    return [
        (Mention(where, name), label)
        for where, text in documents().items()
        for name, matchers in _SELECTOR.findall(text)
        for label in _MATCHER.findall(matchers)
        if label not in TARGET_LABELS
    ]


def labels_seen(stack: Stack) -> dict[str, set[str]]:
    """Map every sample and family name the exporter has exposed since start to its label names.

    Gauges of things that come and go (tasks waiting for a person) have no series while
    there are none, so one /metrics snapshot is not enough: Prometheus has kept every one.
    """
    reply = httpx.get(
        stack.prometheus.url + "/api/v1/series",
        params={
            "match[]": '{__name__=~"(acronis|astra_control)_.+"}',
            "start": str(stack.started),
            "end": str(now()),
        },
        timeout=10.0,
    ).json()
    label_sets = [dict(series) for series in reply["data"]]
    label_sets += [{"__name__": sample.name, **sample.labels} for sample in samples(stack.exporter)]
    seen: dict[str, set[str]] = {}
    for labels in label_sets:
        name = labels.pop("__name__")
        for key in (name, family(name)[0]):
            seen.setdefault(key, set()).update(labels)
    return seen


def wait_for_no_problems(stack: Stack, problems: Callable[[dict[str, set[str]]], list[str]]) -> list[str]:
    """Re-check ``problems`` against what the exporter exposed until none is left or time runs out."""
    found: list[str] = []

    def solved() -> bool:
        found[:] = problems(labels_seen(stack))
        return not found

    with contextlib.suppress(AssertionError):
        wait_until(solved, timeout=DATA_TIMEOUT, what="every name to be exposed")
    return found


@pytest.mark.prometheus
@pytest.mark.slow
class TestMetricsAndLabels:
    """Metric and label names are checked against what a live exporter exposes."""

    def test_every_metric_named_is_exposed(self, stack: Stack) -> None:
        """Each acronis_* name is a sample or family name the exporter exposed."""
        mentions = [item for item in metric_mentions() if not stack.asks_for_missing_pending(item.text)]
        assert mentions

        def missing(seen: dict[str, set[str]]) -> list[str]:
            return [f"{item.where}: {item.text}" for item in mentions if item.text not in seen]

        assert wait_for_no_problems(stack, missing) == []

    def test_every_label_matched_exists_on_its_series(self, stack: Stack) -> None:
        """A matcher on a label the series lacks would match nothing, silently."""
        mentions = [
            (item, label) for item, label in label_mentions() if not stack.asks_for_missing_pending(item.text)
        ]
        assert mentions

        def wrong(seen: dict[str, set[str]]) -> list[str]:
            return [
                f"{item.where}: {item.text} has no label {label!r}"
                for item, label in mentions
                if label not in seen.get(item.text, set())
            ]

        assert wait_for_no_problems(stack, wrong) == []

    @pytest.mark.parametrize("path", RULE_FILES, ids=lambda path: path.name)
    def test_annotations_use_only_labels_their_expression_returns(self, stack: Stack, path: Path) -> None:
        """`{{ $labels.x }}` in an annotation names a label the alert's series carry."""
        expressions = {query.where.removeprefix("alert "): query.expr for query in alert_queries()}
        for group in load_yaml(path)["groups"]:
            for rule in group["rules"]:
                used = set(_LABEL_REF.findall(json.dumps(rule["annotations"])))
                expr = without_thresholds(expressions[rule["alert"]])
                if not used or stack.asks_for_missing_pending(expr):
                    continue
                returned = stack.prometheus.wait_for(expr, timeout=60.0)
                carried = set().union(*(series.labels for series in returned)) | set(rule["labels"])
                assert used <= carried, f"{rule['alert']}: {used - carried} not in {sorted(carried)}"

"""The alert rules' runbook links: one base URL, one anchor per alert in docs/runbook.md.

The rule files under grafana/alerts/ are hand-written, but their ``runbook_url`` lines are
not: ``python -m scripts.assets`` rewrites each to ``RUNBOOK_URL#<alertname in lower
case>``, the anchor GitHub gives the runbook's ``## <AlertName>`` heading. Point
``RUNBOOK_URL`` at your fork or wiki and regenerate; the Helm chart's
``prometheusRule.runbookUrl`` swaps it at install time instead.
"""

from __future__ import annotations

import re

RUNBOOK_URL = "https://github.com/acronis-task-exporter/acronis-task-exporter/blob/main/docs/runbook.md"
_ALERT = re.compile(r"^\s*- alert: (?P<name>\w+)\s*$")
_RUNBOOK_LINE = re.compile(r"^(?P<indent>\s*)runbook_url: .*$")


def runbook_anchor(alertname: str) -> str:
    """Return the anchor of the runbook section ``## <alertname>``."""
    return alertname.lower()


def runbook_url(alertname: str) -> str:
    """Return the runbook link an alert's ``runbook_url`` annotation should hold."""
    return f"{RUNBOOK_URL}#{runbook_anchor(alertname)}"


def with_runbook_urls(rule_file_text: str) -> str:
    """Rewrite every ``runbook_url`` line to the link of the alert it belongs to."""
    lines, alertname = [], ""
    for line in rule_file_text.splitlines(keepends=True):
        if match := _ALERT.match(line):
            alertname = match["name"]
        if (match := _RUNBOOK_LINE.match(line)) and alertname:
            line = f"{match['indent']}runbook_url: {runbook_url(alertname)}\n"  # noqa: PLW2901 - rewritten on purpose
        lines.append(line)
    return "".join(lines)

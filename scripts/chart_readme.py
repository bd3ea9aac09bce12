"""Write the Helm chart's README from the comments of its values.yaml, as helm-docs would.

A ``# -- description`` comment (continued by the ``#`` lines right after it) documents the
key that follows; that key becomes one row of the values table, with its type and default
read from the parsed file. Keys under a documented key are part of its default, not rows of
their own, unless they carry a ``# --`` comment too.

    python -m scripts.chart_readme           # rewrite deploy/helm/acronis-task-exporter/README.md
    python -m scripts.chart_readme --check   # exit 1 when the README is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[1] / "deploy" / "helm" / "acronis-task-exporter"
README = CHART / "README.md"
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.\-/\"]+):(?:\s|$)")
_DESCRIPTION = re.compile(r"^ *# -- ?(?P<text>.*)$")
_CONTINUATION = re.compile(r"^ *#(?: (?P<text>.*))?$")

INTRO = """\
# {name}

{description}

Version {version} · app version {app_version} · Kubernetes {kube_version}

This file is generated from the comments in [`values.yaml`](values.yaml) by
`python -m scripts.chart_readme`; edit those, not this. A test checks the two agree.

## Install

Against Acronis (the data-centre URL and an API client are required; the render fails
without them):

```sh
helm install acronis deploy/helm/acronis-task-exporter -n monitoring \\
  --set config.api.url=https://eu2-cloud.acronis.com \\
  --set credentials.clientId=... --set credentials.clientSecret=...
```

Or with a Secret you manage (keys `client-id` and `client-secret` by default):
`--set credentials.existingSecret=my-secret`. To try the chart without an account:
`--set demo=true`. `helm test acronis -n monitoring` checks that the exporter answers.

## Many accounts

One release can cover several API clients (partner accounts, data centres): list them in
`accounts`, and the chart renders one exporter per account (Deployment, Service, Secret when
the credentials are inline, ServiceMonitor/PodMonitor, test pod), named
`<fullname>-<account>` and labelled `account: <name>`. The monitors copy that label onto
every series (`targetLabels`/`podTargetLabels`), so the dashboards' Account variable and the
alert rules (which group by `account` wherever they group by `instance`) tell accounts apart.

```yaml
config:
  api:
    url: https://eu2-cloud.acronis.com   # the default for accounts without api.url
accounts:
  - name: eu2-partner
    credentials: {{existingSecret: acronis-eu2}}
  - name: us5-partner
    api: {{url: https://us5-cloud.acronis.com}}
    tenantId: 3f5a9c3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f
    credentials: {{clientId: ..., clientSecret: ...}}
    astra: {{url: https://astra.netapp.io, accountId: ..., existingSecret: astra-us5}}
```

Each account's missing credentials stop the render, named by account. Without `accounts`
the chart renders one exporter named `<fullname>` without an `account` label, exactly as
before (a Deployment's selector cannot change on upgrade); the dashboards' "All" accounts
matches series without the label too.

## Astra Control

`astra.url`, `astra.accountId` and `astra.token` (or `astra.existingSecret`) poll NetApp
Astra Control beside Acronis; the token is mounted from the Secret as a file
(`--astra.token-file`), never an environment value. Leave `config.api.url` empty for an
Astra-only exporter: Acronis and Astra are each optional, at least one is required.

## TLS and basic auth

`web.tls.enabled` with `web.tls.secretName` (a `kubernetes.io/tls` Secret, e.g. from
cert-manager) serves `/metrics` over HTTPS; `web.basicAuth.enabled` requires a user and
password. The probes switch to HTTPS (`/healthz` and `/readyz` are never behind basic
auth), and the ServiceMonitor/PodMonitor get `scheme`, `tlsConfig` and `basicAuth`. The
Prometheus Operator reads the secrets a monitor names in the monitor's namespace: the chart
copies the basic-auth Secret it creates there; the CA Secret must exist there too.

## Values

| Key | Type | Default | Description |
|-----|------|---------|-------------|
"""


@dataclass(frozen=True)
class Row:
    """One documented key of values.yaml."""

    path: str
    description: str


def documented_keys(text: str) -> list[Row]:
    """Return the keys that carry a ``# --`` description, in file order, with their dotted paths."""
    rows: list[Row] = []
    stack: list[tuple[int, str]] = []  # (indent, key) of the keys enclosing the current line
    pending: list[str] | None = None
    for line in text.splitlines():
        if match := _DESCRIPTION.match(line):
            pending = [match["text"].strip()]
            continue
        if pending is not None and (continued := _CONTINUATION.match(line)):
            pending.append((continued["text"] or "").strip())
            continue
        key = _KEY.match(line)
        if key is None:
            if not line.strip() or line.lstrip().startswith("#"):
                pending = None  # a blank line or a plain comment ends a description unused
            continue
        indent = len(key["indent"])
        stack = [(level, name) for level, name in stack if level < indent]
        stack.append((indent, key["key"].strip('"')))
        if pending is not None:
            rows.append(Row(".".join(name for _, name in stack), " ".join(pending).strip()))
            pending = None
    return rows


def value_at(values: dict[str, Any], path: str) -> Any:  # noqa: ANN401 - a YAML value is any value
    """Return the value at a dotted path of the parsed values."""
    node: Any = values
    for part in path.split("."):
        node = node[part]
    return node


def type_name(value: object) -> str:
    """Return the helm-docs type name of a YAML value."""
    names = {bool: "bool", int: "int", float: "float", str: "string", list: "list", dict: "object"}
    return names.get(type(value), "string")


def cell(text: str) -> str:
    """Escape text for a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def render_readme(chart: Path = CHART) -> str:
    """Return the README text for the chart at ``chart``."""
    metadata = yaml.safe_load((chart / "Chart.yaml").read_text(encoding="utf-8"))
    text = (chart / "values.yaml").read_text(encoding="utf-8")
    values = yaml.safe_load(text)
    lines = [
        INTRO.format(
            name=metadata["name"],
            description=" ".join(metadata["description"].split()),
            version=metadata["version"],
            app_version=metadata["appVersion"],
            kube_version=metadata.get("kubeVersion", "any"),
        )
    ]
    for row in documented_keys(text):
        value = value_at(values, row.path)
        default = json.dumps(value, ensure_ascii=False)
        description = cell(row.description).replace("<", "&lt;").replace(">", "&gt;")  # not HTML tags
        lines.append(f"| `{row.path}` | {type_name(value)} | `{cell(default)}` | {description} |\n")
    return "".join(lines)


def undocumented(chart: Path = CHART) -> list[str]:
    """Return the leaf keys of values.yaml neither documented nor under a documented key."""
    text = (chart / "values.yaml").read_text(encoding="utf-8")
    documented = {row.path for row in documented_keys(text)}

    def walk(node: object, path: str) -> list[str]:
        if path in documented:
            return []
        if isinstance(node, dict) and node:
            return [
                leaf for key, child in node.items() for leaf in walk(child, f"{path}.{key}" if path else key)
            ]
        return [path]

    return walk(yaml.safe_load(text), "")


def main(argv: list[str] | None = None) -> int:
    """Rewrite the README, or with --check report whether it is current; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.chart_readme", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the README is out of date")
    arguments = parser.parse_args(argv)
    wanted = render_readme()
    if arguments.check:
        current = README.read_text(encoding="utf-8") if README.exists() else ""
        if current != wanted:
            sys.stderr.write(f"{README} is out of date: run python -m scripts.chart_readme\n")
            return 1
        return 0
    README.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

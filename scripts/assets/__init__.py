"""Generate the Grafana assets and keep every copy of them identical.

``python -m scripts.assets`` writes grafana/dashboards/*.json (from the Python definitions
in this package), grafana/alerts/grafana-managed/*.yaml (from the Prometheus rules) and
the chart's copies under deploy/helm/acronis-task-exporter/files/, and rewrites the rule
files' runbook_url lines (scripts/assets/rules.py). ``--check`` writes
nothing and fails if any file differs from what would be written; the test suite runs it.
"""

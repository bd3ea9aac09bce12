"""Tests of what ships: the image, compose stacks, Helm chart, dashboards and alert rules."""

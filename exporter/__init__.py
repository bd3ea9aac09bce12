"""Prometheus exporter for the Acronis Cyber Protect Cloud Task Manager API v2."""

__version__ = "0.1.0"
# The product's one name: command, User-Agent, HTTP Server header, landing page, basic-auth realm.
PRODUCT = "acronis-task-exporter"

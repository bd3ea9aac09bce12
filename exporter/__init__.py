"""Prometheus exporter for the Acronis Cyber Protect Cloud Task Manager API v2."""

__version__ = "0.1.0"

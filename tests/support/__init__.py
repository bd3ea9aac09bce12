"""Helpers shared by the test modules: real servers and processes, no mocks."""

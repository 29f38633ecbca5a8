"""Helpers for rill's integration tests (python3 standard library only)."""

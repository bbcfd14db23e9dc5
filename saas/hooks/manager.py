"""The plugin manager, built per app (no work at import time)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Filled in by the plugin platform; the foundation only reserves the call."""

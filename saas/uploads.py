"""A larger body limit for the few views that take big files (imports).

Every other request keeps `MAX_CONTENT_LENGTH`. The limit is raised before any other
`before_request` (CSRF reads the form, which would otherwise stop at the small limit).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, request

F = TypeVar("F", bound=Callable)


def large_upload(view: F) -> F:
    """Mark a view (right under its route decorator) as taking up to `IMPORT_MAX_BYTES`."""
    view.large_upload = True  # type: ignore[attr-defined]
    return view


def install(app: Flask) -> None:
    @app.before_request
    def _raise_the_limit_for_large_uploads() -> None:
        view = app.view_functions.get(request.endpoint or "")
        if getattr(view, "large_upload", False):
            request.max_content_length = app.config["IMPORT_MAX_BYTES"]


def megabytes(limit: int | None) -> str:
    """A body limit as people read it: 16777216 → "16"."""
    value = (limit or 0) / (1024 * 1024)
    return f"{value:.0f}" if value.is_integer() else f"{value:.1f}"

"""A small JSON-over-HTTP client for plugins (standard library only).

Errors carry the status and the start of the body, because that text ends up in the
delivery log where an admin has to understand it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any


class HttpError(RuntimeError):
    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        super().__init__(f"{method} {url} answered {status}: {body[:300]}")
        self.status = status
        self.body = body


def request_json(method: str, url: str, body: Any = None, *,
                 headers: Mapping[str, str] | None = None, timeout: float = 10,
                 raw: bytes | None = None) -> tuple[int, Any]:
    """Send `body` as JSON (or `raw` bytes as they are); return status and parsed JSON."""
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url}")
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            text = resp.read().decode("utf-8", "replace")
            status = resp.status
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace") if exc.fp else ""
        raise HttpError(method, url, exc.code, text) from None
    except urllib.error.URLError as exc:
        raise ConnectionError(f"{method} {url} failed: {exc.reason}") from None
    if not text.strip():
        return status, None
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text

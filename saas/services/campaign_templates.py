"""Campaign content: Jinja templates rendered in a sandbox, checked when saved.

Staff write templates, customers read them, so they run in `SandboxedEnvironment` (no
attribute games) with `StrictUndefined` (a typo is an error, never an empty string in
10 000 messages). `validate` renders against a sample customer at save time and reports
the line of a syntax error or the name of an unknown variable as field errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from saas.services.errors import InvalidInput

CUSTOMER_FIELDS = ("id", "name", "email", "phone", "category", "industry", "tags",
                   "custom_fields", "birthday", "lifecycle_stage", "department")
SAMPLE_CUSTOMER = {"id": "00000000-0000-0000-0000-000000000000", "name": "Sample Customer",
                   "email": "sample@example.com", "phone": "+8613800000000",
                   "category": "SME", "industry": "retail", "tags": [],
                   "custom_fields": {}, "birthday": None, "lifecycle_stage": "customer",
                   "department": None}

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def customer_values(customer: Any) -> dict[str, Any]:
    """The fields a template may use, as plain values (never the ORM row)."""
    values = {name: getattr(customer, name, None) for name in CUSTOMER_FIELDS}
    values["id"] = str(values["id"])
    values["birthday"] = values["birthday"].isoformat() if values["birthday"] else None
    values["tags"] = list(values["tags"] or [])
    values["custom_fields"] = dict(values["custom_fields"] or {})
    return values


def context(customer: Mapping[str, Any], campaign_name: str,
            link: Callable[[str], str], unsubscribe_url: str = "",
            survey_url: str = "") -> dict[str, Any]:
    return {"customer": dict(customer), "campaign": {"name": campaign_name}, "link": link,
            "unsubscribe_url": unsubscribe_url, "survey_url": survey_url}


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """A campaign renders one template per recipient: compile it once per process."""
    return _env.from_string(source)


def render(source: str, values: Mapping[str, Any]) -> str:
    return _compiled(source).render(dict(values))


def validate(source: str | None, field: str, required: bool = True) -> None:
    """Raise `InvalidInput` on `field` for a syntax error (with its line) or a variable
    the sample context does not have."""
    if source is None or not source.strip():
        if required:
            raise InvalidInput.field(field, "This field is required.")
        return
    try:
        template = _env.from_string(source)
    except TemplateSyntaxError as exc:
        raise InvalidInput(f"Template error on line {exc.lineno}: {exc.message}",
                           {field: [f"Line {exc.lineno}: {exc.message}"]}) from exc
    sample = context(SAMPLE_CUSTOMER, "Sample", lambda url: url, "https://example.com/u",
                     "https://example.com/s")
    try:
        template.render(sample)
    except UndefinedError as exc:
        raise InvalidInput(f"Unknown variable: {exc.message}",
                           {field: [f"Unknown variable: {exc.message}"]}) from exc
    except SecurityError as exc:
        raise InvalidInput.field(field, f"Not allowed: {exc}") from exc
    except Exception as exc:  # a filter on a wrong type etc. — still the author's error
        raise InvalidInput.field(field, f"{type(exc).__name__}: {exc}") from exc

"""Tenant-written message templates, rendered in Jinja's sandbox.

Templates come from tenant admins, so they must not reach Python internals; the
sandbox refuses attribute tricks, and undefined names render empty rather than fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from marshmallow import ValidationError


@lru_cache(maxsize=2)
def environment(autoescape: bool = False) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(autoescape=autoescape, keep_trailing_newline=True)


def render(source: str, context: Mapping[str, Any], autoescape: bool = False) -> str:
    return environment(autoescape).from_string(source).render(**context)


def validate_template(source: str) -> None:
    """A marshmallow validator: the template must parse."""
    try:
        environment().parse(source)
    except TemplateSyntaxError as exc:
        raise ValidationError(f"Template error on line {exc.lineno}: {exc.message}") from exc

"""Declarative tenant templates (`tenants/*.toml`), validated on load.

A template carries the defaults a new tenant starts with; later features (tiers, loyalty,
visits, SLA, surveys, holidays) read their section from `load_template(name)`.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "tenants"


class TemplateError(ValueError):
    """A template file is invalid; the message names the file and the key."""


class _Tier(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    colour = fields.String(load_default="#888888",
                           validate=validate.Regexp(r"^#[0-9a-fA-F]{6}$"))
    description = fields.String(load_default="")
    rule = fields.Dict(required=True)


class _Loyalty(Schema):
    class Meta:
        unknown = RAISE

    points_per_unit = fields.Float(required=True, validate=validate.Range(min=0))
    expiry_months = fields.Integer(required=True, validate=validate.Range(min=1, max=120))
    tier_multipliers = fields.Dict(keys=fields.String(), values=fields.Float(),
                                   load_default=dict)
    bonus = fields.Dict(keys=fields.String(), values=fields.Integer(), load_default=dict)


class _VisitPlan(Schema):
    class Meta:
        unknown = RAISE

    tier = fields.String(required=True)
    every_days = fields.Integer(required=True, validate=validate.Range(min=1))
    method = fields.String(required=True,
                           validate=validate.OneOf(["in_person", "phone", "video", "message"]))


class _SlaTarget(Schema):
    class Meta:
        unknown = RAISE

    first_response_hours = fields.Float(required=True, validate=validate.Range(min=0.1))
    resolution_hours = fields.Float(required=True, validate=validate.Range(min=0.1))


class _Sla(Schema):
    class Meta:
        unknown = RAISE

    working_days = fields.List(fields.Integer(validate=validate.Range(min=1, max=7)),
                               required=True)
    working_hours = fields.List(fields.String(validate=validate.Regexp(r"^\d\d:\d\d$")),
                                required=True, validate=validate.Length(equal=2))
    priorities = fields.Dict(keys=fields.String(
        validate=validate.OneOf(["low", "normal", "high", "urgent"])),
        values=fields.Nested(_SlaTarget), required=True)


class _Question(Schema):
    class Meta:
        unknown = RAISE

    text = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(
        ["nps", "csat", "rating", "single", "multiple", "text"]))
    dimension = fields.String(load_default="overall")
    choices = fields.List(fields.String(), load_default=list)


class _Survey(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["csat", "nps", "custom"]))
    questions = fields.List(fields.Nested(_Question), required=True,
                            validate=validate.Length(min=1))


class _Holiday(Schema):
    class Meta:
        unknown = RAISE

    date = fields.Date(required=True)
    end = fields.Date(load_default=None)     # last day of a holiday of several days
    name = fields.String(required=True)
    greeting = fields.Boolean(load_default=True)


class TemplateSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True)
    description = fields.String(load_default="")
    locale = fields.String(load_default="zh_CN", validate=validate.OneOf(["zh_CN", "en"]))
    categories = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    tiers = fields.List(fields.Nested(_Tier), required=True, validate=validate.Length(min=1))
    loyalty = fields.Nested(_Loyalty, required=True)
    visit_plans = fields.List(fields.Nested(_VisitPlan), load_default=list)
    sla = fields.Nested(_Sla, required=True)
    surveys = fields.List(fields.Nested(_Survey), load_default=list)
    holidays = fields.List(fields.Nested(_Holiday), load_default=list)


def _first_error(messages: Any, path: str = "") -> tuple[str, str]:
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        return _first_error(value, f"{path}.{key}" if path else str(key))
    if isinstance(messages, list) and messages and not isinstance(messages[0], str):
        return _first_error(messages[0], path)
    return path, messages[0] if isinstance(messages, list) else str(messages)


def parse_template(path: Path) -> dict:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{path.name}: not valid TOML: {exc}") from exc
    try:
        data = TemplateSchema().load(raw)
    except ValidationError as exc:
        key, msg = _first_error(exc.messages)
        raise TemplateError(f"{path.name}: key '{key}': {msg}") from exc
    for i, holiday in enumerate(data["holidays"]):
        if holiday["end"] is not None and holiday["end"] < holiday["date"]:
            raise TemplateError(f"{path.name}: key 'holidays.{i}.end': the end is before "
                                "the start")
    tier_names = {t["name"] for t in data["tiers"]}
    for i, plan in enumerate(data["visit_plans"]):
        if plan["tier"] not in tier_names:
            raise TemplateError(f"{path.name}: key 'visit_plans.{i}.tier': unknown tier "
                                f"'{plan['tier']}'")
    return data


@cache
def available_templates(directory: Path = TEMPLATES_DIR) -> dict[str, dict]:
    return {p.stem: parse_template(p) for p in sorted(directory.glob("*.toml"))}


def load_template(name: str) -> dict:
    templates = available_templates()
    if name not in templates:
        raise TemplateError(f"no tenant template named '{name}'")
    return templates[name]

"""Rules as data: the shape tiers and segments share, its validation, and its compilation
to a SQLAlchemy criterion (never `eval`).

A rule is a group `{"all": [...]}` or `{"any": [...]}` whose items are groups or
conditions. A condition names exactly one subject and compares it:

    {"measure": "spend_12m", "op": ">=", "value": 10000}
    {"field": "category", "op": "in", "value": ["VIP", "SME"]}
    {"custom_field": "region", "op": "=", "value": "north"}
    {"tag": "wholesale", "op": "has"}
    {"tier": "A", "op": "="}                      (segments only)

Validation reports every problem at once under dotted paths (`rule.all.0.value`), so a
form or an API client can show it next to the offending row. Missing values follow SQL:
a comparison with an unknown value is false, which `evaluate` (the Python reading of the
same rule, used to explain a result) reproduces exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Boolean, and_, cast, exists, false, func, literal, not_, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from saas.models.customers import (
    CUSTOMER_KINDS,
    LIFECYCLE_STAGES,
    PURCHASING_POWER,
    Customer,
    CustomFieldDefinition,
)
from saas.models.tiers import CustomerMeasure, CustomerTier, Tier
from saas.services.errors import InvalidInput

VALUE_SEGMENTS = ("high", "medium", "low")
BEHAVIOURS = ("active", "at_risk", "churned", "none")
LIFECYCLES = ("prospect", "new", "active", "at_risk", "churned", "won_back")

MEASURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "spend_12m": ("number", ()),
    "spend_total": ("number", ()),
    "order_count": ("number", ()),
    "days_since_last_order": ("number", ()),
    "avg_order_value": ("number", ()),
    "avg_interval_days": ("number", ()),
    "interactions_90d": ("number", ()),
    "points_balance": ("number", ()),
    "r_score": ("number", ()),
    "f_score": ("number", ()),
    "m_score": ("number", ()),
    "rfm_score": ("number", ()),
    "value_segment": ("choice", VALUE_SEGMENTS),
    "behaviour": ("choice", BEHAVIOURS),
    "lifecycle": ("choice", LIFECYCLES),
}
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "kind": ("choice", CUSTOMER_KINDS),
    "category": ("text", ()),
    "industry": ("text", ()),
    "company_size": ("text", ()),
    "purchasing_power": ("choice", PURCHASING_POWER),
    "department": ("text", ()),
    "source_channel": ("text", ()),
    "lifecycle_stage": ("choice", LIFECYCLE_STAGES),
    "birthday": ("date", ()),
}
OPS: dict[str, tuple[str, ...]] = {
    "number": ("=", "!=", ">", ">=", "<", "<=", "is_set", "not_set"),
    "date": ("=", "!=", ">", ">=", "<", "<=", "is_set", "not_set"),
    "text": ("=", "!=", "in", "is_set", "not_set"),
    "choice": ("=", "!=", "in", "is_set", "not_set"),
    "boolean": ("=", "is_set", "not_set"),
    "multi_choice": ("has", "lacks"),
    "tag": ("has", "lacks"),
    "tier": ("=", "!=", "in"),
}
SUBJECTS = ("measure", "field", "custom_field", "tag", "tier")
MAX_DEPTH = 3
MAX_CONDITIONS = 50
MAX_IN = 100


@dataclass(frozen=True)
class Context:
    """What a rule may refer to: the tenant's custom fields (key -> type, choices)."""

    custom_fields: Mapping[str, tuple[str, tuple[str, ...]]]
    tiers: tuple[str, ...] = ()
    allow_tier: bool = False
    # Custom fields encrypted at rest (or on their way): SQL cannot read their values.
    sensitive: frozenset[str] = frozenset()


def context_for(session: Session, allow_tier: bool = False) -> Context:
    definitions = list(session.scalars(select(CustomFieldDefinition)))
    defs = {d.key: (d.type, tuple(d.choices or ())) for d in definitions}
    tiers = tuple(session.scalars(select(Tier.name).order_by(Tier.position))) \
        if allow_tier else ()
    sensitive = frozenset(d.key for d in definitions
                          if d.sensitive or d.sensitive_state != "plain")
    return Context(defs, tiers, allow_tier, sensitive)


# --- validation -------------------------------------------------------------------------

def validate(rule: Any, ctx: Context, path: str = "rule") -> dict:
    """The normalised rule, or InvalidInput naming every bad part by its path."""
    errors: dict[str, list[str]] = {}
    counter = [0]
    cleaned = _group(rule, ctx, path, errors, 1, counter)
    if errors:
        first = next(iter(errors.items()))
        raise InvalidInput(f"The rule has errors ({first[0]}: {first[1][0]})", errors)
    return cleaned


def _group(node: Any, ctx: Context, path: str, errors: dict, depth: int,
           counter: list[int]) -> dict:
    if not isinstance(node, Mapping) or len(node) != 1 or next(iter(node)) not in ("all",
                                                                                  "any"):
        errors[path] = ['A group is {"all": [...]} or {"any": [...]}.']
        return {"all": []}
    key = next(iter(node))
    items = node[key]
    if not isinstance(items, list):
        errors[f"{path}.{key}"] = ["Give a list of conditions."]
        return {key: []}
    if depth > MAX_DEPTH:
        errors[path] = [f"Nest groups at most {MAX_DEPTH} deep."]
        return {key: []}
    out = []
    for i, item in enumerate(items):
        item_path = f"{path}.{key}.{i}"
        if isinstance(item, Mapping) and len(item) == 1 and next(iter(item)) in ("all", "any"):
            out.append(_group(item, ctx, item_path, errors, depth + 1, counter))
        else:
            counter[0] += 1
            if counter[0] == MAX_CONDITIONS + 1:
                errors[item_path] = [f"Use at most {MAX_CONDITIONS} conditions."]
            out.append(_condition(item, ctx, item_path, errors))
    return {key: out}


def _subject(item: Mapping, ctx: Context, path: str,
             errors: dict) -> tuple[str, str, str, tuple[str, ...]] | None:
    present = [s for s in SUBJECTS if s in item]
    if len(present) != 1:
        errors[path] = ["Name exactly one of: measure, field, custom_field, tag"
                        + (", tier." if ctx.allow_tier else ".")]
        return None
    subject = present[0]
    name = item[subject]
    if not isinstance(name, str) or not name:
        errors[f"{path}.{subject}"] = ["Give a name."]
        return None
    if subject == "measure":
        if name not in MEASURES:
            errors[f"{path}.measure"] = [f"Unknown measure '{name}'."]
            return None
        return subject, name, *MEASURES[name]
    if subject == "field":
        if name not in FIELDS:
            errors[f"{path}.field"] = [f"Unknown field '{name}'."]
            return None
        return subject, name, *FIELDS[name]
    if subject == "custom_field":
        if name not in ctx.custom_fields:
            errors[f"{path}.custom_field"] = [
                f"Custom field '{name}' does not exist (was it deleted?)."]
            return None
        if name in ctx.sensitive:
            errors[f"{path}.custom_field"] = [
                f"Custom field '{name}' is sensitive (encrypted at rest): rules cannot "
                "read its values; filter the customer list by its exact value instead."]
            return None
        return subject, name, *ctx.custom_fields[name]
    if subject == "tier":
        if not ctx.allow_tier:
            errors[f"{path}.tier"] = ["A tier rule cannot depend on tiers."]
            return None
        return subject, name, "tier", ctx.tiers
    return subject, name, "tag", ()


def _condition(item: Any, ctx: Context, path: str, errors: dict) -> dict:
    if not isinstance(item, Mapping):
        errors[path] = ["A condition is an object such as "
                        '{"measure": "spend_12m", "op": ">=", "value": 100}.']
        return {}
    found = _subject(item, ctx, path, errors)
    if found is None:
        return {}
    subject, name, type_, choices = found
    unknown = set(item) - {subject, "op", "value"}
    if unknown:
        errors[f"{path}.{sorted(unknown)[0]}"] = ["Unknown key."]
    op = item.get("op", "has" if type_ in ("tag", "multi_choice") else
                  ("=" if type_ == "tier" else None))
    if op not in OPS[type_]:
        label = {"tag": "a tag", "tier": "the tier"}.get(type_, f"'{name}' ({type_})")
        errors[f"{path}.op"] = [f"{label} can be compared with {', '.join(OPS[type_])}"
                                f" — not {op!r}." if op else
                                f"Choose an operator: {', '.join(OPS[type_])}."]
        return {subject: name, "op": op}
    out: dict[str, Any] = {subject: name, "op": op}
    if type_ == "tag":
        return out
    if type_ == "tier":
        if name not in choices:
            errors[f"{path}.tier"] = [f"Unknown tier '{name}'."]
        if op == "in":
            value = item.get("value")
            if not isinstance(value, list) or not value or any(v not in choices
                                                                for v in value):
                errors[f"{path}.value"] = [f"Give a list of tiers from: {', '.join(choices)}."]
            else:
                out["value"] = list(value)
        return out
    if op in ("is_set", "not_set"):
        if item.get("value") is not None:
            errors[f"{path}.value"] = [f"'{op}' takes no value."]
        return out
    value = item.get("value")
    try:
        if type_ == "multi_choice":
            out["value"] = _one_of(value, choices)
        elif op == "in":
            if not isinstance(value, list) or not value or len(value) > MAX_IN:
                raise ValueError(f"Give a list of 1-{MAX_IN} values.")
            out["value"] = [_scalar(v, type_, choices) for v in value]
        else:
            out["value"] = _scalar(value, type_, choices)
    except ValueError as exc:
        errors[f"{path}.value"] = [f"'{name}' is a {type_} field: {exc}"]
    return out


def _one_of(value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or (choices and value not in choices):
        raise ValueError(f"choose one of: {', '.join(choices)}.")
    return value


def _scalar(value: Any, type_: str, choices: tuple[str, ...]) -> Any:
    if type_ == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise ValueError("enter a number.")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError("enter a number.") from exc
        if not number.is_finite() or abs(number) >= Decimal("1e12"):
            raise ValueError("enter a finite number below 10^12.")
        return int(number) if number == number.to_integral_value() else float(number)
    if type_ == "date":
        if not isinstance(value, str):
            raise ValueError("enter a date as YYYY-MM-DD.")
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError as exc:
            raise ValueError("enter a date as YYYY-MM-DD.") from exc
    if type_ == "boolean":
        if not isinstance(value, bool):
            raise ValueError("enter true or false.")
        return value
    if type_ in ("choice", "tier"):
        return _one_of(value, choices)
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ValueError("enter text (1-200 characters), not a number.")
    return value.strip()


def describe(rule: Mapping, depth: int = 0) -> str:
    """A readable one-line form of a (validated) rule, for lists and previews."""
    key = "all" if "all" in rule else "any"
    items = rule.get(key) or []
    if not items:
        return "everyone" if key == "all" else "no one"
    parts = []
    for item in items:
        if "all" in item or "any" in item:
            parts.append(f"({describe(item, depth + 1)})")
            continue
        subject = next(s for s in SUBJECTS if s in item)
        label = item[subject] if subject != "custom_field" else f"cf.{item[subject]}"
        if subject == "tag":
            parts.append(f"{'has' if item['op'] == 'has' else 'lacks'} tag {item['tag']}")
        elif item["op"] in ("is_set", "not_set"):
            parts.append(f"{label} {item['op'].replace('_', ' ')}")
        else:
            parts.append(f"{label} {item['op']} {item.get('value')}")
    return (" and " if key == "all" else " or ").join(parts)


# --- compilation ------------------------------------------------------------------------

def compile_rule(rule: Mapping, dialect: str, customer=Customer,
                 measure=CustomerMeasure) -> ColumnElement[bool]:
    """A boolean SQL expression of a *validated* rule over `customer` and `measure`
    (entities or aliases; the caller LEFT JOINs measures on `measure.id == customer.id`)."""
    key = "all" if "all" in rule else "any"
    parts = [compile_rule(item, dialect, customer, measure) if ("all" in item or "any" in item)
             else _compile_condition(item, dialect, customer, measure)
             for item in rule[key]]
    if not parts:
        return true() if key == "all" else false()
    return and_(*parts) if key == "all" else or_(*parts)


def _json_has(column, path: str, value: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        target = column if path == "$" else column[path[3:-1]]
        return target.op("@>", return_type=Boolean)(
            cast(literal(json.dumps([value])), JSONB))
    each = func.json_each(column, path).table_valued("value").alias("je")
    return exists(select(literal(1)).select_from(each).where(each.c.value == value))


def _compile_condition(item: Mapping, dialect: str, customer, measure) -> ColumnElement:
    op, value = item["op"], item.get("value")
    if "tag" in item:
        has = _json_has(customer.tags, "$", item["tag"], dialect)
        return has if op == "has" else not_(has)
    if "tier" in item:
        names = value if op == "in" else [item["tier"]]
        cond = Tier.name.in_(names) if op != "!=" else Tier.name.not_in(names)
        return exists(select(literal(1)).select_from(CustomerTier).join(
            Tier, and_(Tier.tenant_id == CustomerTier.tenant_id, Tier.id == CustomerTier.tier_id))
            .where(CustomerTier.tenant_id == customer.tenant_id,
                   CustomerTier.id == customer.id, cond))
    if "measure" in item:
        type_ = MEASURES[item["measure"]][0]
        column = getattr(measure, item["measure"])
    elif "field" in item:
        type_ = FIELDS[item["field"]][0]
        column = getattr(customer, item["field"])
        if type_ == "date" and value is not None:
            value = date.fromisoformat(value)
    else:
        key = item["custom_field"]
        element = customer.custom_fields[key]
        type_ = _cf_type(item)
        if op in ("has", "lacks"):
            has = _json_has(customer.custom_fields, f'$."{key}"', value, dialect)
            present = _json_present(customer.custom_fields, key, dialect)
            return has if op == "has" else and_(present, not_(has))
        if op in ("is_set", "not_set"):
            present = _json_present(customer.custom_fields, key, dialect)
            return present if op == "is_set" else not_(present)
        column = {"number": lambda: element.as_numeric(24, 6),
                  "boolean": element.as_boolean}.get(type_, element.as_string)()
    if op == "is_set":
        return column.is_not(None)
    if op == "not_set":
        return column.is_(None)
    if type_ == "number":
        value = Decimal(str(value))
    if op == "in":
        return column.in_(value)
    return {"=": column.__eq__, "!=": column.__ne__, ">": column.__gt__,
            ">=": column.__ge__, "<": column.__lt__, "<=": column.__le__}[op](value)


def _cf_type(item: Mapping) -> str:
    value = item.get("value")
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list) and value and isinstance(value[0], int | float) \
            and not isinstance(value[0], bool):
        return "number"
    return "text"


def _json_present(column, key: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return column.op("?", return_type=Boolean)(key)
    return func.json_type(column, f'$."{key}"').is_not(None)


# --- evaluation in Python ---------------------------------------------------------------

def evaluate(rule: Mapping, facts: Mapping[str, Any]) -> bool:
    """Whether a customer matches a validated rule. `facts` holds `measures`, `fields`,
    `custom_fields` (dicts), `tags` (list) and `tier` (name or None); a missing value
    makes every comparison false, as in SQL."""
    key = "all" if "all" in rule else "any"
    results = (evaluate(item, facts) if ("all" in item or "any" in item)
               else _evaluate_condition(item, facts) for item in rule[key])
    return all(results) if key == "all" else any(results)


def _evaluate_condition(item: Mapping, facts: Mapping[str, Any]) -> bool:
    op, value = item["op"], item.get("value")
    if "tag" in item:
        has = item["tag"] in (facts.get("tags") or [])
        return has if op == "has" else not has
    if "tier" in item:
        tier = facts.get("tier")
        names = value if op == "in" else [item["tier"]]
        if tier is None:
            return False
        return tier not in names if op == "!=" else tier in names
    if "measure" in item:
        actual = (facts.get("measures") or {}).get(item["measure"])
    elif "field" in item:
        actual = (facts.get("fields") or {}).get(item["field"])
        if isinstance(actual, date):
            actual = actual.isoformat()
    else:
        cfs = facts.get("custom_fields") or {}
        actual = cfs.get(item["custom_field"])
        if op in ("has", "lacks"):
            if item["custom_field"] not in cfs:
                return False
            has = value in (actual or [])
            return has if op == "has" else not has
        if op in ("is_set", "not_set"):
            return (item["custom_field"] in cfs) == (op == "is_set")
    if op == "is_set":
        return actual is not None
    if op == "not_set":
        return actual is None
    if actual is None:
        return False
    if isinstance(actual, int | float | Decimal) and not isinstance(actual, bool):
        actual = Decimal(str(actual))
        value = [Decimal(str(v)) for v in value] if op == "in" else Decimal(str(value))
    if op == "in":
        return actual in value
    return {"=": actual == value, "!=": actual != value,
            ">": actual > value, ">=": actual >= value,
            "<": actual < value, "<=": actual <= value}[op]

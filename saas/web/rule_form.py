"""The rule builder shared by the tier and segment forms: rules as rows of inputs.

A rule (see `saas.services.rules`) is shown as groups of condition rows. Each row has
three inputs — *what* (`measure:spend_12m`, `field:category`, `custom_field:region`,
`tag`, `tier`), *operator* and *value* — named `<prefix>-g<group>-c<row>-<input>`.
Blank rows are ignored, so the page can offer spare rows without JavaScript. The
service validates the rule; `RuleForm.errors_from` maps its dotted error paths
(`rule.any.1.all.0.value`) back to the input that caused them, so each message is shown
next to the offending row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from saas.services import rules
from saas.web.messages import translate_message

MEASURE_LABELS = {
    "spend_12m": _l("Spend, last 12 months"), "spend_total": _l("Spend, all time"),
    "order_count": _l("Number of orders"), "days_since_last_order": _l("Days since last order"),
    "avg_order_value": _l("Average order value"),
    "avg_interval_days": _l("Average days between orders"),
    "interactions_90d": _l("Interactions, last 90 days"), "points_balance": _l("Points balance"),
    "r_score": _l("Recency score (1-5)"), "f_score": _l("Frequency score (1-5)"),
    "m_score": _l("Monetary score (1-5)"), "rfm_score": _l("RFM score (3-15)"),
    "value_segment": _l("Value segment"), "behaviour": _l("Behaviour"),
    "lifecycle": _l("Lifecycle (computed)"),
}
FIELD_LABELS = {
    "kind": _l("Type"), "category": _l("Category"), "industry": _l("Industry"),
    "company_size": _l("Company size"), "purchasing_power": _l("Purchasing power"),
    "department": _l("Department"), "source_channel": _l("Source channel"),
    "lifecycle_stage": _l("Lifecycle stage"), "birthday": _l("Birthday"),
}
OP_LABELS = {
    "=": "=", "!=": "≠", ">": ">", ">=": "≥", "<": "<", "<=": "≤",
    "in": _l("is one of"), "is_set": _l("is set"), "not_set": _l("is not set"),
    "has": _l("has"), "lacks": _l("lacks"),
}
SUBJECT_KEYS = ("measure", "field", "custom_field")
NO_VALUE_OPS = ("is_set", "not_set")
SPARE_ROWS = 2
MAX_GROUPS = 20


def count(raw: str | None, limit: int) -> int:
    """A row or group count from a hidden input: tampered values cannot crash or
    make the server loop; they are clamped to 0..limit."""
    try:
        return max(0, min(int(raw or 0), limit))
    except ValueError:
        return 0


@dataclass
class Row:
    what: str = ""
    op: str = ""
    value: str = ""


@dataclass
class Group:
    match: str = "all"
    rows: list[Row] = field(default_factory=list)


@dataclass
class RuleForm:
    """One rule builder on a page: its inputs' prefix, groups and rows, and errors
    keyed by input name."""

    prefix: str
    match: str = "all"
    groups: list[Group] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)
    too_deep: bool = False
    _paths: dict[str, str] = field(default_factory=dict)

    # --- from a stored rule --------------------------------------------------------

    @classmethod
    def from_rule(cls, prefix: str, rule: Mapping | None) -> RuleForm:
        form = cls(prefix)
        rule = rule or {"all": []}
        key = "any" if "any" in rule else "all"
        form.match = key
        loose = Group(key)
        for item in rule.get(key) or []:
            if "all" in item or "any" in item:
                sub = "any" if "any" in item else "all"
                group = Group(sub)
                for cond in item[sub]:
                    if "all" in cond or "any" in cond:
                        form.too_deep = True
                        continue
                    group.rows.append(_row_of(cond))
                form.groups.append(group)
            else:
                loose.rows.append(_row_of(item))
        if loose.rows or not form.groups:
            form.groups.insert(0, loose)
        form._pad()
        return form

    # --- from the submitted page ---------------------------------------------------

    @classmethod
    def from_request(cls, prefix: str, data: MultiDict) -> RuleForm:
        form = cls(prefix, match=_match(data.get(f"{prefix}-match")))
        for g in range(count(data.get(f"{prefix}-groups"), MAX_GROUPS) or 1):
            group = Group(_match(data.get(f"{prefix}-g{g}-match")))
            for c in range(count(data.get(f"{prefix}-g{g}-rows"), rules.MAX_CONDITIONS) or 1):
                base = f"{prefix}-g{g}-c{c}"
                group.rows.append(Row((data.get(f"{base}-what") or "").strip(),
                                      (data.get(f"{base}-op") or "").strip(),
                                      (data.get(f"{base}-value") or "").strip()))
            form.groups.append(group)
        return form

    def is_blank(self) -> bool:
        return not any(r.what for g in self.groups for r in g.rows)

    def to_rule(self, ctx: rules.Context) -> dict:
        """The rule as data (unvalidated; the service validates it). Also remembers
        which input each part of the rule came from, for `errors_from`."""
        self._paths = {}
        used = [(gi, g, [(ci, r) for ci, r in enumerate(g.rows) if r.what])
                for gi, g in enumerate(self.groups)]
        used = [u for u in used if u[2]]
        if not used:
            return {self.match: []}
        if len(used) == 1:
            gi, group, rows = used[0]
            items = []
            for k, (ci, row) in enumerate(rows):
                self._paths[f"rule.{group.match}.{k}"] = f"{self.prefix}-g{gi}-c{ci}"
                items.append(_condition(row, ctx))
            return {group.match: items}
        groups = []
        for j, (gi, group, rows) in enumerate(used):
            items = []
            for k, (ci, row) in enumerate(rows):
                self._paths[f"rule.{self.match}.{j}.{group.match}.{k}"] = \
                    f"{self.prefix}-g{gi}-c{ci}"
                items.append(_condition(row, ctx))
            groups.append({group.match: items})
        return {self.match: groups}

    def errors_from(self, errors: Mapping[str, list[str]], base: str = "rule") -> None:
        """Attach the service's errors under `base` (e.g. `tiers.0.rule`) to inputs."""
        for path, messages in errors.items():
            if path != base and not path.startswith(base + "."):
                continue
            local = "rule" + path[len(base):]
            target = f"{self.prefix}-rule"
            for rule_path, input_base in sorted(self._paths.items(), key=lambda p: -len(p[0])):
                if local == rule_path or local.startswith(rule_path + "."):
                    part = local[len(rule_path) + 1:].split(".")[0] if local != rule_path \
                        else ""
                    suffix = {"measure": "what", "field": "what", "custom_field": "what",
                              "op": "op", "value": "value", "tag": "value",
                              "tier": "value"}.get(part, "what")
                    target = f"{input_base}-{suffix}"
                    break
            self.errors.setdefault(target, []).extend(translate_message(m) for m in messages)

    def error(self, name: str) -> list[str]:
        return self.errors.get(name, [])

    def _pad(self) -> None:
        for group in self.groups:
            group.rows.extend(Row() for _ in range(SPARE_ROWS))
        self.groups.append(Group("all", [Row() for _ in range(SPARE_ROWS)]))


def _match(value: str | None) -> str:
    return "any" if value == "any" else "all"


def _row_of(cond: Mapping) -> Row:
    op = cond.get("op", "")
    value = cond.get("value")
    text = ", ".join(str(v) for v in value) if isinstance(value, list) else \
        ("" if value is None else ("true" if value is True else
                                   "false" if value is False else str(value)))
    if "tag" in cond:
        return Row("tag", op, cond["tag"])
    if "tier" in cond:
        return Row("tier", op, text if op == "in" else cond["tier"])
    subject = next(s for s in SUBJECT_KEYS if s in cond)
    return Row(f"{subject}:{cond[subject]}", op, text)


def _condition(row: Row, ctx: rules.Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if row.op:
        out["op"] = row.op
    if row.what == "tag":
        out["tag"] = row.value
        return out
    if row.what == "tier":
        names = [v.strip() for v in row.value.split(",") if v.strip()]
        out["tier"] = names[0] if names else ""
        if row.op == "in":
            out["value"] = names
        return out
    subject, _, name = row.what.partition(":")
    if subject not in SUBJECT_KEYS:
        return {"measure": row.what, **out}
    out[subject] = name
    if row.op in NO_VALUE_OPS:
        return out
    if row.op == "in":
        out["value"] = [v.strip() for v in row.value.split(",") if v.strip()]
        return out
    value: Any = row.value
    if subject == "custom_field" and ctx.custom_fields.get(name, ("",))[0] == "boolean":
        lowered = row.value.lower()
        if lowered in ("true", "yes", "1", "是"):
            value = True
        elif lowered in ("false", "no", "0", "否"):
            value = False
    out["value"] = value
    return out


def subject_choices(ctx: rules.Context, custom_labels: Mapping[str, str],
                    allow_tier: bool = False) -> list[tuple[str, str]]:
    """The *what* options: measures, profile fields, custom fields, tag (and tier)."""
    out = [("", "—")]
    out += [(f"measure:{k}", str(MEASURE_LABELS.get(k, k))) for k in rules.MEASURES]
    out += [(f"field:{k}", str(FIELD_LABELS.get(k, k))) for k in rules.FIELDS]
    out += [(f"custom_field:{k}", custom_labels.get(k, k)) for k in ctx.custom_fields
            if k not in ctx.sensitive]  # encrypted values: rules cannot read them
    out.append(("tag", str(_l("Tag (name in value)"))))
    if allow_tier:
        out.append(("tier", str(_l("Tier (name in value)"))))
    return out


def op_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(k, str(v)) for k, v in OP_LABELS.items()]


def choice_hints(ctx: rules.Context) -> list[tuple[str, str]]:
    """Which values the choice-type subjects accept, shown under the builder."""
    out = []
    for key, (type_, values) in {**rules.MEASURES, **rules.FIELDS}.items():
        if type_ == "choice" and values:
            label = MEASURE_LABELS.get(key) or FIELD_LABELS.get(key) or key
            out.append((str(label), ", ".join(values)))
    for key, (_type, values) in ctx.custom_fields.items():
        if values and key not in ctx.sensitive:
            out.append((key, ", ".join(values)))
    return out

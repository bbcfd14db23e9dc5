"""Field-level permissions: which customer fields each role may see and change.

One registry lists every protectable field — the built-in customer fields, one entry per
custom field definition (`cf.<key>`) and the order amounts — with the keys under which it
appears in API responses, exports, list filters and campaign templates. Every surface
asks this module rather than keeping its own list, so a field added to the registry is
protected everywhere at once, and the tests iterate over the same registry.

No row means "visible and editable": tenants start open and the admin narrows. The owner
role is never restricted, so nobody can lock the tenant out of its own data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.models.privacy import RoleFieldPermission
from saas.services import audit
from saas.services.context import Actor
from saas.services.errors import Conflict, Forbidden, InvalidInput

CONFIGURABLE_ROLES = ("admin", "manager", "agent", "readonly")
ORDER_AMOUNTS = "order_amounts"
SPEND_MEASURES = ("spend_12m", "spend_total", "avg_order_value", "m_score")


@dataclass(frozen=True)
class FieldSpec:
    """One protectable field and every name it goes by on the various surfaces."""

    key: str
    label: str
    response_keys: tuple[str, ...] = ()
    filter_keys: tuple[str, ...] = ()
    export_columns: tuple[str, ...] = ()
    template_variables: tuple[str, ...] = ()
    write_keys: tuple[str, ...] = ()
    custom: bool = False
    extra: dict = field(default_factory=dict)


def _builtin(key: str, label: str, *, response: tuple[str, ...] | None = None,
             filters: tuple[str, ...] | None = None, export: tuple[str, ...] | None = None,
             template: tuple[str, ...] | None = None) -> FieldSpec:
    return FieldSpec(key=key, label=label,
                     response_keys=response if response is not None else (key,),
                     filter_keys=filters if filters is not None else (key,),
                     export_columns=export if export is not None else (key,),
                     template_variables=template if template is not None else (key,),
                     write_keys=(key,))


# Built-in customer fields that can be restricted (name and kind are always visible:
# without them a record cannot be recognised at all).
BUILTIN_FIELDS: tuple[FieldSpec, ...] = (
    _builtin("phones", "Phones", response=("phones", "phone"), filters=("q:phone",),
             template=("phone",)),
    _builtin("emails", "Emails", response=("emails", "email"), filters=("q:email",),
             template=("email",)),
    _builtin("wechat_id", "WeChat ID", filters=()),
    _builtin("address", "Address", filters=()),
    _builtin("industry", "Industry"),
    _builtin("company_size", "Company size"),
    _builtin("purchasing_power", "Purchasing power"),
    _builtin("category", "Category"),
    _builtin("owner_id", "Owner", export=(), template=()),
    _builtin("department", "Department"),
    _builtin("tags", "Tags"),
    _builtin("birthday", "Birthday", filters=()),
    _builtin("source_channel", "Source channel"),
    _builtin("lifecycle_stage", "Lifecycle stage"),
    _builtin("consent", "Consent", filters=("consent.",), export=(), template=()),
    _builtin("notes", "Notes", filters=()),
    _builtin("external_id", "External ID"),
)
ORDER_AMOUNTS_SPEC = FieldSpec(key=ORDER_AMOUNTS, label="Order amounts",
                               response_keys=("spend",), template_variables=())


def registry(session: Session) -> list[FieldSpec]:
    """Every protectable field of the bound tenant: built-ins, custom fields, amounts."""
    from saas.services import custom_fields

    specs = list(BUILTIN_FIELDS)
    for definition in custom_fields.list_definitions(session):
        key = f"cf.{definition.key}"
        specs.append(FieldSpec(key=key, label=definition.label, response_keys=(key,),
                               filter_keys=(key,), export_columns=(key,),
                               template_variables=(key,), write_keys=(key,), custom=True))
    specs.append(ORDER_AMOUNTS_SPEC)
    return specs


def _rows(session: Session) -> dict[tuple[str, str], RoleFieldPermission]:
    return {(r.role, r.field): r for r in session.scalars(select(RoleFieldPermission))}


@dataclass(frozen=True)
class Access:
    """What one role may do with the tenant's fields (keys of the registry)."""

    visible: frozenset[str]
    editable: frozenset[str]
    hidden: frozenset[str]
    specs: tuple[FieldSpec, ...]

    def can_see(self, key: str) -> bool:
        return key not in self.hidden


def access_for(session: Session, role: str | None) -> Access:
    """The visible and editable field keys for `role` (owner and system: everything)."""
    specs = tuple(registry(session))
    keys = [s.key for s in specs]
    if role is None or role == "owner" or role not in CONFIGURABLE_ROLES:
        all_keys = frozenset(keys)
        return Access(all_keys, all_keys, frozenset(), specs)
    rows = _rows(session)
    visible, editable = set(), set()
    for key in keys:
        row = rows.get((role, key))
        if row is None or row.visible:
            visible.add(key)
            if row is None or row.editable:
                editable.add(key)
    return Access(frozenset(visible), frozenset(editable),
                  frozenset(keys) - visible, specs)


def visible_fields(session: Session, role: str | None) -> frozenset[str]:
    return access_for(session, role).visible


def editable_fields(session: Session, role: str | None) -> frozenset[str]:
    return access_for(session, role).editable


# --- applying the settings on each surface -------------------------------------------

def redact(access: Access, data: dict[str, Any]) -> dict[str, Any]:
    """Remove hidden fields from one serialised customer (API response shape)."""
    for spec in access.specs:
        if spec.key in access.hidden:
            if spec.custom:
                cf = data.get("custom_fields")
                if isinstance(cf, dict):
                    cf.pop(spec.key[3:], None)
            else:
                for name in spec.response_keys:
                    data.pop(name, None)
    return data


def hidden_attributes(access: Access) -> tuple[set[str], set[str]]:
    """(customer attributes, custom field keys) a template must not show."""
    attrs, custom = set(), set()
    for spec in access.specs:
        if spec.key in access.hidden:
            if spec.custom:
                custom.add(spec.key[3:])
            else:
                attrs.update(spec.response_keys)
    return attrs, custom


def export_columns(access: Access, columns: Iterable[str]) -> list[str]:
    """The export columns this role may receive, in the given order."""
    banned = {c for s in access.specs if s.key in access.hidden for c in s.export_columns}
    return [c for c in columns if c not in banned]


def check_filters(access: Access, filters: Mapping[str, Any]) -> None:
    """Refuse a customer-list filter on a hidden field (else matching would reveal it).

    A search `q` that would be read as a phone or an email is refused the same way when
    that field is hidden."""
    from saas.services.identifiers import looks_like_phone

    errors: dict[str, list[str]] = {}
    for spec in access.specs:
        if spec.key not in access.hidden:
            continue
        for key in filters:
            value = filters[key]
            if value in (None, "", []):
                continue
            for fk in spec.filter_keys:
                if fk == "q:phone" and key == "q" and "@" not in str(value) \
                        and looks_like_phone(str(value)):
                    errors["q"] = ["You may not search by phone."]
                elif fk == "q:email" and key == "q" and "@" in str(value):
                    errors["q"] = ["You may not search by email."]
                elif fk.endswith(".") and key.startswith(fk) or key == fk:
                    errors[key] = ["You may not filter on this field."]
    if errors:
        raise InvalidInput("The filter has errors.", errors)


def check_writable(session: Session, actor: Actor, data: Mapping[str, Any],
                   current: Mapping[str, Any] | None = None) -> None:
    """403 naming every field in `data` the actor's role may not change.

    A value equal to the current one is not a change (a form re-submits read-only fields
    as they are); on create (`current` None) any non-empty value counts."""
    if actor.role not in CONFIGURABLE_ROLES:
        return  # owner and system writers (imports, jobs): no query per row
    access = access_for(session, actor.role)
    if len(access.editable) == len(access.specs):
        return
    errors: dict[str, list[str]] = {}
    for spec in access.specs:
        if spec.key in access.editable or not spec.write_keys:
            continue
        if spec.custom:
            values = data.get("custom_fields") or {}
            name = spec.key[3:]
            if not isinstance(values, Mapping) or name not in values:
                continue
            new = values[name]
            old = (current or {}).get("custom_fields", {}).get(name) if current else None
            if _changes(new, old, current is None):
                errors[f"custom_fields.{name}"] = ["You may not change this field."]
            continue
        for name in spec.write_keys:
            if name not in data:
                continue
            old = current.get(name) if current else None
            if _changes(data[name], old, current is None):
                errors[name] = ["You may not change this field."]
    if errors:
        raise Forbidden("You may not change: " + ", ".join(sorted(errors)) + ".", errors)


def _changes(new: Any, old: Any, creating: bool) -> bool:
    if creating:
        return new not in (None, "", [], {})
    if new in (None, "", [], {}) and old in (None, "", [], {}):
        return False
    if isinstance(new, Mapping) and isinstance(old, Mapping):
        return any(old.get(k, {}).get("status") != (v.get("status") if isinstance(v, Mapping)
                                                     else v) for k, v in new.items())
    if isinstance(old, list) and isinstance(new, list):
        return [str(v) for v in old] != [str(v) for v in new]
    return str(new) != str(old)


def redact_timeline(access: Access, items: list) -> list:
    """Timeline items without order amounts / consent events the role may not see."""
    if not access.can_see("consent"):
        items = [i for i in items if i.kind != "consent"]
    if access.can_see(ORDER_AMOUNTS):
        return items
    import dataclasses

    return [dataclasses.replace(i, data={k: v for k, v in (i.data or {}).items()
                                         if k not in ("total", "amount", "spend")})
            if i.kind == "order" else i for i in items]


def template_variables(session: Session, role: str | None) -> list[str]:
    """The customer variables a campaign template written by `role` may use."""
    access = access_for(session, role)
    names = ["name", "kind"]
    for spec in access.specs:
        if spec.key in access.visible:
            names.extend(spec.template_variables)
    return names


# --- the admin's settings ---------------------------------------------------------------

@dataclass
class Usage:
    field: str
    where: str
    id: str
    name: str


def usages(session: Session, keys: Iterable[str]) -> list[Usage]:
    """Where tier rules and segments refer to any of `keys` (so hiding them can be warned)."""
    from saas.models.segments import Segment
    from saas.models.tiers import Tier

    wanted = set(keys)
    found: list[Usage] = []
    for kind, model in (("segment", Segment), ("tier", Tier)):
        for item in session.scalars(select(model)):
            for key in sorted(_rule_fields(item.rule) & wanted):
                found.append(Usage(key, kind, str(item.id), item.name))
    return found


def _rule_fields(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, Mapping):
        if isinstance(node.get("field"), str):
            found.add(node["field"])
        if isinstance(node.get("custom_field"), str):
            found.add(f"cf.{node['custom_field']}")
        if "tag" in node:
            found.add("tags")
        if node.get("measure") in SPEND_MEASURES:
            found.add(ORDER_AMOUNTS)
        for value in node.values():
            found |= _rule_fields(value)
    elif isinstance(node, list):
        for value in node:
            found |= _rule_fields(value)
    return found


@dataclass
class Change:
    role: str
    field: str
    visible: bool
    editable: bool


def settings(session: Session) -> dict[str, Any]:
    """Every field with each configurable role's visible/editable flags (for the admin)."""
    rows = _rows(session)
    fields = []
    for spec in registry(session):
        roles = {}
        for role in CONFIGURABLE_ROLES:
            row = rows.get((role, spec.key))
            roles[role] = {"visible": row.visible if row else True,
                           "editable": (row.editable and row.visible) if row else True}
        fields.append({"key": spec.key, "label": spec.label, "custom": spec.custom,
                       "roles": roles})
    return {"roles": list(CONFIGURABLE_ROLES), "fields": fields}


def set_permissions(session: Session, actor: Actor, changes: list[Mapping[str, Any]],
                    confirm: bool = False) -> list[Usage]:
    """Apply visible/editable changes for (role, field) pairs, all or nothing.

    Hiding a field that a tier rule or segment uses is refused with a Conflict listing
    where it is used unless `confirm` is set (the rule keeps working — it runs as the
    system — but staff of that role can no longer see why a customer matched). Returns
    the usages that were confirmed."""
    keys = {s.key for s in registry(session)}
    errors: dict[str, list[str]] = {}
    cleaned: list[Change] = []
    for i, raw in enumerate(changes):
        role, key = raw.get("role"), raw.get("field")
        if role not in CONFIGURABLE_ROLES:
            errors[f"changes.{i}.role"] = [
                f"Choose one of: {', '.join(CONFIGURABLE_ROLES)}."]
            continue
        if key not in keys:
            errors[f"changes.{i}.field"] = ["Unknown field."]
            continue
        visible = bool(raw.get("visible", True))
        editable = bool(raw.get("editable", True)) and visible
        cleaned.append(Change(role, key, visible, editable))
    if errors:
        raise InvalidInput("Please correct the permission changes.", errors)
    rows = _rows(session)
    newly_hidden = {c.field for c in cleaned if not c.visible
                    and (rows.get((c.role, c.field)) is None
                         or rows[(c.role, c.field)].visible)}
    found = usages(session, newly_hidden)
    if found and not confirm:
        raise Conflict("Fields you are hiding are used in tier rules or segments; "
                       "confirm to hide them.",
                       {u.field: [f"Used in {u.where} '{u.name}'."] for u in found})
    audit_changes = {}
    for c in cleaned:
        row = rows.get((c.role, c.field))
        before = (row.visible, row.editable) if row else (True, True)
        if row is None:
            row = RoleFieldPermission(role=c.role, field=c.field)
            session.add(row)
            rows[(c.role, c.field)] = row
        row.visible, row.editable = c.visible, c.editable
        if before != (c.visible, c.editable):
            audit_changes[f"{c.role}.{c.field}"] = [
                {"visible": before[0], "editable": before[1]},
                {"visible": c.visible, "editable": c.editable}]
    session.flush()
    if audit_changes:
        audit.record(session, actor, "privacy.field_permissions_changed", "tenant", None,
                     audit_changes)
    return found

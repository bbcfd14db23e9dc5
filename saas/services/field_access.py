"""Field-level permissions: which customer fields each role may see and change.

One registry lists every protectable field — the built-in customer fields, one entry per
custom field definition (`cf.<key>`) and the order amounts — with the keys under which it
appears in API responses, exports, list filters and campaign templates. Every surface
asks this module rather than keeping its own list, so a field added to the registry is
protected everywhere at once, and the tests iterate over the same registry.

Each role has one level per field: `write` (the default: no row), `read`, `masked`
(shown as 138****8000; the clear value only through an audited reveal) or `hidden`.
Tenants start open and the admin narrows. The owner role is never restricted, so nobody
can lock the tenant out of its own data. A masked field counts as hidden for filters and
campaign templates: matching on it or merging it into a preview would disclose it
without a reveal.
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
LEVELS = ("write", "read", "masked", "hidden")
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
    maskable: bool = False
    extra: dict = field(default_factory=dict)


def _builtin(key: str, label: str, *, response: tuple[str, ...] | None = None,
             filters: tuple[str, ...] | None = None, export: tuple[str, ...] | None = None,
             template: tuple[str, ...] | None = None, maskable: bool = False) -> FieldSpec:
    return FieldSpec(key=key, label=label, maskable=maskable,
                     response_keys=response if response is not None else (key,),
                     filter_keys=filters if filters is not None else (key,),
                     export_columns=export if export is not None else (key,),
                     template_variables=template if template is not None else (key,),
                     write_keys=(key,))


# Built-in customer fields that can be restricted (name and kind are always visible:
# without them a record cannot be recognised at all).
BUILTIN_FIELDS: tuple[FieldSpec, ...] = (
    _builtin("phones", "Phones", response=("phones", "phone"), filters=("q:phone",),
             template=("phone",), maskable=True),
    _builtin("emails", "Emails", response=("emails", "email"), filters=("q:email",),
             template=("email",), maskable=True),
    _builtin("wechat_id", "WeChat ID", filters=(), maskable=True),
    _builtin("address", "Address", filters=(), maskable=True),
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
    _builtin("external_id", "External ID", maskable=True),
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
                               template_variables=(key,), write_keys=(key,), custom=True,
                               maskable=definition.type == "text"))
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
    masked: frozenset[str] = frozenset()

    def can_see(self, key: str) -> bool:
        """Shown in some form (masked counts)."""
        return key not in self.hidden

    def can_see_clear(self, key: str) -> bool:
        return key not in self.hidden and key not in self.masked

    @property
    def restricted(self) -> bool:
        return bool(self.hidden or self.masked)


def access_for(session: Session, role: str | None) -> Access:
    """The visible and editable field keys for `role` (owner and system: everything)."""
    specs = tuple(registry(session))
    keys = [s.key for s in specs]
    if role is None or role == "owner" or role not in CONFIGURABLE_ROLES:
        all_keys = frozenset(keys)
        return Access(all_keys, all_keys, frozenset(), specs)
    rows = _rows(session)
    maskable = {s.key for s in specs if s.maskable}
    visible, editable, masked = set(), set(), set()
    for key in keys:
        level = _level(rows.get((role, key)))
        if level == "hidden" or (level == "masked" and key not in maskable):
            continue  # a mask on a field that lost maskability fails closed
        visible.add(key)
        if level == "masked":
            masked.add(key)
        elif level == "write":
            editable.add(key)
    return Access(frozenset(visible), frozenset(editable),
                  frozenset(keys) - visible, specs, frozenset(masked))


def _level(row: RoleFieldPermission | None) -> str:
    if row is None:
        return "write"
    if not row.visible:
        return "hidden"
    if row.masked:
        return "masked"
    return "write" if row.editable else "read"


def visible_fields(session: Session, role: str | None) -> frozenset[str]:
    return access_for(session, role).visible


def editable_fields(session: Session, role: str | None) -> frozenset[str]:
    return access_for(session, role).editable


# --- applying the settings on each surface -------------------------------------------

MASK = "****"


def mask_value(key: str, value: Any) -> Any:
    """The masked form of one value of field `key` (lists element by element).

    Phones keep their last four digits and the prefix before the eight digits that
    identify a subscriber (138****8000), emails the first letter and the domain, other
    text its first character; the mask has a fixed length so it does not leak one."""
    if value is None or value == "":
        return value
    if isinstance(value, list | tuple):
        return [mask_value(key, v) for v in value]
    text = str(value)
    if key == "phones":
        tail = min(4, max(len(text) - 4, 0))
        head = max(len(text) - 8, 0)
        return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail:]
    if key == "emails" and "@" in text:
        local, domain = text.rsplit("@", 1)
        return local[:1] + MASK + "@" + domain
    return text[:1] + MASK if len(text) > 1 else MASK


def redact(access: Access, data: dict[str, Any]) -> dict[str, Any]:
    """Remove hidden fields from one serialised customer (API response shape) and mask
    the masked ones."""
    for spec in access.specs:
        if spec.key in access.hidden:
            if spec.custom:
                cf = data.get("custom_fields")
                if isinstance(cf, dict):
                    cf.pop(spec.key[3:], None)
            else:
                for name in spec.response_keys:
                    data.pop(name, None)
        elif spec.key in access.masked:
            if spec.custom:
                cf = data.get("custom_fields")
                if isinstance(cf, dict) and spec.key[3:] in cf:
                    cf[spec.key[3:]] = mask_value(spec.key, cf[spec.key[3:]])
            else:
                for name in spec.response_keys:
                    if name in data:
                        data[name] = mask_value(spec.key, data[name])
    return data


CONTACT_FIELDS = {"phone": "phones", "email": "emails"}


def redact_contact(access: Access, data: dict[str, Any]) -> dict[str, Any]:
    """A contact's phone and email follow the customer's phones and emails settings."""
    for name, key in CONTACT_FIELDS.items():
        if key in access.hidden:
            data.pop(name, None)
        elif key in access.masked and name in data:
            data[name] = mask_value(key, data[name])
    return data


def check_contact_writable(session: Session, actor: Actor, data: Mapping[str, Any],
                           current: Mapping[str, Any] | None = None) -> None:
    """403 naming `phone`/`email` of a contact when the role may not change customer
    phones/emails (the same person data, so the same rule)."""
    if actor.role not in CONFIGURABLE_ROLES:
        return
    access = access_for(session, actor.role)
    errors = {name: ["You may not change this field."]
              for name, key in CONTACT_FIELDS.items()
              if name in data and key not in access.editable
              and _changes(data[name], (current or {}).get(name), current is None)}
    if errors:
        raise Forbidden("You may not change: " + ", ".join(sorted(errors)) + ".", errors)


def masked_attributes(access: Access) -> tuple[dict[str, str], dict[str, str]]:
    """({customer attribute: field key}, {custom field key: field key}) shown masked."""
    attrs, custom = {}, {}
    for spec in access.specs:
        if spec.key in access.masked:
            if spec.custom:
                custom[spec.key[3:]] = spec.key
            else:
                attrs.update({name: spec.key for name in spec.response_keys})
    return attrs, custom


def export_maskers(access: Access, header: Iterable[str]) -> list[Any]:
    """Per export column a function masking its text cell, or None (clear)."""
    by_column = {c: s.key for s in access.specs if s.key in access.masked
                 for c in s.export_columns}

    def masker(key: str):
        return lambda text: ", ".join(str(mask_value(key, part)) for part in
                                      text.split(", ")) if text else text
    return [masker(by_column[c]) if c in by_column else None for c in header]


def clear_value(spec: FieldSpec, customer: Any) -> Any:
    """The unmasked value of one field of a customer (what a reveal returns)."""
    if spec.custom:
        return (customer.custom_fields or {}).get(spec.key[3:])
    return getattr(customer, spec.response_keys[0])


def reveal(session: Session, actor: Actor, customer: Any, key: Any,
           where: str = "API") -> Any:
    """The clear value of a masked field, recorded in the read audit.

    The caller has already checked the customer is in the actor's row scope. A field the
    role may not see at all stays forbidden: masking lets one look on demand, hiding
    does not."""
    from saas.services import read_audit

    access = access_for(session, actor.role)
    spec = next((s for s in access.specs if s.key == key), None)
    if spec is None or not spec.maskable:
        raise InvalidInput.field("field", "Choose a field that can be masked.")
    if spec.key in access.hidden:
        raise Forbidden(f"You may not see {spec.key}.",
                        {"field": ["You may not see this field."]})
    value = clear_value(spec, customer)
    read_audit.record_reveal(session, actor, customer.id, spec.key, where)
    return value


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
        if access.can_see_clear(spec.key):
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


def require_visible(access: Access, key: str, *, write: bool = False) -> None:
    """403 naming `key` when the role may not see (or, with `write`, change) it — for
    endpoints that are about one field, such as the consent history."""
    allowed = access.editable if write else access.visible
    if key not in allowed:
        raise Forbidden(f"You may not {'change' if write else 'see'} {key}.",
                        {key: [f"You may not {'change' if write else 'see'} this field."]})


def redact_order(access: Access, data: dict[str, Any]) -> dict[str, Any]:
    """An order (API shape) without its amounts for roles that may not see them."""
    if access.can_see(ORDER_AMOUNTS):
        return data
    data.pop("total", None)
    for line in data.get("lines") or []:
        line.pop("unit_price", None)
        line.pop("amount", None)
    return data


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
        if access.can_see_clear(spec.key):
            names.extend(spec.template_variables)
    return names


# Methods of a mapping that read more than one key (or a key named by a variable).
_MAPPING_METHODS = frozenset({"get", "items", "values", "keys", "copy", "pop", "popitem",
                              "setdefault", "update", "__getitem__", "__iter__"})


def template_fields(source: str) -> set[str]:
    """The customer variables a campaign template reads, as template-variable names
    (`phone`, `cf.level`; `*` for the whole customer, `cf.*` for all custom fields)."""
    from jinja2 import TemplateSyntaxError, nodes
    from jinja2.sandbox import SandboxedEnvironment

    try:
        tree = SandboxedEnvironment().parse(source or "")
    except TemplateSyntaxError:
        return set()  # the template validator reports syntax errors with their line
    found: set[str] = set()
    parents: dict[int, nodes.Node] = {}
    for node in tree.find_all(nodes.Node):
        for child in node.iter_child_nodes():
            parents[id(child)] = node

    def key_of(node: nodes.Node) -> str | None:
        if isinstance(node, nodes.Getattr):
            return node.attr
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            return str(node.arg.value)
        return None

    def step(node: nodes.Node) -> tuple[str | None, nodes.Node | None]:
        """The key read from the mapping `node` and the expression holding its value:
        `x.key` / `x['key']` / `x.get('key')`; (None, None) for anything else (a
        filter, `items()`, a loop...), i.e. the whole mapping."""
        outer = parents.get(id(node))
        if getattr(outer, "node", None) is not node:
            return None, None
        key = key_of(outer)
        if key in _MAPPING_METHODS:
            call = parents.get(id(outer))
            if key == "get" and isinstance(call, nodes.Call) and call.node is outer \
                    and call.args and isinstance(call.args[0], nodes.Const):
                return str(call.args[0].value), call
            return None, None
        return key, outer

    for name in tree.find_all(nodes.Name):
        if name.name != "customer":
            continue
        first, value = step(name)
        if first is None or value is None:
            found.add("*")
        elif first == "custom_fields":
            second, _value = step(value)
            found.add(f"cf.{second}" if second else "cf.*")
        else:
            found.add(first)
    return found


def check_template(session: Session, actor: Actor, source: str | None, field: str) -> None:
    """403 naming `field` when a template written by `actor` reads a customer variable
    the role may not see in clear (it would show in the preview and the test send)."""
    if actor.role not in CONFIGURABLE_ROLES or not source:
        return
    restricted = set(template_variables(session, None)) - set(
        template_variables(session, actor.role))
    if not restricted:
        return
    banned = sorted(
        used for used in template_fields(source)
        if used in restricted or (used == "*")
        or (used == "cf.*" and any(r.startswith("cf.") for r in restricted)))
    if banned:
        names = ", ".join("customer" if b == "*" else f"customer.{b}" for b in banned)
        raise Forbidden(f"You may not use: {names}.",
                        {field: [f"You may not use: {names}."]})


def check_variants(session: Session, actor: Actor,
                   variants: Iterable[Mapping[str, Any]] | None) -> None:
    """`check_template` on each campaign variant's subject and body, the error keyed
    `variants.<i>.subject` / `variants.<i>.body`."""
    for i, variant in enumerate(variants or ()):
        for part in ("subject", "body"):
            check_template(session, actor, variant.get(part), f"variants.{i}.{part}")


def check_variables(session: Session, actor: Actor, source: str | None, field: str,
                    needs: Mapping[str, str]) -> None:
    """403 naming the variable when a template reads one of `needs` (plain variable name
    → field key, e.g. `order_total` → `order_amounts`) the author may not see in clear."""
    if actor.role not in CONFIGURABLE_ROLES or not source:
        return
    from jinja2 import TemplateSyntaxError, meta
    from jinja2.sandbox import SandboxedEnvironment

    try:
        used = meta.find_undeclared_variables(SandboxedEnvironment().parse(source))
    except TemplateSyntaxError:
        return  # the template validator reports syntax errors with their line
    access = access_for(session, actor.role)
    banned = sorted(name for name in used
                    if name in needs and not access.can_see_clear(needs[name]))
    if banned:
        names = ", ".join(banned)
        raise Forbidden(f"You may not use: {names}.",
                        {field: [f"You may not use: {names}."]})


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
    level: str


FLAGS = {"write": (True, True, False), "read": (True, False, False),
         "masked": (True, False, True), "hidden": (False, False, False)}


def _flags(level: str) -> dict[str, bool]:
    visible, editable, masked = FLAGS[level]
    return {"level": level, "visible": visible, "editable": editable, "masked": masked}


def settings(session: Session) -> dict[str, Any]:
    """Every field with each configurable role's level (and the equivalent flags)."""
    rows = _rows(session)
    fields = []
    for spec in registry(session):
        roles = {role: _flags(_level(rows.get((role, spec.key))))
                 for role in CONFIGURABLE_ROLES}
        fields.append({"key": spec.key, "label": spec.label, "custom": spec.custom,
                       "maskable": spec.maskable, "roles": roles})
    return {"roles": list(CONFIGURABLE_ROLES), "levels": list(LEVELS), "fields": fields}


def _requested_level(raw: Mapping[str, Any]) -> str | None:
    """`level`, or the older flags (visible / editable / masked) translated to one."""
    if raw.get("level") is not None:
        return raw["level"] if raw["level"] in LEVELS else None
    if not raw.get("visible", True):
        return "hidden"
    if raw.get("masked"):
        return "masked"
    return "write" if raw.get("editable", True) else "read"


def set_permissions(session: Session, actor: Actor, changes: list[Mapping[str, Any]],
                    confirm: bool = False) -> list[Usage]:
    """Apply level changes for (role, field) pairs, all or nothing.

    Each change gives `level` (write / read / masked / hidden) or the older
    visible/editable flags. Hiding or masking a field that a tier rule or segment uses is
    refused with a Conflict listing where it is used unless `confirm` is set (the rule
    keeps working — it runs as the system — but staff of that role can no longer see why
    a customer matched). Returns the usages that were confirmed."""
    specs = {s.key: s for s in registry(session)}
    errors: dict[str, list[str]] = {}
    cleaned: list[Change] = []
    for i, raw in enumerate(changes):
        role, key, level = raw.get("role"), raw.get("field"), _requested_level(raw)
        if role not in CONFIGURABLE_ROLES:
            errors[f"changes.{i}.role"] = [
                f"Choose one of: {', '.join(CONFIGURABLE_ROLES)}."]
        elif key not in specs:
            errors[f"changes.{i}.field"] = ["Unknown field."]
        elif level is None:
            errors[f"changes.{i}.level"] = [f"Choose one of: {', '.join(LEVELS)}."]
        elif level == "masked" and not specs[key].maskable:
            errors[f"changes.{i}.level"] = ["This field cannot be masked."]
        else:
            cleaned.append(Change(role, key, level))
    if errors:
        raise InvalidInput("Please correct the permission changes.", errors)
    rows = _rows(session)
    newly_hidden = {c.field for c in cleaned if c.level in ("hidden", "masked")
                    and _level(rows.get((c.role, c.field))) in ("write", "read")}
    found = usages(session, newly_hidden)
    if found and not confirm:
        raise Conflict("Fields you are hiding are used in tier rules or segments; "
                       "confirm to hide them.",
                       {u.field: [f"Used in {u.where} '{u.name}'."] for u in found})
    audit_changes = {}
    for c in cleaned:
        row = rows.get((c.role, c.field))
        before = _level(row)
        if row is None:
            row = RoleFieldPermission(role=c.role, field=c.field)
            session.add(row)
            rows[(c.role, c.field)] = row
        row.visible, row.editable, row.masked = FLAGS[c.level]
        if before != c.level:
            audit_changes[f"{c.role}.{c.field}"] = [before, c.level]
    session.flush()
    if audit_changes:
        audit.record(session, actor, "privacy.field_permissions_changed", "tenant", None,
                     audit_changes)
    return found

"""What every API module needs: token authentication, permissions, the acting staff
member, and the schema base class.

Authentication runs for every request under /api/v1/ before any view (secure by
default): a module cannot forget it, only opt out with `@public`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import marshmallow as ma
from flask import current_app, g, request
from sqlalchemy import inspect as sa_inspect
from werkzeug.exceptions import Forbidden, Unauthorized

from saas.extensions import db
from saas.models import ApiToken, Staff, Tenant
from saas.permissions import role_can
from saas.services.context import Actor
from saas.services.tokens import parse_tenant, resolve_token
from saas.tenancy import bind_tenant

API_V1 = "/api/v1/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Schema(ma.Schema):
    """Base for every API schema: an unknown field is a 422 naming it, never ignored."""

    class Meta:
        unknown = ma.RAISE


# How `FastDumpSchema` turns a value into its dumped form, per field class; only classes
# whose `_serialize` is exactly this (subclasses and other formats take the field's own).
_AS_IS, _TEXT, _STR, _ISO, _TEXT_LIST, _FIELD = range(6)
_ABSENT = object()


def _conversion(field: ma.fields.Field) -> int:
    kind = type(field)
    if kind is ma.fields.String:
        return _TEXT
    if kind is ma.fields.UUID:
        return _STR
    if kind in (ma.fields.DateTime, ma.fields.Date) and field.format in (None, "iso"):
        return _ISO
    if kind is ma.fields.List and type(field.inner) is ma.fields.String:
        return _TEXT_LIST
    if kind is ma.fields.Raw:
        return _AS_IS
    return _FIELD


class FastDumpSchema(Schema):
    """A response schema that dumps ORM objects with less per-field overhead.

    marshmallow reaches each value through `Field.serialize` → accessor → `get_value`
    (a `__getitem__` probe, then `getattr`, then SQLAlchemy's attribute descriptor), and
    formats it with a method call per field, which is most of the cost of a 50-row list
    page. Here a plan per object class reads a loaded column straight from the
    instance's `__dict__` (where SQLAlchemy keeps it; an unloaded one goes through
    `getattr`, which loads it) and formats strings, UUIDs, ISO dates and lists of
    strings inline, exactly as those fields would; any other field calls its own
    `_serialize`. The same values and the same hooks (`pre_dump`/`post_dump` run in `dump`
    as before); mappings, dotted attributes, fields without an attribute and a missing
    attribute falling back to `dump_default` take marshmallow's own path."""

    def _serialize(self, obj: Any, *, many: bool = False) -> Any:
        if (many or obj is None or hasattr(obj, "__getitem__")
                or type(self).get_attribute is not ma.Schema.get_attribute):
            return super()._serialize(obj, many=many)
        plans = self.__dict__.get("_fast_plans")
        if plans is None:
            plans = self._fast_plans = {}
        cls = type(obj)
        plan = plans.get(cls)
        if plan is None:
            plan = plans[cls] = self._fast_plan(cls)
        state = getattr(obj, "__dict__", None) or {}
        ret = self.dict_class()
        for name, attribute, key, field, direct, how in plan:
            value = state.get(attribute, _ABSENT) if direct else _ABSENT
            if value is _ABSENT:
                value = getattr(obj, attribute, ma.missing) if attribute else ma.missing
                if value is ma.missing:
                    value = field.serialize(name, obj, accessor=self.get_attribute)
                    if value is not ma.missing:
                        ret[key] = value
                    continue
            if how == _FIELD:
                ret[key] = field._serialize(value, name, obj)
            elif value is None or how == _AS_IS or (how == _TEXT and type(value) is str):
                ret[key] = value
            elif how == _STR:
                ret[key] = str(value)
            elif how == _ISO:
                ret[key] = value.isoformat()
            elif how == _TEXT_LIST and type(value) is list and all(
                    type(item) is str for item in value):
                ret[key] = list(value)
            else:
                ret[key] = field._serialize(value, name, obj)
        return ret

    def _fast_plan(self, cls: type) -> list[tuple]:
        mapper = sa_inspect(cls, raiseerr=False)
        columns = set(mapper.column_attrs.keys()) if mapper is not None else set()
        plan = []
        for name, field in self.dump_fields.items():
            attribute = field.attribute or name
            if "." in attribute or not field._CHECK_ATTRIBUTE:
                attribute = ""  # marshmallow's own path
            plan.append((name, attribute,
                         field.data_key if field.data_key is not None else name, field,
                         attribute in columns, _conversion(field)))
        return plan


def public(view: Callable) -> Callable:
    """Mark a view (or a MethodView method) as reachable without a token (webhooks)."""
    view._api_public = True  # type: ignore[attr-defined]
    return view


def _is_public() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return False
    if getattr(view, "_api_public", False):
        return True
    view_class = getattr(view, "view_class", None)
    method = getattr(view_class, request.method.lower(), None) if view_class else None
    return bool(getattr(method, "_api_public", False))


def authenticate() -> None:
    """before_request: resolve `Authorization: Bearer crm_<tenant hex>_<secret>`.

    The tenant named in the token is bound first, so the token lookup itself runs under
    row-level security: a token of tenant B presented as tenant A's finds nothing.
    """
    if not request.path.startswith(API_V1) or request.url_rule is None or _is_public():
        return
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw:
        raise Unauthorized()
    tenant_id = parse_tenant(raw)
    if tenant_id is None:
        raise Unauthorized("This API token is not valid.")
    # Bound before the first query, so row-level security is set as the transaction
    # begins instead of by one more round trip after the tenant lookup.
    bind_tenant(db.session, tenant_id)
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None or tenant.status != "active":
        raise Unauthorized("This API token is not valid.")
    resolved = resolve_token(db.session, raw)
    if resolved is None:
        db.session.rollback()
        raise Unauthorized("This API token is not valid, revoked, or its owner is inactive.")
    token, staff = resolved
    if db.session.dirty:
        db.session.commit()  # keeps last_used_at even when the request itself fails
    g.tenant, g.staff, g.api_token = tenant, staff, token
    if token.scope == "read" and request.method not in SAFE_METHODS:
        raise Forbidden("This token is read-only; use a write token to change data.")


def current_staff() -> Staff:
    """The staff member whose token authenticated this request."""
    return g.staff


def current_token() -> ApiToken:
    return g.api_token


def current_tenant() -> Tenant:
    return g.tenant


def api_actor() -> Actor:
    """The acting staff member, as services record it in the audit log."""
    return Actor.of_staff(g.staff, request.remote_addr, request.user_agent.string)


def has_permission(permission: str) -> bool:
    staff = g.get("staff")
    return staff is not None and role_can(staff.role, permission)


def require(*permissions: str) -> Callable:
    """403 unless the token's staff role has every permission (`saas/permissions.py`).

    Put it directly under `@blp.route(...)`, so it runs before input is parsed.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            missing = [p for p in permissions if not has_permission(p)]
            if missing:
                raise Forbidden(f"Your role lacks the permission: {', '.join(missing)}.")
            return view(*args, **kwargs)

        wrapped.required_permissions = permissions  # type: ignore[attr-defined]
        # Shown to API clients in /api/openapi.json as the operation's `x-permissions`.
        apidoc = dict(getattr(wrapped, "_apidoc", {}))
        apidoc["manual_doc"] = {**apidoc.get("manual_doc", {}),
                                "x-permissions": list(permissions)}
        wrapped._apidoc = apidoc  # type: ignore[attr-defined]
        return wrapped

    return decorator

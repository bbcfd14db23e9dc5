"""Which tenant a request or job belongs to, and the two layers that keep tenants apart.

The rule (documented in docs/tenancy.md):
- web UI: the `/t/<slug>/...` path prefix names the tenant;
- REST API: the API token names it (tokens are `crm_<tenant id hex>_<secret>`);
- jobs: every job takes the tenant id as its first argument.

Layer 1 (ORM): every SELECT/UPDATE/DELETE of a `TenantScoped` model gets
`tenant_id = <bound tenant>` added; new rows get the bound tenant's id; with no tenant
bound, tenant queries match nothing (fail closed).
Layer 2 (PostgreSQL): row-level security policies compare `tenant_id` with the
transaction-local setting `app.tenant_id`, set here with `set_config(..., true)` at the
start of every transaction, so pooled connections never carry it over.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flask import g
from sqlalchemy import event, false, text
from sqlalchemy.orm import ORMExecuteState, Session, scoped_session, with_loader_criteria
from werkzeug.local import LocalProxy

from saas.models.base import TenantScoped

if TYPE_CHECKING:
    from saas.models.tenant import Tenant

TENANT_KEY = "tenant_id"
BYPASS_KEY = "tenant_bypass"


class TenantMismatch(RuntimeError):
    """A row of one tenant was about to be written under another tenant's binding."""


def bind_tenant(session: Session, tenant_id: uuid.UUID | None) -> None:
    """Make `tenant_id` the tenant of this session, for the ORM filter and for RLS."""
    if isinstance(session, scoped_session):
        session = session()
    session.info[TENANT_KEY] = tenant_id
    if session.in_transaction():
        _set_rls(session.connection(), tenant_id)


def current_tenant_id(session: Session) -> uuid.UUID | None:
    return session.info.get(TENANT_KEY)


@contextmanager
def tenant_bound(session: Session, tenant_id: uuid.UUID | None):
    previous = session.info.get(TENANT_KEY)
    bind_tenant(session, tenant_id)
    try:
        yield
    finally:
        bind_tenant(session, previous)


@contextmanager
def unscoped(session: Session):
    """Operator code that must read across tenants at the ORM layer (RLS still applies)."""
    previous = session.info.get(BYPASS_KEY, False)
    session.info[BYPASS_KEY] = True
    try:
        yield
    finally:
        session.info[BYPASS_KEY] = previous


def _set_rls(connection, tenant_id: uuid.UUID | None) -> None:
    if connection.dialect.name != "postgresql":
        return
    connection.execute(text("SELECT set_config('app.tenant_id', :tid, true)"),
                       {"tid": str(tenant_id) if tenant_id else ""})


def _tenant_criteria(tenant_id):
    if tenant_id is None:
        return lambda cls: false()
    return lambda cls: cls.tenant_id == tenant_id


def install(session_class) -> None:
    """Attach the tenancy listeners to a Session class (done once in create_app)."""
    if getattr(session_class, "_saas_tenancy_installed", False):
        return
    session_class._saas_tenancy_installed = True

    @event.listens_for(session_class, "after_begin")
    def _after_begin(session, transaction, connection):
        _set_rls(connection, session.info.get(TENANT_KEY))

    @event.listens_for(session_class, "do_orm_execute")
    def _filter(state: ORMExecuteState):
        if state.session.info.get(BYPASS_KEY):
            return
        if not (state.is_select or state.is_update or state.is_delete):
            return
        if state.is_column_load or state.is_relationship_load:
            return
        tid = state.session.info.get(TENANT_KEY)
        if tid is None:
            state.statement = state.statement.options(
                with_loader_criteria(TenantScoped, lambda cls: false(), include_aliases=True))
        else:
            state.statement = state.statement.options(
                with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tid,
                                     include_aliases=True, track_closure_variables=True))

    @event.listens_for(session_class, "before_flush")
    def _stamp(session, flush_context, instances):
        tid = session.info.get(TENANT_KEY)
        for obj in list(session.new) + list(session.dirty):
            if not isinstance(obj, TenantScoped):
                continue
            if obj.tenant_id is None:
                if tid is None:
                    raise TenantMismatch(f"no tenant bound to save {type(obj).__name__}")
                obj.tenant_id = tid
            elif tid is not None and obj.tenant_id != tid and not session.info.get(BYPASS_KEY):
                raise TenantMismatch(f"{type(obj).__name__} of another tenant")


def _load_current_tenant() -> Tenant | None:
    return g.get("tenant")


current_tenant: Tenant = LocalProxy(_load_current_tenant)  # type: ignore[assignment]

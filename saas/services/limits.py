"""Plan limits: the one check every path that adds something goes through.

    limits.check(session, tenant, "customers", adding=n)

raises `PlanLimitExceeded` (HTTP 402) naming the limit and the plan that lifts it, or
`AccountReadOnly` (402) while the tenant is read-only after an unpaid grace period. The
API, the web UI, imports and campaigns all call it from their services, so they agree.
Usage is counted when asked (seats, customers, plugins) or kept in counters (messages per
month in the database, API calls per minute in the rate-limit storage).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saas.billing.plans import LIMIT_LABELS, LIMITS, lifting_plan
from saas.billing.state import BillingConfig, BillingState, tenant_state
from saas.models import Invitation, Staff, Tenant
from saas.models.base import utcnow
from saas.models.billing import UsageCounter
from saas.services.errors import LimitExceeded
from saas.tenancy import current_tenant_id


class PlanLimitExceeded(LimitExceeded):
    def __init__(self, message: str, limit: str, plan: str, allowed: int,
                 used: int, upgrade_to: str | None):
        super().__init__(message, {limit: [message]})
        self.limit, self.plan, self.allowed = limit, plan, allowed
        self.used, self.upgrade_to = used, upgrade_to


class AccountReadOnly(LimitExceeded):
    code = "account_read_only"


class ApiRateExceeded(LimitExceeded):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, {"api_calls": [message]})
        self.retry_after = retry_after


READ_ONLY_MESSAGE = ("This account is read-only because a payment is overdue. Your data is "
                     "kept; the owner can pay the open invoice on the Billing page.")

log = logging.getLogger("saas.billing")
Counter = Callable[[Session], int]
_COUNTERS: dict[str, Counter] = {}


def register_counter(limit: str, counter: Counter) -> None:
    """Let the area that owns a countable thing say how to count it (e.g. plugins)."""
    if limit not in LIMITS:
        raise ValueError(f"unknown limit {limit!r}")
    _COUNTERS[limit] = counter


def _tenant_id(session: Session, tenant: Tenant | uuid.UUID | None) -> uuid.UUID:
    if isinstance(tenant, Tenant):
        return tenant.id
    tid = tenant or current_tenant_id(session)
    if tid is None:
        raise RuntimeError("limits need a tenant (bind one or pass it)")
    return tid


def _count_seats(session: Session) -> int:
    staff = session.scalar(select(func.count()).select_from(Staff)
                           .where(Staff.active.is_(True))) or 0
    pending = session.scalar(select(func.count()).select_from(Invitation).where(
        Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
        Invitation.expires_at > utcnow())) or 0
    return staff + pending


def _count_customers(session: Session) -> int:
    try:
        from saas.models.customers import Customer
    except ImportError:
        return 0
    stmt = select(func.count()).select_from(Customer)
    if hasattr(Customer, "merged_into_id"):
        stmt = stmt.where(Customer.merged_into_id.is_(None))
    return session.scalar(stmt) or 0


def _count_plugins(session: Session) -> int:
    try:
        from saas.models.plugins import PluginConfig
    except ImportError:
        return 0
    return session.scalar(select(func.count()).select_from(PluginConfig)
                          .where(PluginConfig.enabled.is_(True))) or 0


def month_period(now: datetime | None = None) -> str:
    return (now or utcnow()).strftime("%Y-%m")


def _count_messages(session: Session) -> int:
    return session.scalar(select(UsageCounter.count).where(
        UsageCounter.metric == "messages", UsageCounter.period == month_period())) or 0


def _count_api_calls(session: Session) -> int:
    return api_calls_this_minute(current_tenant_id(session))


_BUILTIN: dict[str, Counter] = {"seats": _count_seats, "customers": _count_customers,
                                "plugins": _count_plugins, "messages": _count_messages,
                                "api_calls": _count_api_calls}


def usage(session: Session, tenant: Tenant | uuid.UUID | None, limit: str) -> int:
    """How much of `limit` the tenant uses now (the tenant must be bound to `session`)."""
    tid = _tenant_id(session, tenant)
    if current_tenant_id(session) != tid:
        raise RuntimeError("bind the tenant to the session before counting its usage")
    counter = _COUNTERS.get(limit) or _BUILTIN.get(limit)
    if limit not in LIMITS:
        raise ValueError(f"unknown limit {limit!r}")
    return counter(session) if counter else 0


def ensure_writable(state: BillingState) -> None:
    if state.read_only:
        raise AccountReadOnly(READ_ONLY_MESSAGE)


def check(session: Session, tenant: Tenant | uuid.UUID | None, limit: str, adding: int = 1,
          config: BillingConfig | None = None) -> BillingState:
    """Refuse (402) unless the tenant's plan allows `adding` more of `limit`.

    `adding=0` re-checks the current total (e.g. accepting an invitation already counted).
    """
    if limit not in LIMITS:
        raise ValueError(f"unknown limit {limit!r}")
    tid = _tenant_id(session, tenant)
    state = tenant_state(session, tid, config)
    ensure_writable(state)
    cap = state.plan.limits[limit]
    if cap is None:
        return state
    used = usage(session, tid, limit)
    if used + adding > cap:
        raise _exceeded(state, limit, cap, used, adding)
    return state


def headroom(session: Session, tenant: Tenant | uuid.UUID | None, limit: str,
             config: BillingConfig | None = None) -> int | None:
    """How many more the plan allows now (None: unlimited). For imports that stop at the
    limit: import `min(rows, headroom)` and report the rest as refused."""
    tid = _tenant_id(session, tenant)
    state = tenant_state(session, tid, config)
    ensure_writable(state)
    cap = state.plan.limits[limit]
    if cap is None:
        return None
    return max(cap - usage(session, tid, limit), 0)


def _exceeded(state: BillingState, limit: str, cap: int, used: int,
              adding: int) -> PlanLimitExceeded:
    label = LIMIT_LABELS[limit]
    lifts = lifting_plan(limit, used + adding)
    message = (f"The {state.plan.name} plan allows {cap} {label}; {used} in use, "
               f"{adding} more requested.")
    if lifts is not None and lifts.rank > state.plan.rank:
        message += f" Upgrade to {lifts.name} to raise this limit."
    else:
        lifts = None
        message += " Remove some first or contact us for a larger plan."
    return PlanLimitExceeded(message, limit, state.plan.key, cap, used,
                             lifts.key if lifts else None)


def consume(session: Session, tenant: Tenant | uuid.UUID | None, limit: str,
            amount: int = 1, config: BillingConfig | None = None) -> None:
    """Check and count a metered quantity (`messages`) in the caller's transaction."""
    check(session, tenant, limit, adding=amount, config=config)
    record_usage(session, tenant, limit, amount)


def record_usage(session: Session, tenant: Tenant | uuid.UUID | None, limit: str,
                 amount: int = 1) -> None:
    """Add to this month's counter with one UPDATE, so concurrent senders never lose counts."""
    _tenant_id(session, tenant)
    period = month_period()
    stmt = (update(UsageCounter)
            .where(UsageCounter.metric == limit, UsageCounter.period == period)
            .values(count=UsageCounter.count + amount)
            .execution_options(synchronize_session=False))
    if session.execute(stmt).rowcount:
        return
    try:
        with session.begin_nested():
            session.add(UsageCounter(metric=limit, period=period, count=amount))
    except IntegrityError:
        session.execute(stmt)


_COUNT_WINDOW = 1_000_000_000
API_KEY = "plan-api-calls"


def _rate_strategy():
    from saas.extensions import limiter

    try:
        return limiter.limiter
    except (AttributeError, AssertionError):
        return None


def _minute():
    from limits import RateLimitItemPerMinute

    return RateLimitItemPerMinute(_COUNT_WINDOW)


def count_api_call(session: Session, tenant: Tenant | uuid.UUID,
                   config: BillingConfig | None = None) -> None:
    """Count one API request against the plan's calls per minute (429 when over).

    The count lives in the rate-limit storage (Redis when configured) under one key per
    tenant and minute, independent of the plan, so an upgrade takes effect at once.
    """
    tid = _tenant_id(session, tenant)
    state = tenant_state(session, tid, config)
    cap = state.plan.limits["api_calls"]
    strategy = _rate_strategy()
    if cap is None or strategy is None:
        return
    try:
        strategy.hit(_minute(), API_KEY, tid.hex)
        reset, remaining = strategy.get_window_stats(_minute(), API_KEY, tid.hex)
    except Exception:
        # Storage (Redis) down: serving the request beats refusing every tenant.
        log.exception("could not count an API call")
        return
    if _COUNT_WINDOW - remaining <= cap:
        return
    retry_after = max(int(reset - time.time()) + 1, 1)
    lifts = lifting_plan("api_calls", cap + 1)
    message = f"The {state.plan.name} plan allows {cap} API calls per minute."
    if lifts is not None:
        message += f" Upgrade to {lifts.name} to raise this limit."
    raise ApiRateExceeded(message, retry_after)


def api_calls_this_minute(tenant_id: uuid.UUID | None) -> int:
    strategy = _rate_strategy()
    if strategy is None or tenant_id is None:
        return 0
    _reset, remaining = strategy.get_window_stats(_minute(), API_KEY, tenant_id.hex)
    return _COUNT_WINDOW - remaining

"""Recompute and store the tenant's analytics (called by `saas.jobs.analytics`).

Each `refresh_*` replaces the bound tenant's rows of one result table inside the
caller's transaction (the job commits), stamping them with the same `computed_at`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import chain, islice
from typing import Any

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from saas.analytics import baskets, churn, clv
from saas.models.analytics import AnalyticsFit, ChurnScore, CustomerClv
from saas.models.base import utcnow
from saas.models.outbox import OutboxEvent
from saas.services import outbox
from saas.services.audit import _jsonable
from saas.services.customers import bound_tenant
from saas.tenancy import current_tenant_id

MIN_CUSTOMERS = 5
"""Fewer customers with orders than this: no model is fitted (the estimates would be
noise); the CLV table is emptied and the job says so."""
MIN_REPEAT_CUSTOMERS = 3
HORIZON_90D_WEEKS = 90 / 7
CLV_HORIZON_WEEKS = 52.0
ANNUAL_DISCOUNT = 0.10
CENT = Decimal("0.01")
MAX_FIT_CUSTOMERS = 100_000
"""The models have 4 and 3 parameters: a fixed-seed random sample of this many customers
estimates them as well as a million does, at a fraction of the optimiser's time;
predictions are then made for every customer."""
INSERT_BATCH = 10_000


def _insert(session: Session, model: type, rows: Iterable[dict[str, Any]]) -> None:
    """Bulk insert in batches, so a million-customer tenant is not one giant statement;
    `rows` may be a generator, so only one batch of row dicts exists at a time (a list
    of a million dicts was most of the job's peak memory)."""
    if session.get_bind().dialect.name == "postgresql":
        _copy_insert(session, model, rows)
        return
    it = iter(rows)
    while batch := list(islice(it, INSERT_BATCH)):
        session.execute(insert(model), batch)


def _copy_insert(session: Session, model: type, rows: Iterable[dict[str, Any]]) -> None:
    """PostgreSQL: stream the rows with COPY into a temporary table, then one INSERT ...
    SELECT. COPY cannot write a table under row-level security, the INSERT can (and is
    checked by the policy); at a million rows this is minutes faster than batched
    INSERTs."""
    from psycopg.types.json import Jsonb

    it = iter(rows)
    first = next(it, None)
    if first is None:
        return
    table = model.__table__.name
    columns = list(first)
    names = ", ".join(f'"{c}"' for c in columns)
    temp = f"bulk_{table}_{uuid.uuid4().hex[:8]}"
    conn = session.connection()
    conn.exec_driver_sql(f"CREATE TEMP TABLE {temp} ON COMMIT DROP AS "
                         f"SELECT {names} FROM {table} WITH NO DATA")
    with conn.connection.driver_connection.cursor() as cur, \
            cur.copy(f"COPY {temp} ({names}) FROM STDIN") as copy:
        for row in chain([first], it):
            copy.write_row([Jsonb(v) if isinstance(v, dict | list) else v
                            for v in (row[c] for c in columns)])
    conn.exec_driver_sql(f"INSERT INTO {table} ({names}) SELECT {names} FROM {temp}")  # noqa: S608
    conn.exec_driver_sql(f"DROP TABLE {temp}")


def _sample(n: int) -> np.ndarray:
    if n <= MAX_FIT_CUSTOMERS:
        return np.arange(n)
    return np.random.default_rng(0).choice(n, MAX_FIT_CUSTOMERS, replace=False)


def _money(value: float) -> Decimal:
    return Decimal(str(round(float(value), 2))).quantize(CENT) if np.isfinite(value) \
        else Decimal("0.00")


def _store_fit(session: Session, kind: str, params: dict[str, float] | None,
               ll: float | None, customers: int, now: datetime) -> None:
    session.execute(delete(AnalyticsFit).where(AnalyticsFit.kind == kind)
                    .execution_options(synchronize_session=False))
    if params is not None:
        session.add(AnalyticsFit(kind=kind, params=params, log_likelihood=ll,
                                 customers=customers, computed_at=now))
        session.flush()


def refresh_clv(session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Fit BG/NBD (+ Gamma-Gamma when enough customers bought twice) on the tenant's
    order history up to `now` and store per-customer expected purchases in the next 90
    days, P(alive), expected spend and 52-week CLV discounted at 10% a year."""
    now = now or utcnow()
    currency = bound_tenant(session).currency
    summary = clv.customer_summary(session, now, currency)
    session.execute(delete(CustomerClv).execution_options(synchronize_session=False))
    n = len(summary.customer_ids)
    if n < MIN_CUSTOMERS or not np.any(summary.x > 0):
        _store_fit(session, "bgnbd", None, None, n, now)
        _store_fit(session, "gamma_gamma", None, None, n, now)
        return {"customers": 0, "skipped": "not enough customers with orders"}
    fit = _sample(n)
    bg, bg_ll = clv.fit_bgnbd(summary.x[fit], summary.t_x[fit], summary.T[fit])
    _store_fit(session, "bgnbd", bg.as_dict(), bg_ll, int(fit.size), now)
    repeaters = summary.x > 0
    gg: clv.GammaGammaParams | None = None
    if int(np.sum(repeaters & (summary.monetary > 0))) >= MIN_REPEAT_CUSTOMERS:
        try:
            gg, gg_ll = clv.fit_gamma_gamma(summary.x[fit], summary.monetary[fit])
            if gg.q <= 1:  # the population mean pγ/(q-1) would not exist
                gg = None
            else:
                _store_fit(session, "gamma_gamma", gg.as_dict(), gg_ll,
                           int(np.sum(repeaters[fit])), now)
        except ValueError:
            gg = None
    if gg is None:
        _store_fit(session, "gamma_gamma", None, None, n, now)
        # No spend model: a repeat customer's own mean, others the repeaters' mean.
        fallback = float(np.mean(summary.monetary[repeaters])) if np.any(repeaters) else 0.0
        spend = np.where(repeaters, summary.monetary, fallback)
    else:
        spend = clv.expected_spend(gg, summary.x, summary.monetary)
    e90 = np.nan_to_num(clv.expected_purchases(bg, HORIZON_90D_WEEKS, summary.x,
                                               summary.t_x, summary.T))
    alive = clv.probability_alive(bg, summary.x, summary.t_x, summary.T)
    # CLV = DERT x E[M] (clv.customer_lifetime_value), with the fallback spend if needed.
    purchases = clv.discounted_expected_purchases(bg, summary.x, summary.t_x, summary.T,
                                                  CLV_HORIZON_WEEKS, ANNUAL_DISCOUNT)
    value = np.nan_to_num(purchases * spend)
    tenant_id = current_tenant_id(session)
    _insert(session, CustomerClv, (
        {"tenant_id": tenant_id, "id": cid, "frequency": int(summary.x[i]),
         "recency_weeks": float(summary.t_x[i]), "age_weeks": float(summary.T[i]),
         "monetary": _money(summary.monetary[i]),
         "expected_purchases_90d": float(e90[i]), "p_alive": float(alive[i]),
         "expected_spend": _money(spend[i]), "clv": _money(value[i]),
         "currency": currency, "computed_at": now, "created_at": now}
        for i, cid in enumerate(summary.customer_ids)))
    return {"customers": n, "bgnbd": bg.as_dict(),
            "gamma_gamma": gg.as_dict() if gg else None}


def refresh_rules(session: Session, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    rules = baskets.mine_rules(session)
    return {"rules": baskets.store_rules(session, rules, now)}


VALUABLE_QUANTILE = 0.75
"""A customer is "valuable" when their value at stake is in the top quarter of the
tenant's scored customers (by 12-month spend)."""


EVENT_BATCH = 1_000


def refresh_churn(session: Session, now: datetime | None = None,
                  chunk_size: int = churn.CHUNK_SIZE) -> dict[str, Any]:
    """Score every customer, replace the stored scores, and emit `customer.at_risk` for
    each valuable customer who was not at risk at the previous computation (so plugins
    hear about a customer turning at risk once, not every night; one event per customer,
    since a plugin acts on one customer).

    Chunk by chunk (`churn.score_chunks`, in customer-id order): the stored rows of the
    chunk's id range are read for their old at-risk flag, deleted and replaced in two
    set-based statements. A range replace rather than an upsert, because a customer who
    no longer has a counted order must lose their stored score too. "Valuable" needs
    the whole tenant's spend quantile, so only the candidates' ids and values are kept
    until the end; their payloads are read back from the stored rows."""
    now = now or utcnow()
    tenant_id = current_tenant_id(session)
    values: list[np.ndarray] = []
    candidates: list[tuple[uuid.UUID, float]] = []
    customers = at_risk = 0
    after: uuid.UUID | None = None
    for chunk in churn.score_chunks(session, now, chunk_size):
        if not chunk:
            continue
        upto = chunk[-1].customer_id
        was_at_risk = _replace_scores(session, tenant_id, chunk, after, upto, now)
        after = upto
        values.append(np.fromiter((float(s.value_at_stake) for s in chunk
                                   if s.value_at_stake > 0), dtype=float))
        candidates += [(s.customer_id, float(s.value_at_stake)) for s in chunk
                       if s.at_risk and s.value_at_stake > 0
                       and s.customer_id not in was_at_risk]
        customers += len(chunk)
        at_risk += sum(1 for s in chunk if s.at_risk)
    _replace_scores(session, tenant_id, [], after, None, now)  # customers past the last
    positive = np.concatenate(values) if values else np.empty(0)
    threshold = float(np.quantile(positive, VALUABLE_QUANTILE)) if positive.size else 0.0
    events = _emit_at_risk(session, tenant_id,
                           [cid for cid, value in candidates if value >= threshold])
    return {"customers": customers, "events": events, "at_risk": at_risk}


def _replace_scores(session: Session, tenant_id: uuid.UUID, chunk: list[churn.Score],
                    after: uuid.UUID | None, upto: uuid.UUID | None,
                    now: datetime) -> set[uuid.UUID]:
    """Replace the stored scores of ids in (`after`, `upto`] by `chunk`; returns the ids
    that were stored as at risk."""
    bounds = [c for c in (ChurnScore.id > after if after is not None else None,
                          ChurnScore.id <= upto if upto is not None else None)
              if c is not None]
    was_at_risk = set(session.scalars(select(ChurnScore.id)
                                      .where(ChurnScore.at_risk.is_(True), *bounds)))
    session.execute(delete(ChurnScore).where(*bounds)
                    .execution_options(synchronize_session=False))
    _insert(session, ChurnScore, (
        {"tenant_id": tenant_id, "id": s.customer_id, "score": s.score,
         "at_risk": s.at_risk, "reasons": s.reasons, "value_at_stake": s.value_at_stake,
         "computed_at": now, "created_at": now} for s in chunk))
    return was_at_risk


def _emit_at_risk(session: Session, tenant_id: uuid.UUID,
                  customer_ids: list[uuid.UUID]) -> int:
    """`customer.at_risk` for each customer, with the stored score as payload: the rows
    `outbox.emit` would write, inserted a batch at a time with ids from one `EventIds`
    range, and handed to plugins by one `deliver_batch` job after commit (tens of
    thousands of flushed ORM objects and one RQ job per event were most of the old
    job's time)."""
    if not customer_ids:
        return 0
    ids = outbox.EventIds.new()
    created = utcnow()
    for i in range(0, len(customer_ids), EVENT_BATCH):
        batch = customer_ids[i:i + EVENT_BATCH]
        stored = {row.id: row for row in session.execute(
            select(ChurnScore.id, ChurnScore.score, ChurnScore.reasons,
                   ChurnScore.value_at_stake).where(ChurnScore.id.in_(batch)))}
        _insert(session, OutboxEvent, (
            {"tenant_id": tenant_id, "id": ids.of(i + k), "created_at": created,
             "name": "customer.at_risk", "entity_type": "customer", "entity_id": str(cid),
             "status": "pending", "attempts": 0,
             "payload": _jsonable({"score": stored[cid].score,
                                   "reasons": stored[cid].reasons,
                                   "value_at_stake": str(stored[cid].value_at_stake)})}
            for k, cid in enumerate(batch)))
    outbox.deliver_range_after_commit(session, tenant_id, ids.of(0),
                                      ids.of(len(customer_ids) - 1))
    return len(customer_ids)


def refresh_all(session: Session, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    return {"clv": refresh_clv(session, now), "rules": refresh_rules(session, now),
            "churn": refresh_churn(session, now),
            "back_test": churn.back_test(session, now - timedelta(days=180), 180).as_dict()}

"""Recompute measures, RFM quintiles and tiers for one big tenant, side by side with a
hand-written single SQL statement computing the same measures.

    python -m bench.bench_measures --customers 100000 --orders 1000000

Self-contained: makes its own database (`BENCH_MEASURES_DB`, default
`saas_bench_measures`) on `BENCH_PG`, migrates it, signs up one tenant and fills it with
`generate_series` (customers, orders over three years, interactions). Timings are the
median of `--repeat` runs; peak memory is the process's max RSS (the worker's share: the
work itself happens in PostgreSQL). The first run after generating writes every
customer's measures, tier and tier change; later runs write only what changed, which is
the nightly steady state. With `--repeat` > 1 the median is taken over the runs after
the first (a median of two runs is their mean, which folded the one-off first run into
the steady-state figure); the first run is reported on its own. `--statements` prints
the time of each SQL statement of the last run of our side.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import common

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = os.environ.get("BENCH_MEASURES_DB", "saas_bench_measures")

BASELINE = """
CREATE TEMP TABLE baseline AS
SELECT b.*, ntile(5) OVER (ORDER BY last_at NULLS FIRST, id) AS r,
       ntile(5) OVER (ORDER BY n, id) AS f, ntile(5) OVER (ORDER BY spend_12m, id) AS m
FROM (
  SELECT c.id, coalesce(o.spend_12m, 0) AS spend_12m, coalesce(o.spend, 0) AS spend,
         coalesce(o.n, 0) AS n, o.first_at, o.last_at,
         floor(extract(epoch FROM (now() - o.last_at)) / 86400) AS days_since,
         o.spend / nullif(o.n, 0) AS aov,
         CASE WHEN o.n > 1 THEN extract(epoch FROM (o.last_at - o.first_at)) / 86400
              / (o.n - 1) END AS interval_days,
         extract(epoch FROM (o.last_at - o.prev_last)) / 86400 AS last_gap,
         coalesce(i.n, 0) AS talks, coalesce(pb.balance, 0) AS points
  FROM customers c
  LEFT JOIN (
    SELECT customer_id, count(*) AS n, min(placed_at) AS first_at, max(placed_at) AS last_at,
           max(CASE WHEN next_at IS NULL THEN prev_at END) AS prev_last,
           sum(CASE WHEN placed_at >= now() - interval '365 days' THEN total ELSE 0 END)
             AS spend_12m,
           sum(total) AS spend
    FROM (SELECT customer_id, placed_at, total,
                 lag(placed_at) OVER w AS prev_at, lead(placed_at) OVER w AS next_at
          FROM orders WHERE tenant_id = :t AND status IN ('placed','paid','shipped','completed')
          WINDOW w AS (PARTITION BY customer_id ORDER BY placed_at, id)) x
    GROUP BY customer_id) o ON o.customer_id = c.id
  LEFT JOIN (SELECT customer_id, count(*) AS n FROM interactions
             WHERE tenant_id = :t AND occurred_at >= now() - interval '90 days'
             GROUP BY customer_id) i ON i.customer_id = c.id
  LEFT JOIN points_balances pb ON pb.tenant_id = c.tenant_id AND pb.id = c.id
  WHERE c.tenant_id = :t AND c.merged_into_id IS NULL) b
"""


def _url(database: str) -> str:
    return make_url(PG).set(drivername="postgresql+psycopg", database=database) \
        .render_as_string(hide_password=False)


def prepare(customers: int, orders: int) -> None:
    admin = create_engine(_url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DB}"))
    admin.dispose()
    app = make_app()
    with app.app_context():
        from flask_migrate import upgrade

        from saas.extensions import db
        from saas.services import tenants

        upgrade(revision="heads")
        tenant, _owner = tenants.signup(db.session, tenants.SignupData(
            company="Bench Ltd", slug="bench", owner_name="Bench", email="o@bench.example.com",
            password="bench-Password-2024",  # noqa: S106 (bench data only)
            locale="en", timezone="UTC", template="retail"))
        db.session.commit()
        tid = str(tenant.id)
    engine = create_engine(_url(DB))
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL row_security = off"))
        conn.execute(text("""
            INSERT INTO customers (tenant_id, id, created_at, kind, name, phones, emails, tags,
                                   lifecycle_stage, consent, custom_fields, updated_at)
            SELECT :t, gen_random_uuid(), now(), 'person', 'C' || g, '[]', '[]',
                   CASE WHEN g % 7 = 0 THEN '["vip"]'::jsonb ELSE '[]'::jsonb END,
                   'lead', '{}', '{}', now()
            FROM generate_series(1, :n) g"""), {"t": tid, "n": customers})
        conn.execute(text("""
            CREATE TEMP TABLE ids AS
            SELECT id, row_number() OVER (ORDER BY id) AS k FROM customers"""))
        conn.execute(text("""
            INSERT INTO orders (tenant_id, id, created_at, number, customer_id, placed_at,
                                status, currency, total)
            SELECT :t, gen_random_uuid(), now(), 'O' || g, ids.id,
                   now() - random() * interval '1095 days',
                   CASE WHEN g % 50 = 0 THEN 'refunded' ELSE 'completed' END, 'CNY',
                   round((random() * 2000)::numeric, 2)
            FROM generate_series(1, :o) g
            JOIN ids ON ids.k = 1 + (hashint4(g)::bigint % :n + :n) % :n"""),
            {"t": tid, "o": orders, "n": customers})
        conn.execute(text("""
            INSERT INTO interactions (tenant_id, id, created_at, customer_id, channel,
                                      direction, summary, occurred_at)
            SELECT :t, gen_random_uuid(), now(), ids.id, 'phone', 'out', 'call',
                   now() - random() * interval '365 days'
            FROM generate_series(1, :i) g
            JOIN ids ON ids.k = 1 + (hashint4(g + 7)::bigint % :n + :n) % :n"""),
            {"t": tid, "i": customers, "n": customers})
        conn.execute(text("ANALYZE"))
    engine.dispose()


SLUG = "bench"


def make_app():
    if DB == common.DB:
        return common.make_app()
    from saas import create_app

    return create_app({"SAAS_ENV": "testing", "SECRET_KEY": "bench-" + "x" * 40,
                       "DATABASE_URL": _url(DB), "REDIS_URL": None, "MAIL_URL": None})


def _statement_timer(engine, log: list):
    from sqlalchemy import event

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        log.append((time.perf_counter() - conn.info.pop("bench_t0"), cursor.rowcount,
                    " ".join(statement.split())[:110]))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)


def run(repeat: int, statements: bool = False) -> dict:
    from sqlalchemy import select

    from saas.extensions import db
    from saas.models import Tenant
    from saas.services import measures, tiers
    from saas.services.context import Actor
    from saas.tenancy import bind_tenant, unscoped

    app = make_app()
    ours, base, rows, log = [], [], 0, []
    with app.app_context():
        if statements:
            _statement_timer(db.engine, log)
        with unscoped(db.session):
            tid = db.session.scalar(select(Tenant.id).where(Tenant.slug == SLUG))
        db.session.commit()
        for _ in range(repeat):
            bind_tenant(db.session, tid)
            log.clear()
            start = time.perf_counter()
            rows = measures.refresh_all(db.session)
            tiers.apply(db.session, Actor.system("bench"))
            db.session.commit()
            ours.append(time.perf_counter() - start)
            ours_log = list(log)
            start = time.perf_counter()
            conn = db.session.connection()
            conn.execute(text(BASELINE), {"t": tid})
            conn.execute(text("DROP TABLE baseline"))
            db.session.commit()
            base.append(time.perf_counter() - start)
        orders = db.session.scalar(text("SELECT count(*) FROM orders WHERE tenant_id = :t"),
                                   {"t": tid})
        db.session.commit()
    if statements:
        for seconds, count, sql in ours_log:
            if seconds >= 0.05:
                print(f"{seconds:8.2f}s {count:>8} {sql}")
    steady = slice(1, None) if repeat > 1 else slice(None)
    return {"rows": rows, "orders": orders, "first": ours[0], "first_base": base[0],
            "ours": statistics.median(ours[steady]), "base": statistics.median(base[steady]),
            "runs": ", ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(ours, base, strict=True)),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep the existing data")
    parser.add_argument("--statements", action="store_true",
                        help="print each SQL statement's time (last run, ours)")
    parser.add_argument("--bench-data", action="store_true",
                        help="use the big tenant of `bench.generate` (database BENCH_DB, "
                             "tenant bench-big, app role) instead of generating")
    args = parser.parse_args()
    if args.bench_data:
        global DB, SLUG
        DB, SLUG = common.DB, common.BIG
    elif not args.reuse:
        start = time.perf_counter()
        prepare(args.customers, args.orders)
        print(f"generated in {time.perf_counter() - start:.1f}s")
    before = common.loadavg()
    result = run(args.repeat, args.statements)
    after = common.loadavg()
    print(f"customers={result['rows']} orders={result['orders']}")
    print(f"first run (writes every row after generating): ours {result['first']:.2f}s, "
          f"single SQL {result['first_base']:.2f}s")
    print(f"runs (ours/single SQL, s): {result['runs']}")
    print(f"measures+RFM+tiers (ours): {result['ours']:.2f}s")
    print(f"hand-written single SQL:   {result['base']:.2f}s")
    print(f"ratio: {result['ours'] / result['base']:.2f}x  "
          f"peak RSS: {result['peak_rss_mb']:.0f} MB")
    common.write_result(f"measures-{result['rows']}", [
        f"# Measures + RFM + tiers recompute vs one hand-written SQL statement ({DB})", "",
        f"`python -m bench.bench_measures {' '.join(sys.argv[1:])}`; commit "
        f"{common.git_commit()}; load average (1/5/15 min) before {before}, after {after}.",
        "", f"Data: {result['rows']:,} customers (tenant `{SLUG}`), {result['orders']:,} "
        "orders.", "",
        "| run | ours (measures + RFM + tiers) | single SQL | ratio |", "|---|---:|---:|---:|",
        f"| first of {args.repeat} | {result['first']:.2f} s | {result['first_base']:.2f} s | "
        f"{result['first'] / result['first_base']:.2f}× |",
        f"| median of {'runs 2–' if args.repeat > 1 else ''}{args.repeat} | "
        f"{result['ours']:.2f} s | {result['base']:.2f} s | "
        f"{result['ours'] / result['base']:.2f}× |", "",
        f"Every run (ours / single SQL, seconds): {result['runs']}.", "",
        f"Peak RSS of the process doing the work: {result['peak_rss_mb']:.0f} MB."])


if __name__ == "__main__":
    main()

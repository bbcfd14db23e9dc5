"""Scale data: 50 tenants, one of them big (default 1M customers, 10M orders), and one
customer of the big tenant with a 10k-item timeline.

    python -m bench.generate --customers 1000000 --orders 10000000
    python -m bench.generate --customers 100000 --orders 1000000     # reduced run

Tenants and their owners are made through the signup service; bulk rows go in with
`COPY` (psycopg 3 `cursor.copy`) as the tables' owner, in chunks, then `ANALYZE`.
Deterministic: a fixed seed gives the same data.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from bench.common import (
    BIG,
    PASSWORD,
    TIMELINE_EXTERNAL_ID,
    create_database,
    make_app,
    owner_engine,
    timer,
)
from saas.models.base import new_id

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬"
LATIN_FIRST = ("Ann", "Bob", "Chen", "David", "Emma", "Frank", "Grace", "Henry", "Ivy",
               "Jack", "Kate", "Leo", "Mia", "Noah", "Olivia", "Paul", "Rose", "Sam")
LATIN_LAST = ("Smith", "Lee", "Wong", "Brown", "Garcia", "Müller", "Tanaka", "Kim",
              "Nguyen", "Silva", "Rossi", "Dubois")
CITIES = ("上海", "北京", "深圳", "广州", "杭州", "成都", "Singapore", "London", "Berlin")
TAGS = ("vip", "north", "south", "wholesale", "online", "wechat", "returning", "new")
STAGES = ("lead", "prospect", "customer", "customer", "customer", "lapsed", "churned")
CHANNELS = ("phone", "email", "visit", "wechat", "sms")
CHUNK = 100_000
_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def person(rng: random.Random, i: int) -> str:
    if i % 3:
        return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if i % 2 else "")
    return f"{rng.choice(LATIN_FIRST)} {rng.choice(LATIN_LAST)}"


def phone(i: int, base: int = 13_000_000_000) -> str:
    return f"+86{base + i}"


def line(values) -> str:
    return "\t".join("\\N" if v is None else str(v).translate(_ESC) for v in values)


def copy(conn, table: str, columns: tuple[str, ...], rows) -> int:
    """COPY text-format rows into `table`; returns the count."""
    count = 0
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") \
            as out:
        buf = []
        for values in rows:
            buf.append(line(values))
            count += 1
            if len(buf) >= 5000:
                out.write("\n".join(buf) + "\n")
                buf = []
        if buf:
            out.write("\n".join(buf) + "\n")
    return count


CUSTOMER_COLUMNS = ("tenant_id", "id", "created_at", "updated_at", "kind", "name", "phone",
                    "email", "phones", "emails", "address", "industry", "category", "tags",
                    "lifecycle_stage", "consent", "custom_fields", "external_id")


def customers(rng: random.Random, tenant_id: uuid.UUID, start: int, count: int,
              now: datetime, ids: list[uuid.UUID], prefix: str):
    for i in range(start, start + count):
        cid = new_id()
        ids.append(cid)
        created = now - timedelta(seconds=rng.randrange(3 * 365 * 86400))
        tags = rng.sample(TAGS, rng.randrange(3))
        ph, em = phone(i), f"{prefix}{i}@example.com"
        yield (tenant_id, cid, created.isoformat(), created.isoformat(),
               "company" if i % 10 == 0 else "person", person(rng, i), ph, em,
               json.dumps([ph]), json.dumps([em]), f"{rng.choice(CITIES)} {i % 500} 号",
               None, None, json.dumps(tags), rng.choice(STAGES), "{}", "{}", None)


def lookups(tenant_id: uuid.UUID, ids: list[uuid.UUID], start: int, now: datetime,
            prefix: str):
    stamp = now.isoformat()
    for offset, cid in enumerate(ids):
        i = start + offset
        yield tenant_id, new_id(), stamp, cid, "phone", phone(i)
        yield tenant_id, new_id(), stamp, cid, "email", f"{prefix}{i}@example.com"


ORDER_COLUMNS = ("tenant_id", "id", "created_at", "number", "customer_id", "placed_at",
                 "channel", "status", "currency", "total")


def orders(rng: random.Random, tenant_id: uuid.UUID, customer_ids: list[uuid.UUID],
           start: int, count: int, now: datetime, only: uuid.UUID | None = None):
    for i in range(start, start + count):
        placed = now - timedelta(seconds=rng.randrange(3 * 365 * 86400))
        yield (tenant_id, new_id(), placed.isoformat(), f"B{i:09d}",
               only or customer_ids[rng.randrange(len(customer_ids))], placed.isoformat(),
               "online", "completed" if i % 20 else "refunded", "CNY",
               f"{rng.randrange(100, 500000) / 100:.2f}")


def signup(app, slug: str):
    from saas.extensions import db
    from saas.models import Tenant
    from saas.services import tenants

    with app.app_context():
        existing = db.session.scalars(select(Tenant).where(Tenant.slug == slug)).first()
        if existing is not None:
            return existing.id
        tenant, _owner = tenants.signup(db.session, tenants.SignupData(
            company=f"{slug} Ltd", slug=slug, owner_name="Bench Owner",
            email=f"owner@{slug}.example.com", password=PASSWORD))
        db.session.commit()
        tid = tenant.id
        db.session.remove()
    return tid


def generate(customers_n: int, orders_n: int, tenants_n: int, small_n: int,
             timeline_n: int, seed: int, fresh: bool) -> dict:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    create_database(fresh)
    app = make_app()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(revision="heads")
    report = {}
    with timer() as t:
        big = signup(app, BIG)
        small = [signup(app, f"bench-{i:02d}") for i in range(1, tenants_n)]
    report["tenants"] = (tenants_n, t["seconds"])
    engine = owner_engine()
    with engine.connect() as conn:
        if conn.execute(text("SELECT count(*) FROM customers WHERE tenant_id = :t"),
                        {"t": big}).scalar():
            print("big tenant already has customers; use --fresh to regenerate")
            return report
    big_ids: list[uuid.UUID] = []
    with timer() as t:
        for start in range(0, customers_n, CHUNK):
            n = min(CHUNK, customers_n - start)
            ids: list[uuid.UUID] = []
            with engine.begin() as conn:
                copy(conn, "customers", CUSTOMER_COLUMNS,
                     customers(rng, big, start, n, now, ids, "c"))
                copy(conn, "customer_lookups", ("tenant_id", "id", "created_at",
                                                "customer_id", "kind", "value"),
                     lookups(big, ids, start, now, "c"))
            big_ids += ids
            print(f"customers {start + n}/{customers_n}", file=sys.stderr)
    report["customers"] = (customers_n, t["seconds"])
    with timer() as t:
        for start in range(0, orders_n, CHUNK):
            n = min(CHUNK, orders_n - start)
            with engine.begin() as conn:
                copy(conn, "orders", ORDER_COLUMNS, orders(rng, big, big_ids, start, n, now))
            if start % 1_000_000 == 0:
                print(f"orders {start + n}/{orders_n}", file=sys.stderr)
    report["orders"] = (orders_n, t["seconds"])
    with timer() as t:
        focus = big_ids[0]
        with engine.begin() as conn:
            conn.execute(text("UPDATE customers SET external_id = :x WHERE tenant_id = :t "
                              "AND id = :c"), {"x": TIMELINE_EXTERNAL_ID, "t": big, "c": focus})
            half = timeline_n // 2
            copy(conn, "orders", ORDER_COLUMNS,
                 orders(rng, big, big_ids, orders_n, half, now, only=focus))
            owner = conn.execute(text("SELECT id FROM staff WHERE tenant_id = :t "
                                      "AND role = 'owner' LIMIT 1"), {"t": big}).scalar()
            copy(conn, "interactions", ("tenant_id", "id", "created_at", "customer_id",
                                        "channel", "direction", "summary", "occurred_at",
                                        "staff_id"),
                 ((big, new_id(), now.isoformat(), focus, rng.choice(CHANNELS), "out",
                   f"Follow-up call #{i}: discussed order and delivery",
                   (now - timedelta(minutes=37 * i)).isoformat(), owner)
                  for i in range(timeline_n - half)))
    report["timeline"] = (timeline_n, t["seconds"])
    with timer() as t:
        for index, tid in enumerate(small):
            ids = []
            with engine.begin() as conn:
                copy(conn, "customers", CUSTOMER_COLUMNS,
                     customers(rng, tid, 0, small_n, now, ids, f"s{index}-"))
                copy(conn, "customer_lookups", ("tenant_id", "id", "created_at",
                                                "customer_id", "kind", "value"),
                     lookups(tid, ids, 0, now, f"s{index}-"))
                copy(conn, "orders", ORDER_COLUMNS, orders(rng, tid, ids, 0, small_n * 3, now))
    report["small tenants"] = (len(small) * small_n, t["seconds"])
    with timer() as t, engine.connect().execution_options(
            isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    report["analyze"] = (0, t["seconds"])
    engine.dispose()
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--small-customers", type=int, default=200)
    parser.add_argument("--timeline", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--fresh", action="store_true", help="drop the bench database first")
    args = parser.parse_args(argv)
    report = generate(args.customers, args.orders, args.tenants, args.small_customers,
                      args.timeline, args.seed, args.fresh)
    for what, (count, seconds) in report.items():
        rate = f"{count / seconds:,.0f}/s" if count and seconds else ""
        print(f"{what:15} {count:>12,} {seconds:8.1f}s {rate}")


if __name__ == "__main__":
    main()

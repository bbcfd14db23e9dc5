"""Scale data: 50 tenants, one of them big (default 1M customers, 10M orders with about
17M order lines, 1M interactions), and one customer of the big tenant with a 10k-item
timeline.

    python -m bench.generate --fresh                                        # full size
    python -m bench.generate --fresh --customers 100000 --orders 1000000    # reduced

Tenants and owners are made through the signup service. Customers are streamed from
Python with `COPY` (names, phones and emails go through the app's own helpers, so the
stored form is whatever the customer service writes, lookup rows included). Products,
orders, order lines and interactions are set-based `INSERT ... SELECT generate_series`
in PostgreSQL, driven by a hash of the row number, so they are deterministic and an
order's total is exactly the sum of its lines. The load runs as the tables' owner with
foreign-key triggers off (`session_replication_role = replica`: the rows are consistent
by construction) and the secondary indexes dropped and rebuilt afterwards, which is what
makes 10M orders take minutes instead of an hour.

Orders are placed in time order (one every ~9 s over three years), each by a customer who
already existed then; a tenth of the customers are "loyal" and get about four times as
many orders; products are skewed (popular ones) and half of the two-line orders pair a
product with its neighbour, so baskets have real association rules.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bench.common import (
    BIG,
    PASSWORD,
    TIMELINE_EXTERNAL_ID,
    create_database,
    make_app,
    owner_url,
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
SPAN = timedelta(days=3 * 365)
CHUNK = 100_000
ORDER_CHUNK = 1_000_000
BULK_TABLES = ("customers", "customer_lookups", "orders", "order_lines", "interactions",
               "products")
_SPECIAL = re.compile(r"[\\\t\n\r]")
_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

# Deterministic pseudo-random helpers in SQL: h(i, salt) is a non-negative 63-bit hash,
# u(i, salt) a uniform [0, 1) float, uuid7(ts, salt) a UUIDv7 like `new_id()` (48-bit
# millisecond timestamp, then hash bits), lines(i, nprod) the lines of order i.
SQL_HELPERS = r"""
CREATE SCHEMA IF NOT EXISTS bench_gen;
CREATE OR REPLACE FUNCTION bench_gen.h(i bigint, s bigint) RETURNS bigint
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$ SELECT hashint8extended(i, s) & 9223372036854775807 $$;
CREATE OR REPLACE FUNCTION bench_gen.u(i bigint, s bigint) RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$ SELECT (bench_gen.h(i, s) % 1000000007)::float8 / 1000000007 $$;
CREATE OR REPLACE FUNCTION bench_gen.uuid7(ts timestamptz, salt bigint) RETURNS uuid
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$ SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7'
             || substr(md5(salt::text), 1, 3) || '8' || substr(md5(salt::text), 4, 15))::uuid $$;
CREATE OR REPLACE FUNCTION bench_gen.price(pn int) RETURNS numeric
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$ SELECT ((pn::bigint * 7919) % 1990 + 10)::numeric(14, 2) $$;
CREATE OR REPLACE FUNCTION bench_gen.pp(i bigint, s bigint, nprod int) RETURNS int
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$ SELECT 1 + floor(nprod * bench_gen.u(i, s) ^ 2)::int $$;
CREATE OR REPLACE FUNCTION bench_gen.lines(i bigint, nprod int)
  RETURNS TABLE (pos int, pn int, qty int)
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
  $$ SELECT l,
            CASE WHEN l = 2 AND bench_gen.h(i, 12) % 10 < 5
                 THEN bench_gen.pp(i, 11, nprod) % nprod + 1
                 ELSE bench_gen.pp(i, 10 + l, nprod) END,
            1 + (bench_gen.h(i, 20 + l) % 3)::int
     FROM generate_series(1, CASE WHEN bench_gen.h(i, 2) % 10 < 5 THEN 1
                                  WHEN bench_gen.h(i, 2) % 10 < 8 THEN 2 ELSE 3 END) l $$;
"""

# Order i of n (1-based) is placed at start + span * (i - 1 + jitter) / n by customer
# number cn (customers are numbered by creation time, so every customer up to k(i)
# existed); orders past n belong to the timeline customer (number 1).
ORDERS_SQL = """
INSERT INTO orders (tenant_id, id, created_at, number, customer_id, placed_at, channel,
                    status, currency, total, refunded_at)
SELECT %(t)s, bench_gen.uuid7(x.placed, x.i), x.placed, 'B' || lpad(x.i::text, 9, '0'),
       c.id, x.placed,
       (ARRAY['online', 'store', 'wechat', 'app'])[1 + bench_gen.h(x.i, 6) %% 4],
       x.status, 'CNY',
       (SELECT sum(l.qty * bench_gen.price(l.pn)) FROM bench_gen.lines(x.i, %(np)s) l),
       CASE WHEN x.status = 'refunded' THEN x.placed + interval '5 days' END
FROM (
  SELECT y.i, y.placed,
         CASE WHEN y.i > %(n)s THEN 1
              WHEN y.k >= 20 AND bench_gen.h(y.i, 4) %% 10 < 3
                THEN 10 * (1 + bench_gen.h(y.i, 5) %% (y.k / 10))::int
              ELSE 2 + (bench_gen.h(y.i, 5) %% greatest(y.k - 1, 1))::int END AS cn,
         CASE WHEN y.placed > %(now)s - interval '7 days'
                THEN (ARRAY['placed', 'paid', 'shipped'])[1 + bench_gen.h(y.i, 7) %% 3]
              WHEN bench_gen.h(y.i, 7) %% 100 < 4 THEN 'refunded'
              WHEN bench_gen.h(y.i, 7) %% 100 < 7 THEN 'cancelled'
              ELSE 'completed' END AS status
  FROM (
    SELECT z.i, z.placed,
           greatest(2, floor(%(nc)s * z.frac))::bigint AS k
    FROM (
      SELECT i,
             CASE WHEN i > %(n)s THEN bench_gen.u(i, 3)
                  ELSE (i - 1 + bench_gen.u(i, 3)) / %(n)s END AS frac,
             %(start)s::timestamptz + %(span)s::interval
               * CASE WHEN i > %(n)s THEN bench_gen.u(i, 3)
                      ELSE (i - 1 + bench_gen.u(i, 3)) / %(n)s END AS placed
      FROM generate_series(%(a)s::bigint, %(b)s::bigint) i
    ) z
  ) y
) x
JOIN bench_tc c ON c.n = x.cn
"""

LINES_SQL = """
INSERT INTO order_lines (tenant_id, id, created_at, order_id, position, product_id,
                         quantity, unit_price, amount)
SELECT o.tenant_id, bench_gen.uuid7(o.placed_at, x.i * 4 + l.pos), o.placed_at, o.id,
       l.pos, p.id, l.qty, bench_gen.price(l.pn), l.qty * bench_gen.price(l.pn)
FROM orders o
CROSS JOIN LATERAL (SELECT substr(o.number, 2)::bigint AS i) x
CROSS JOIN LATERAL bench_gen.lines(x.i, %(np)s) l
JOIN bench_tp p ON p.n = l.pn
WHERE o.tenant_id = %(t)s AND o.number >= %(lo)s AND o.number <= %(hi)s
"""

PRODUCTS_SQL = """
INSERT INTO products (tenant_id, id, created_at, sku, name, category, price, currency, active)
SELECT %(t)s, bench_gen.uuid7(%(start)s::timestamptz, j), %(start)s,
       'SKU-' || lpad(j::text, 5, '0'),
       (ARRAY['Tea', 'Coffee', 'Mug', 'Kettle', 'Cake', 'Gift box', 'Honey', 'Cup'])
         [1 + j %% 8] || ' ' || j,
       (ARRAY['drinks', 'kitchen', 'food', 'gifts'])[1 + j %% 4],
       bench_gen.price(j::int), 'CNY', true
FROM generate_series(1, %(np)s) j
"""

INTERACTIONS_SQL = """
INSERT INTO interactions (tenant_id, id, created_at, customer_id, channel, direction, kind,
                          summary, staff_id, occurred_at, follow_up_on)
SELECT %(t)s, bench_gen.uuid7(x.at, x.i), x.at, c.id,
       (ARRAY['phone', 'email', 'visit', 'meeting', 'wechat', 'sms'])
         [1 + bench_gen.h(x.i, 31) %% 6],
       (ARRAY['in', 'out'])[1 + bench_gen.h(x.i, 32) %% 2],
       (ARRAY['need', 'feedback', 'problem', 'solution', NULL])
         [1 + bench_gen.h(x.i, 33) %% 5],
       x.summary, %(staff)s, x.at,
       CASE WHEN bench_gen.h(x.i, 34) %% 20 = 0 THEN (x.at + interval '14 days')::date END
FROM (
  SELECT i, CASE WHEN i > %(n)s THEN 1
                 ELSE 2 + (bench_gen.h(i, 35)
                           %% greatest(floor(%(nc)s * (i - 1) / %(n)s)::bigint - 1, 1))::int
            END AS cn,
         CASE WHEN i > %(n)s THEN %(now)s::timestamptz - interval '37 minutes' * (i - %(n)s)
              ELSE %(start)s::timestamptz
                   + %(span)s::interval * ((i - 1 + bench_gen.u(i, 36)) / %(n)s)
         END AS at,
         CASE WHEN i > %(n)s
              THEN 'Follow-up call #' || (i - %(n)s) || ': discussed order and delivery'
              ELSE (ARRAY['Asked about delivery', 'Complained about price', 'Visited the store',
                          'Renewal call', '咨询会员权益', '投诉物流慢'])
                     [1 + bench_gen.h(i, 37) %% 6]
         END AS summary
  FROM generate_series(1, %(total)s::bigint) i
) x
JOIN bench_tc c ON c.n = x.cn
"""


def person(rng: random.Random, i: int) -> str:
    if i % 3:
        return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if i % 2 else "")
    return f"{rng.choice(LATIN_FIRST)} {rng.choice(LATIN_LAST)}"


def phone(i: int, base: int = 13_000_000_000) -> str:
    return f"+86{base + i}"


def _text(v) -> str:
    s = str(v)
    return s.translate(_ESC) if _SPECIAL.search(s) else s


def line(values) -> str:
    return "\t".join("\\N" if v is None else _text(v) for v in values)


def copy_rows(cur: psycopg.Cursor, table: str, columns: tuple[str, ...], rows) -> int:
    """COPY text-format rows into `table`; returns the count."""
    count = 0
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as out:
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
                    "lifecycle_stage", "consent", "custom_fields", "external_id",
                    "address_index")
LOOKUP_COLUMNS = ("tenant_id", "id", "created_at", "customer_id", "kind", "value")


class Secure:
    """How the app stores phones, emails and addresses, taken from the app's own helpers
    (`saas.crypto`, `identifiers.lookup_value`, `customers.address_key`) so bench rows
    are exactly what the customer service writes: Fernet tokens (a one-item list is the
    same text as its item, so `phone` and `phones` share one token), blind-index lookup
    values and the address's blind index."""

    def __init__(self, app) -> None:
        from saas.crypto import batch_encryptor, indexer, join_list
        from saas.models.customers import address_key

        with app.app_context():
            self.encrypt_all = batch_encryptor()
            self.index = indexer()
        self.join_list = join_list
        self.address_key = address_key

    def lookup(self, value: str) -> str:
        return self.index(value)

    def rows(self, plain: list[tuple[str, str, str]]) -> list[tuple[str, str, str, str]]:
        """(phone, email, address) → (phone/phones token, email/emails token, address
        token, address index)."""
        texts = [t for ph, em, ad in plain for t in (self.join_list([ph]),
                                                      self.join_list([em]), ad)]
        tokens = self.encrypt_all(texts)
        return [(tokens[3 * i], tokens[3 * i + 1], tokens[3 * i + 2],
                 self.address_key(ad, self.index)) for i, (_ph, _em, ad) in enumerate(plain)]


def customers(rng: random.Random, tenant_id: uuid.UUID, count: int, start: datetime,
              lookups: list, prefix: str, secure: Secure | None = None):
    """Customer rows in creation order (number n = 1..count, created at
    start + SPAN * (n - 1 + jitter) / count); the first is the timeline customer.
    Lookup rows are appended to `lookups` for a second COPY. With `secure` (the schema
    encrypts customers) contact fields are encrypted in batches of 1,000."""
    step = SPAN / count
    batch: list[tuple] = []
    for n in range(1, count + 1):
        cid = new_id()
        created = (start + step * (n - 1 + rng.random())).isoformat()
        ph, em = phone(n), f"{prefix}{n}@example.com"
        key = secure.lookup if secure else str
        lookups.append((tenant_id, new_id(), created, cid, "phone", key(ph)))
        lookups.append((tenant_id, new_id(), created, cid, "email", key(em)))
        tags = rng.sample(TAGS, rng.randrange(3))
        address = f"{rng.choice(CITIES)} {n % 500} 号"
        row = (tenant_id, cid, created, created, "company" if n % 10 == 0 else "person",
               person(rng, n), ph, em, json.dumps([ph]), json.dumps([em]), address,
               None, None, json.dumps(tags), rng.choice(STAGES), "{}", "{}",
               TIMELINE_EXTERNAL_ID if n == 1 and prefix == "c" else None, None)
        if secure is None:
            yield row
            continue
        batch.append(row)
        if len(batch) == 1000 or n == count:
            sealed = secure.rows([(r[6], r[7], r[10]) for r in batch])
            for r, (pt, et, at, ai) in zip(batch, sealed, strict=True):
                yield r[:6] + (pt, et, pt, et, at) + r[11:18] + (ai,)
            batch = []


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


def drop_indexes(cur: psycopg.Cursor, tables: tuple[str, ...] = BULK_TABLES) -> list[str]:
    """Drop the secondary (non-constraint) indexes of the bulk tables; returns their
    definitions so `create_indexes` can rebuild them after the load."""
    cur.execute("""SELECT i.indexname, i.indexdef FROM pg_indexes i
                   WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
                   AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                   WHERE c.conname = i.indexname)""", (list(tables),))
    rows = cur.fetchall()
    for name, _definition in rows:
        cur.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in rows]


def load_tenant(cur: psycopg.Cursor, rng: random.Random, tenant_id: uuid.UUID,
                n_customers: int, n_orders: int, n_products: int, n_interactions: int,
                timeline: int, prefix: str, now: datetime, report: dict | None,
                secure: Secure) -> None:
    start = now - SPAN
    staff = cur.execute("SELECT id FROM staff WHERE tenant_id = %s AND role = 'owner' "
                        "LIMIT 1", (tenant_id,)).fetchone()[0]
    with timer() as t:
        done = 0
        lookups: list = []
        gen = customers(rng, tenant_id, n_customers, start, lookups, prefix, secure)
        while done < n_customers:
            n = min(CHUNK, n_customers - done)
            copy_rows(cur, "customers", CUSTOMER_COLUMNS, (next(gen) for _ in range(n)))
            copy_rows(cur, "customer_lookups", LOOKUP_COLUMNS, lookups)
            lookups.clear()
            done += n
            if report is not None:
                cur.connection.commit()
                print(f"customers {done:,}/{n_customers:,} {t_now(t)}", file=sys.stderr)
    if report is not None:
        report["customers (+2 lookup rows each)"] = (n_customers, t["seconds"])
    cur.execute("DROP TABLE IF EXISTS bench_tc, bench_tp")
    cur.execute("CREATE TEMP TABLE bench_tc AS SELECT row_number() OVER "
                "(ORDER BY created_at, id) AS n, id FROM customers WHERE tenant_id = %s",
                (tenant_id,))
    cur.execute("CREATE UNIQUE INDEX ON bench_tc (n)")
    cur.execute("ANALYZE bench_tc")
    cur.execute(PRODUCTS_SQL, {"t": tenant_id, "start": start, "np": n_products})
    cur.execute("CREATE TEMP TABLE bench_tp AS SELECT substr(sku, 5)::int AS n, id "
                "FROM products WHERE tenant_id = %s", (tenant_id,))
    cur.execute("ANALYZE bench_tp")
    total = n_orders + timeline // 2
    args = {"t": tenant_id, "np": n_products, "n": n_orders, "nc": n_customers,
            "now": now, "start": start, "span": SPAN}
    with timer() as t:
        for a in range(1, total + 1, ORDER_CHUNK):
            b = min(a + ORDER_CHUNK - 1, total)
            cur.execute(ORDERS_SQL, {**args, "a": a, "b": b})
            if report is not None:
                cur.connection.commit()
                print(f"orders {b:,}/{total:,} {t_now(t)}", file=sys.stderr)
    if report is not None:
        report["orders"] = (total, t["seconds"])
    with timer() as t:
        lines = 0
        for a in range(1, total + 1, ORDER_CHUNK):
            b = min(a + ORDER_CHUNK - 1, total)
            cur.execute(LINES_SQL, {"t": tenant_id, "np": n_products,
                                    "lo": f"B{a:09d}", "hi": f"B{b:09d}"})
            lines += cur.rowcount
            if report is not None:
                cur.connection.commit()
                print(f"order lines for {b:,}/{total:,} orders {t_now(t)}", file=sys.stderr)
    if report is not None:
        report["order lines"] = (lines, t["seconds"])
    with timer() as t:
        cur.execute(INTERACTIONS_SQL,
                    {**args, "n": n_interactions, "total": n_interactions + timeline
                     - timeline // 2, "staff": staff})
    if report is not None:
        cur.connection.commit()
        report["interactions"] = (cur.rowcount, t["seconds"])


def encrypt_existing() -> dict:
    """Fix up a build made before customers were encrypted (migration 0012 changed the
    columns but left the rows, or converted them one UPDATE per row, which takes hours at
    this size): encrypt phones/emails/addresses and turn lookup values into blind indexes
    set-based — rows out with COPY, tokens made in Python with the app's helpers, rows
    back with COPY into a temporary table and one UPDATE ... FROM per table."""
    app = make_app()
    secure = Secure(app)
    report: dict = {}
    dsn = make_url(owner_url()).set(drivername="postgresql").render_as_string(
        hide_password=False)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET work_mem = '256MB'")
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET session_replication_role = replica")
        with timer() as t:
            cur.execute("CREATE TEMP TABLE bench_enc (tenant_id uuid, id uuid, phone text, "
                        "email text, address text, address_index varchar(64))")
            plain = []
            with conn.cursor() as reader:
                reader.execute("SELECT tenant_id, id, phones, emails, address FROM customers "
                               "WHERE phones LIKE '[%'")
                for tid, cid, phones, emails, address in reader:
                    ph, em = json.loads(phones), json.loads(emails)
                    plain.append((tid, cid, ph, em, address))
            sealed = []
            for i in range(0, len(plain), 1000):
                chunk = plain[i:i + 1000]
                texts = [t for _tid, _cid, ph, em, ad in chunk
                         for t in (secure.join_list(ph), secure.join_list(em), ad or "")]
                tokens = secure.encrypt_all(texts)
                for j, (tid, cid, _ph, _em, ad) in enumerate(chunk):
                    sealed.append((tid, cid, tokens[3 * j], tokens[3 * j + 1],
                                   tokens[3 * j + 2] if ad else None,
                                   secure.address_key(ad, secure.index)))
            copy_rows(cur, "bench_enc", ("tenant_id", "id", "phone", "email", "address",
                                         "address_index"), sealed)
            definitions = drop_indexes(cur, ("customers", "customer_lookups"))
            # One-item lists: `phone` and `phones` are the same token (see Secure).
            cur.execute("""UPDATE customers c SET phone = CASE WHEN c.phone IS NULL THEN NULL
                                                       ELSE e.phone END,
                                  phones = e.phone,
                                  email = CASE WHEN c.email IS NULL THEN NULL ELSE e.email END,
                                  emails = e.email, address = e.address,
                                  address_index = e.address_index
                           FROM bench_enc e
                           WHERE c.tenant_id = e.tenant_id AND c.id = e.id""")
            report["customers encrypted"] = (cur.rowcount, 0)
            cur.execute("CREATE TEMP TABLE bench_blind (value text PRIMARY KEY, idx text)")
            values = [r[0] for r in cur.execute(
                "SELECT DISTINCT value FROM customer_lookups WHERE length(value) <> 64")]
            copy_rows(cur, "bench_blind", ("value", "idx"),
                      ((v, secure.lookup(v)) for v in values))
            cur.execute("""UPDATE customer_lookups l SET value = b.idx FROM bench_blind b
                           WHERE l.value = b.value""")
            report["lookup rows to blind index"] = (cur.rowcount, 0)
            for definition in definitions:
                cur.execute(definition)
            conn.commit()
        report["total"] = (0, t["seconds"])
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) customers")
        conn.execute("VACUUM (ANALYZE) customer_lookups")
    return report


def t_now(_box: dict) -> str:
    return f"{time.perf_counter() - _STARTED:.0f}s"


_STARTED = time.perf_counter()


def generate(customers_n: int, orders_n: int, tenants_n: int, small_n: int,
             timeline_n: int, seed: int, fresh: bool, products_n: int = 500,
             interactions_n: int | None = None) -> dict:
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    create_database(fresh)
    app = make_app()
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(revision="heads")
    secure = Secure(app)
    report: dict = {}
    with timer() as t:
        big = signup(app, BIG)
        small = [signup(app, f"bench-{i:02d}") for i in range(1, tenants_n)]
    report["tenants (signup service)"] = (tenants_n, t["seconds"])
    dsn = make_url(owner_url()).set(drivername="postgresql").render_as_string(
        hide_password=False)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        if cur.execute("SELECT count(*) FROM customers WHERE tenant_id = %s",
                       (big,)).fetchone()[0]:
            print("big tenant already has customers; use --fresh to regenerate")
            return report
        cur.execute(SQL_HELPERS)
        cur.execute("SET session_replication_role = replica")
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET work_mem = '256MB'")
        cur.execute("SET synchronous_commit = off")
        definitions = drop_indexes(cur)
        conn.commit()
        load_tenant(cur, rng, big, customers_n, orders_n, products_n,
                    customers_n if interactions_n is None else interactions_n,
                    timeline_n, "c", now, report, secure)
        with timer() as t:
            for index, tid in enumerate(small):
                load_tenant(cur, rng, tid, small_n, small_n * 3, 50, small_n // 2, 0,
                            f"s{index}-", now, None, secure)
            conn.commit()
        report["small tenants (customers)"] = (len(small) * small_n, t["seconds"])
        with timer() as t:
            for definition in definitions:
                cur.execute(definition)
                conn.commit()
        report[f"rebuild {len(definitions)} indexes"] = (0, t["seconds"])
        cur.execute("DROP SCHEMA bench_gen CASCADE")
        conn.commit()
    with timer() as t, psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    report["vacuum analyze"] = (0, t["seconds"])
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--interactions", type=int, default=None,
                        help="interactions of the big tenant (default: one per customer)")
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--small-customers", type=int, default=200)
    parser.add_argument("--timeline", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--fresh", action="store_true", help="drop the bench database first")
    parser.add_argument("--encrypt-existing", action="store_true",
                        help="only encrypt the customers of an older build (set-based)")
    args = parser.parse_args(argv)
    if args.encrypt_existing:
        for what, (count, seconds) in encrypt_existing().items():
            print(f"{what:34} {count:>12,} {seconds:8.1f}s")
        return
    with timer() as t:
        report = generate(args.customers, args.orders, args.tenants, args.small_customers,
                          args.timeline, args.seed, args.fresh, args.products,
                          args.interactions)
    for what, (count, seconds) in report.items():
        rate = f"{count / seconds:,.0f}/s" if count and seconds else ""
        print(f"{what:34} {count:>12,} {seconds:8.1f}s {rate}")
    print(f"{'total':34} {'':>12} {t['seconds']:8.1f}s")


if __name__ == "__main__":
    main()

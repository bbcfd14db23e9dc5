"""Import of N customers through the product's import path vs raw `COPY` of the same
file into the same table, measured side by side in one run.

    python -m bench.import_vs_copy --rows 1000000

Raw COPY: the CSV streamed with `COPY customers (name, phone, email, address) FROM STDIN
(FORMAT csv, HEADER)` as the table owner, with column defaults filling tenant, id and the
NOT NULL columns for the run (no validation, no normalisation, no lookups). Import path:
`imports.upload` + `imports.process` as the app role under row-level security — encoding
detection, per-row validation (phones to E.164, emails), in-file duplicate checks,
matching against existing customers, COPY into a staging table, set-based insert, the
`customer_lookups` rows, one `customer.created` outbox event per customer (written
set-based in the same transaction, and delivered inline: jobs run inline here, so the
`deliver_batch` of each chunk is timed too) and the error report. Each side gets a
fresh tenant, so both insert N new customers into the same table with the same indexes.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bench.common import git_commit, make_app, owner_engine, timer
from bench.generate import CITIES, person, signup

HEADER = "name,phone,email,address\n"


def write_csv(path: str, rows: int, seed: int = 7) -> int:
    """A customer file: CJK and Latin names, local-format phones, mixed-case emails."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(HEADER)
        for i in range(rows):
            name = person(rng, i).replace('"', "")
            f.write(f'"{name}",139{i:08d},User{i}@Example.com,"{rng.choice(CITIES)} '
                    f'{i % 700}号"\n')
    with open(path, "rb") as f:
        return len(f.read())


def raw_copy(path: str, tenant_id: uuid.UUID) -> float:
    engine = owner_engine()
    defaults = {"tenant_id": f"'{tenant_id}'", "id": "gen_random_uuid()", "kind": "'person'",
                "phones": "'[]'", "emails": "'[]'", "tags": "'[]'", "consent": "'{}'",
                "custom_fields": "'{}'", "lifecycle_stage": "'lead'",
                "created_at": "now()", "updated_at": "now()"}
    with engine.begin() as conn:
        for column, value in defaults.items():
            conn.execute(text(f"ALTER TABLE customers ALTER COLUMN {column} "  # noqa: S608
                              f"SET DEFAULT {value}"))
    try:
        with engine.begin() as conn, timer() as t:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy("COPY customers (name, phone, email, address) "
                                               "FROM STDIN (FORMAT csv, HEADER)") as copy, \
                    open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
    finally:
        with engine.begin() as conn:
            for column in defaults:
                conn.execute(text(f"ALTER TABLE customers ALTER COLUMN {column} DROP DEFAULT"))
        engine.dispose()
    return t["seconds"]


def through_import(app, path: str, tenant_id: uuid.UUID) -> tuple[float, dict]:
    from saas.extensions import db
    from saas.models import Staff
    from saas.services import imports
    from saas.services.context import Actor
    from saas.tenancy import bind_tenant

    with app.app_context():
        bind_tenant(db.session, tenant_id)
        owner = db.session.scalars(db.select(Staff).where(Staff.role == "owner")).first()
        actor = Actor.of_staff(owner)
        with timer() as t:
            with open(path, "rb") as f:
                job = imports.upload(db.session, actor, "customers", "bench.csv",
                                     io.BytesIO(f.read()))
            db.session.commit()
            for _batch in imports.process(db.session, actor, job.id):
                db.session.commit()
        job = imports.get_job(db.session, job.id)
        result = {"created": job.created_count, "errors": job.error_count,
                  "updated": job.updated_count}
        db.session.remove()
    return t["seconds"], result


def cleanup(tenant_ids: list[uuid.UUID]) -> None:
    """Drop the two runs' rows. Foreign-key triggers are skipped (superuser only): nothing
    references these customers, and `customers.merged_into_id` has no index to check
    them with, which makes an ordinary DELETE of many customers crawl."""
    engine = owner_engine()
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for table in ("customer_lookups", "import_errors", "import_jobs", "outbox_events",
                      "customers"):
            conn.execute(text(f"DELETE FROM {table} WHERE tenant_id = ANY(:t)"),  # noqa: S608
                         {"t": tenant_ids})
    engine.dispose()


def run(rows: int, keep: bool = False) -> dict:
    path = f"/tmp/bench_customers_{rows}.csv"  # noqa: S108
    size = write_csv(path, rows)
    app = make_app()
    stamp = uuid.uuid4().hex[:6]
    copy_tenant = signup(app, f"bench-copy-{stamp}")
    import_tenant = signup(app, f"bench-import-{stamp}")
    copy_seconds = raw_copy(path, copy_tenant)
    print(f"raw COPY: {rows} rows in {copy_seconds:.1f}s", file=sys.stderr)
    import_seconds, result = through_import(app, path, import_tenant)
    print(f"import:   {rows} rows in {import_seconds:.1f}s {result}", file=sys.stderr)
    if not keep:
        cleanup([copy_tenant, import_tenant])
    return {"rows": rows, "bytes": size, "copy_s": copy_seconds,
            "import_s": import_seconds, "copy_rate": rows / copy_seconds,
            "import_rate": rows / import_seconds, "ratio": copy_seconds / import_seconds,
            "result": result}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the imported rows")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    r = run(args.rows, args.keep)
    line = (f"rows {r['rows']:,} ({r['bytes'] / 1e6:.1f} MB): raw COPY {r['copy_s']:.1f}s = "
            f"{r['copy_rate']:,.0f}/s, import {r['import_s']:.1f}s = {r['import_rate']:,.0f}/s "
            f"= {100 * r['ratio']:.0f}% of COPY; {r['result']}; load average {load:.1f} "
            f"before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs; commit "
            f"{git_commit()}; `python -m bench.import_vs_copy --rows {args.rows}`")
    print(line)
    out = Path(__file__).resolve().parent / "results" / \
        f"{datetime.now(UTC):%Y%m%d-%H%M}-import-{args.rows}.md"
    out.write_text(f"# Import vs raw COPY, {args.rows:,} customers\n\n{line}\n",
                   encoding="utf-8")


if __name__ == "__main__":
    main()

"""Run the import-vs-COPY and the API/360 benchmarks in one go and write the figures to
`bench/results/<UTC time>.md`.

    python -m bench.run --rows 1000000 --seconds 20
"""

from __future__ import annotations

import argparse
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bench import api_load, import_vs_copy
from bench.common import BIG, DB, make_app, migrate, owner_engine

RESULTS = Path(__file__).resolve().parent / "results"


def data_size() -> dict[str, int]:
    engine = owner_engine()
    with engine.connect() as conn:
        tid = conn.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": BIG}).scalar()
        size = {
            "tenants": conn.execute(text("SELECT count(*) FROM tenants")).scalar(),
            "big tenant customers": conn.execute(text(
                "SELECT count(*) FROM customers WHERE tenant_id = :t"), {"t": tid}).scalar(),
            "big tenant orders": conn.execute(text(
                "SELECT count(*) FROM orders WHERE tenant_id = :t"), {"t": tid}).scalar(),
            "all customers": conn.execute(text("SELECT count(*) FROM customers")).scalar(),
            "all orders": conn.execute(text("SELECT count(*) FROM orders")).scalar(),
        }
    engine.dispose()
    return size


def render(size: dict, imp: dict, load: dict, load_avg: tuple) -> str:
    lines = [f"# Benchmark run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
             f"load average before the run {load_avg[0]:.1f}; PostgreSQL database `{DB}`.",
             "", "## Data", ""]
    lines += [f"- {k}: {v:,}" for k, v in size.items()]
    lines += ["", "## Import vs raw COPY (same file, same table)", "",
              f"File: {imp['rows']:,} customers, {imp['bytes'] / 1e6:.1f} MB CSV.", "",
              "| path | seconds | rows/s |", "|---|---:|---:|",
              f"| raw `COPY` | {imp['copy_s']:.1f} | {imp['copy_rate']:,.0f} |",
              f"| import (validate + stage + upsert) | {imp['import_s']:.1f} | "
              f"{imp['import_rate']:,.0f} |", "",
              f"Import throughput = **{100 * imp['ratio']:.0f}%** of raw COPY "
              f"(target ≥ 50%). Import result: {imp['result']}.", "",
              f"## API under load ({load['concurrency']} client threads, gunicorn "
              f"{load['workers']}×{load['threads']}, {load['seconds']:.0f} s)", "",
              "| request | n | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    for kind, p in load["api"].items():
        lines.append(f"| {kind} | {p['n']} | {p['p50']:.1f} | {p['p95']:.1f} | "
                     f"{p['p99']:.1f} |")
    lines += ["", f"Throughput: {load['throughput']:.0f} requests/s (target p95 ≤ 30 ms).",
              "", "## 360 page of the customer with 10k timeline items", "",
              "| request | n | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    for kind, p in load["page"].items():
        lines.append(f"| {kind} | {p['n']} | {p['p50']:.1f} | {p['p95']:.1f} | "
                     f"{p['p99']:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    migrate(make_app())
    load_avg = os.getloadavg()
    size = data_size()
    imp = import_vs_copy.run(args.rows)
    load = api_load.run(args.seconds, args.concurrency, 2, 4)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y%m%d-%H%M}-{size['big tenant customers']}.md"
    out.write_text(render(size, imp, load, load_avg), encoding="utf-8")
    print(out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()

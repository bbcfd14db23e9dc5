"""Shared plumbing for the generator and the benchmarks: the bench database, the app
bound to it (as the unprivileged app role, like production), and small helpers.

Everything runs against PostgreSQL: `BENCH_PG` is a superuser URL (default
`postgresql://postgres@127.0.0.1:5432/postgres`); the data lives in database
`BENCH_DB` (default `saas_bench`), the app connects as role `saas_app`.
"""

from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = os.environ.get("BENCH_DB", "saas_bench")
APP_ROLE = "saas_app"
PASSWORD = "bench-Password-2024"  # noqa: S105 (bench data only)
BIG = "bench-big"
TIMELINE_EXTERNAL_ID = "TIMELINE-10K"


def owner_url() -> str:
    url = make_url(PG).set(drivername="postgresql+psycopg", database=DB)
    return url.render_as_string(hide_password=False)


def app_url() -> str:
    url = make_url(owner_url()).set(username=APP_ROLE, password=None)
    return url.render_as_string(hide_password=False)


def app_env() -> dict[str, str]:
    """Environment for a server process: app role only, jobs inline, no rate limits."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_OWNER_URL",)}
    env.update(SAAS_ENV="development", DATABASE_URL=app_url(), REDIS_URL="",
               RATELIMIT_ENABLED="false", LOGIN_RATE_LIMIT="100000 per minute")
    return env


def create_database(fresh: bool) -> None:
    admin = create_engine(make_url(PG).set(drivername="postgresql+psycopg",
                                           database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                            {"r": APP_ROLE}).scalar():
            conn.execute(text(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS"))
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"),
                              {"d": DB}).scalar()
        if exists and fresh:
            conn.execute(text(f"DROP DATABASE {DB} WITH (FORCE)"))
            exists = False
        if not exists:
            conn.execute(text(f"CREATE DATABASE {DB}"))
    admin.dispose()


def make_app():
    from saas import create_app

    return create_app({"DATABASE_URL": app_url(), "DATABASE_OWNER_URL": owner_url(),
                       "SAAS_ENV": "development", "REDIS_URL": None,
                       "RATELIMIT_ENABLED": False})


def owner_engine():
    return create_engine(owner_url())


@contextmanager
def timer():
    box = {}
    start = time.perf_counter()
    yield box
    box["seconds"] = time.perf_counter() - start


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds of latencies in seconds."""
    if not samples:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0}
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 \
        else [ordered[0]] * 99
    return {"n": len(ordered), "p50": q[49] * 1000, "p95": q[94] * 1000,
            "p99": q[98] * 1000}


def loadavg() -> str:
    """The 1/5/15-minute load average, recorded next to every figure."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def git_commit() -> str:
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                         capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True,
                           text=True).stdout.strip()
    return out + (" + uncommitted changes" if dirty else "")


def write_result(name: str, lines: list[str]) -> str:
    """Write `bench/results/<UTC time>-<name>.md`; returns the path."""
    from datetime import UTC, datetime

    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{datetime.now(UTC):%Y%m%d-%H%M}-{name}.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"written {path}")
    return path


def migrate(app) -> None:
    """Bring the bench database to the code's schema (other areas add tables)."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(revision="heads")

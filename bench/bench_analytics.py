"""Time and peak memory of the analytics jobs (CLV, association rules, churn) on the big
bench tenant, and the response time of the analytics API reading the stored results.

    python -m bench.bench_analytics                       # each part in its own process
    python -m bench.bench_analytics --worker              # + the real job in an RQ worker
    python -m bench.bench_analytics --parts rules --no-api
    python -m bench.bench_analytics --parts churn --no-api --fresh-churn

Each part (`refresh_clv`, `refresh_rules`, `refresh_churn` of `saas.analytics.refresh`)
runs in a fresh Python process as the worker would run it (app role, RLS on, tenant
bound, one transaction committed at the end), so its peak RSS is that part's alone.
`--fresh-churn` deletes the tenant's stored churn scores before the churn part, so it
runs as the first computation does (an event for every valuable at-risk customer);
without it, a re-run emits events only for customers newly at risk. `--worker` then
enqueues `saas.jobs.analytics:recompute_tenant` (everything in one job)
on a private queue of `REDIS_URL` and runs `flask worker --burst`; the wall time and the
worker's peak RSS (`wait4` rusage) are recorded. The API part times the read endpoints
through the app (test client, no HTTP) over the precomputed tables. Results go to
`bench/results/<UTC time>-analytics.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import BIG, app_url, git_commit, loadavg, make_app, percentiles

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PARTS = ("clv", "rules", "churn")


def child(part: str, fresh: bool = False) -> None:
    """Run one refresh in this process and print a JSON line with its figures."""
    from redis import Redis
    from rq import Queue
    from sqlalchemy import delete, select

    from saas.analytics import refresh
    from saas.extensions import db
    from saas.models import Tenant
    from saas.models.analytics import ChurnScore
    from saas.tenancy import bind_tenant


    # Jobs the part enqueues (outbox deliveries of `customer.at_risk`) go to a private
    # queue, as in production, instead of running inline inside the measured time.
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    queue = f"bench-analytics-child-{os.getpid()}"
    app = make_app()
    app.config.update(REDIS_URL=redis_url, RQ_QUEUE=queue)
    app.extensions.pop("saas.redis", None)
    with app.app_context():
        tid = db.session.scalar(select(Tenant.id).where(Tenant.slug == BIG))
        db.session.commit()
        bind_tenant(db.session, tid)
        if fresh and part == "churn":
            db.session.execute(delete(ChurnScore).execution_options(
                synchronize_session=False))
            db.session.commit()
        start = time.perf_counter()
        result = getattr(refresh, f"refresh_{part}")(db.session)
        compute = time.perf_counter() - start
        db.session.commit()
        seconds = time.perf_counter() - start
    q = Queue(queue, connection=Redis.from_url(redis_url))
    result["jobs_enqueued"] = q.count
    q.delete(delete_jobs=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"part": part, "seconds": seconds, "compute_seconds": compute,
                      "peak_rss_mb": rss, "result": result}, default=str))


def run_part(part: str, timeout: float, fresh: bool = False) -> dict:
    extra = ["--fresh-churn"] if fresh else []
    proc = subprocess.run([sys.executable, "-m", "bench.bench_analytics", "--child", part,
                           *extra], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"part": part, "error": (proc.stderr or proc.stdout)[-1500:]}
    return json.loads(lines[-1])


def run_worker_job(timeout: float) -> dict:
    """The real job: enqueue on a private queue, then one `flask worker --burst`."""
    from redis import Redis
    from rq import Queue
    from sqlalchemy import select

    from saas.extensions import db
    from saas.models import Tenant

    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    queue = f"bench-analytics-{os.getpid()}"
    app = make_app()
    app.config.update(REDIS_URL=redis_url, RQ_QUEUE=queue)
    app.extensions.pop("saas.redis", None)
    with app.app_context():
        from saas.jobs.queue import enqueue

        tid = db.session.scalar(select(Tenant.id).where(Tenant.slug == BIG))
        db.session.commit()
        enqueue("saas.jobs.analytics:recompute_tenant", tid)
        secret = app.config["SECRET_KEY"]
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_OWNER_URL", "FLASK_APP", "FLASK_DEBUG")}
    env.update(SAAS_ENV="development", DATABASE_URL=app_url(), REDIS_URL=redis_url,
               RQ_QUEUE=queue, SECRET_KEY=secret, PYTHONPATH=str(ROOT), MAIL_URL="")
    start = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "saas", "worker",
                                 "--burst"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, text=True)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        _pid, status, usage = os.wait4(proc.pid, 0)  # reaps it: rusage of the worker alone
        killer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        log.seek(0)
        output = log.read()
    q = Queue(queue, connection=Redis.from_url(redis_url))
    failed = q.failed_job_registry.count
    finished = q.finished_job_registry.count
    q.delete(delete_jobs=True)
    rss = usage.ru_maxrss / 1024
    return {"seconds": seconds, "peak_rss_mb": rss, "finished": finished,
            "failed": failed, "exit": proc.returncode, "log_tail": output[-800:]}


def api_times(repeat: int) -> dict[str, dict]:
    """p50/p95 of the analytics read endpoints (and the dashboard page if there is one)."""
    from sqlalchemy import select

    from saas.extensions import db
    from saas.models import Staff, Tenant
    from saas.models.analytics import ChurnScore
    from saas.services import tokens
    from saas.services.context import Actor
    from saas.tenancy import bind_tenant

    app = make_app()
    with app.app_context():
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == BIG)).one()
        bind_tenant(db.session, tenant.id)
        owner = db.session.scalars(select(Staff).where(Staff.role == "owner")).first()
        _t, raw = tokens.create_token(db.session, Actor.of_staff(owner), "bench-analytics",
                                      "read")
        some = db.session.scalar(select(ChurnScore.id).order_by(ChurnScore.score.desc())
                                 .limit(1))
        db.session.commit()
        email = owner.email
    headers = {"Authorization": f"Bearer {raw}"}
    paths = [("clv_list", "/api/v1/analytics/clv?limit=50"),
             ("clv_model", "/api/v1/analytics/clv/model"),
             ("rules", "/api/v1/analytics/rules?limit=50"),
             ("bundles", "/api/v1/analytics/bundles"),
             ("churn_at_risk", "/api/v1/analytics/churn?limit=50&at_risk=true"),
             ("churn_list", "/api/v1/analytics/churn?limit=50"),
             ("dashboard_api", "/api/v1/analytics/dashboard")]
    if some:
        paths.append(("customer_analytics", f"/api/v1/analytics/customers/{some}"))
    client = app.test_client()
    pages = []
    if any(r.rule.startswith("/t/<slug>/dashboard") for r in app.url_map.iter_rules()):
        from bench.common import PASSWORD

        html = client.get(f"/t/{BIG}/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
        client.post(f"/t/{BIG}/login", data={"email": email, "password": PASSWORD,
                                             "csrf_token": csrf.group(1) if csrf else ""})
        pages.append(("dashboard_page", f"/t/{BIG}/dashboard/"))
    samples: dict[str, list[float]] = {}
    for kind, path in paths + pages:
        h = headers if path.startswith("/api/") else {}
        response = client.get(path, headers=h)
        if response.status_code != 200:
            samples[kind] = []
            print(f"{kind}: HTTP {response.status_code} {response.data[:200]!r}",
                  file=sys.stderr)
            continue
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            client.get(path, headers=h)
            times.append(time.perf_counter() - start)
        samples[kind] = times
    return {k: percentiles(v) for k, v in samples.items()}


def data_size() -> dict[str, int]:
    from sqlalchemy import text

    from bench.common import owner_engine

    engine = owner_engine()
    with engine.connect() as conn:
        tid = conn.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": BIG}).scalar()
        size = {t: conn.execute(text(f"SELECT count(*) FROM {t} WHERE tenant_id = :t"),  # noqa: S608
                                {"t": tid}).scalar()
                for t in ("customers", "orders", "order_lines", "products", "interactions")}
    engine.dispose()
    return size


def render(size: dict, parts: list[dict], worker: dict | None, api: dict | None,
           before: str, after: str, command: str) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    out = [f"# Analytics jobs on the big tenant, {now} UTC", "",
           f"`{command}`; commit {git_commit()}; PostgreSQL database `saas_bench`, app "
           "role (RLS on). 2 CPUs shared with other engineers' test runs.", "",
           f"Load average (1/5/15 min) before: {before}; after: {after}.", "",
           "Data (tenant `bench-big`): " + ", ".join(f"{v:,} {k}" for k, v in size.items()),
           "", "## Jobs (each part in a fresh process, as a worker runs it)", "",
           "| part | seconds (incl. commit) | peak RSS MB | result |", "|---|---:|---:|---|"]
    for p in parts:
        if "error" in p:
            out.append(f"| {p['part']} | failed | | `{p['error'][-300:]!r}` |")
            continue
        result = json.dumps(p["result"], default=str)
        out.append(f"| {p['part']} | {p['seconds']:.1f} | {p['peak_rss_mb']:.0f} | "
                   f"`{result[:200]}` |")
    if worker:
        out += ["", "## The real job in an RQ worker (`recompute_tenant`: CLV + rules + "
                "churn + back-test, one transaction)", "",
                f"Wall time {worker['seconds']:.1f} s (worker start to exit), worker peak "
                f"RSS {worker['peak_rss_mb']:.0f} MB, finished {worker['finished']}, "
                f"failed {worker['failed']}."]
    if api:
        out += ["", "## Reading the precomputed tables (app, no HTTP)", "",
                "| request | n | p50 ms | p95 ms |", "|---|---:|---:|---:|"]
        for kind, p in api.items():
            out.append(f"| {kind} | {p['n']} | {p['p50']:.1f} | {p['p95']:.1f} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=PARTS)
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--fresh-churn", action="store_true")
    parser.add_argument("--no-api", action="store_true")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.fresh_churn)
        return
    command = "python -m bench.bench_analytics " + " ".join(argv or sys.argv[1:])
    before = loadavg()
    size = data_size()
    parts = []
    for part in [p for p in args.parts.split(",") if p]:
        result = run_part(part, args.timeout, args.fresh_churn)
        print(json.dumps(result, default=str)[:400], flush=True)
        parts.append(result)
    worker = run_worker_job(args.timeout) if args.worker else None
    if worker:
        print({k: v for k, v in worker.items() if k != "log_tail"}, flush=True)
    api = None if args.no_api else api_times(args.repeat)
    if api:
        for kind, p in api.items():
            print(f"{kind:20} n={p['n']} p50={p['p50']:.1f}ms p95={p['p95']:.1f}ms")
    after = loadavg()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{datetime.now(UTC):%Y%m%d-%H%M}-analytics.md"
    path.write_text(render(size, parts, worker, api, before, after, command))
    print(f"written {path}")


if __name__ == "__main__":
    main()

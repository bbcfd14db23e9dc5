"""Campaign throughput on real RQ workers vs raw RQ, and an exactly-once check.

    .venv/bin/python -m bench.bench_campaign --recipients 100000 --workers 2

A fresh tenant gets `--recipients` customers (bulk-inserted) tagged for a segment; a
campaign to that segment goes out through a no-op channel plugin (registered on the
app's plugin manager before the workers fork, so every work-horse has it) that counts
each message id in Redis. `--workers` RQ workers (`SaasWorker`, burst mode) drain the
queue: batch jobs claim and send recipients, each send is a plugin delivery job, as in
production. Reported: recipients/s from launch to the last delivery, next to raw RQ
(enqueue + perform of the same number of trivial jobs on the same number of workers),
and the check that every recipient got exactly one send (distinct message ids in Redis
== sends in Redis == recipients == succeeded deliveries).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
import uuid

from redis import Redis
from rq import Queue
from sqlalchemy import func, insert, select

from bench.common import PASSWORD, app_url, create_database, migrate, owner_url
from saas.hooks.hookspecs import hookimpl

REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
COUNT_KEY = "bench:campaign:{run}:sends"
IDS_KEY = "bench:campaign:{run}:ids"


class NoopChannel:
    name = "noop"

    def __init__(self, run: str) -> None:
        self.run = run
        self.redis: Redis | None = None

    def send(self, message, config):
        from saas.hooks.types import SendResult

        self.redis = self.redis or Redis.from_url(REDIS)
        pipe = self.redis.pipeline()
        pipe.incr(COUNT_KEY.format(run=self.run))
        pipe.sadd(IDS_KEY.format(run=self.run), message.id)
        pipe.execute()
        return SendResult(provider_id=message.id)


class NoopPlugin:
    def __init__(self, run: str) -> None:
        self.channel = NoopChannel(run)

    @hookimpl
    def register_channels(self):
        return [self.channel]


def trivial() -> int:
    return 1


def _work(app, queue_name: str) -> None:
    from saas.jobs.worker import run_worker

    app.config["RQ_QUEUE"] = queue_name
    run_worker(app, burst=True, cron=False)


def _run_workers(app, queue_name: str, n: int) -> float:
    ctx = multiprocessing.get_context("fork")
    start = time.perf_counter()
    procs = [ctx.Process(target=_work, args=(app, queue_name)) for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return time.perf_counter() - start


def raw_rq(n: int, workers: int) -> float:
    """Trivial jobs/s: enqueue n, then n workers perform them (plain RQ workers)."""
    from rq import Worker

    conn = Redis.from_url(REDIS)
    queue = Queue(f"bench-raw-{uuid.uuid4().hex[:8]}", connection=conn)
    start = time.perf_counter()
    with conn.pipeline() as pipe:
        for i in range(0, n, 1000):
            queue.enqueue_many([Queue.prepare_data(trivial, result_ttl=0)
                                for _ in range(min(1000, n - i))], pipeline=pipe)
            pipe.execute()
    ctx = multiprocessing.get_context("fork")

    def work() -> None:
        Worker([queue], connection=Redis.from_url(REDIS)).work(burst=True)

    procs = [ctx.Process(target=work) for _ in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    seconds = time.perf_counter() - start
    queue.delete(delete_jobs=True)
    return n / seconds


def campaign_run(n: int, workers: int, inline: bool | None) -> dict:
    """One campaign to n recipients; `inline` None keeps the configured default."""
    import saas.jobs.runner as runner
    from saas import create_app
    from saas.extensions import db
    from saas.hooks.manager import get_host
    from saas.models.campaigns import CampaignRecipient
    from saas.models.customers import Customer
    from saas.models.plugins import Delivery
    from saas.services import campaigns, plugins, segments, tenants
    from saas.services.context import Actor
    from saas.tenancy import bind_tenant

    run = uuid.uuid4().hex[:8]
    queue_name = f"bench-campaign-{run}"
    config = {"DATABASE_URL": app_url(), "DATABASE_OWNER_URL": owner_url(),
              "SAAS_ENV": "development", "REDIS_URL": REDIS, "RQ_QUEUE": queue_name,
              "RATELIMIT_ENABLED": False, "CAMPAIGN_BATCH_SIZE": 1000,
              "CAMPAIGN_CHUNK_SIZE": 250}
    if inline is not None:
        config["CAMPAIGN_INLINE_DELIVERIES"] = inline
    app = create_app(config)
    migrate(app)
    plugin = NoopPlugin(run)
    get_host(app).register(plugin, "bench_noop")
    runner._APP = app  # forked work-horses reuse this app, plugin included
    with app.app_context():
        session = db.session
        tenant, owner = tenants.signup(session, tenants.SignupData(
            company=f"Bench campaign {run}", slug=f"bench-camp-{run}",
            owner_name="Bench Owner", email=f"owner@bench-camp-{run}.example.com",
            password=PASSWORD, locale="en", timezone="UTC",
            template="retail"))
        session.commit()
        bind_tenant(session, tenant.id)
        actor = Actor.of_staff(owner)
        plugins.set_enabled(session, actor, "bench_noop", True)
        for i in range(0, n, 10000):
            session.execute(insert(Customer), [
                {"tenant_id": tenant.id, "name": f"Bench {j:07d}", "tags": ["bench"],
                 "phones": [], "emails": [], "custom_fields": {}, "consent": {},
                 "kind": "person", "lifecycle_stage": "customer"}
                for j in range(i, min(n, i + 10000))])
        seg = segments.create_segment(session, actor, {
            "name": "Bench", "rule": {"all": [{"tag": "bench"}]}})
        c = campaigns.create_campaign(session, actor, {
            "name": "Bench", "segment_id": str(seg.id), "channel": "noop",
            "variants": [{"name": "A", "body": "Hello {{ customer.name }}"}]})
        session.commit()
        campaign_id, tenant_id = c.id, tenant.id
        bind_tenant(session, tenant_id)
        started = time.perf_counter()
        campaigns.launch(session, actor, campaign_id)
        session.commit()  # batches go to Redis here
        launch_s = time.perf_counter() - started
        db.session.remove()
    work_s = _run_workers(app, queue_name, workers)
    total_s = time.perf_counter() - started
    conn = Redis.from_url(REDIS)
    with app.app_context():
        bind_tenant(db.session, tenant_id)
        statuses = dict(db.session.execute(select(CampaignRecipient.status, func.count())
                                           .where(CampaignRecipient.campaign_id ==
                                                  campaign_id)
                                           .group_by(CampaignRecipient.status)).all())
        deliveries = dict(db.session.execute(select(Delivery.status, func.count()).where(
            Delivery.kind == "message").group_by(Delivery.status)).all())
        db.session.remove()
    sends = int(conn.get(COUNT_KEY.format(run=run)) or 0)
    distinct = conn.scard(IDS_KEY.format(run=run))
    conn.delete(COUNT_KEY.format(run=run), IDS_KEY.format(run=run))
    Queue(queue_name, connection=conn).delete(delete_jobs=True)
    return {"recipients": n, "launch_s": launch_s, "work_s": work_s, "total_s": total_s,
            "rate": n / total_s, "statuses": statuses, "deliveries": deliveries,
            "sends": sends, "distinct": distinct,
            "exactly_once": sends == distinct == n == statuses.get("sent")
            == deliveries.get("succeeded")}


MODES = {"default": None, "inline": True, "jobs": False}


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return f.read().strip()
    except OSError:
        return "n/a"


def _db_size() -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(owner_url())
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))"
                                 )).scalar()
        rows = conn.execute(text("SELECT count(*) FROM campaign_recipients")).scalar()
    engine.dispose()
    return f"{size} (campaign_recipients rows in the database: {rows:,})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=100000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", default="default,jobs",
                        help="default: the configured CAMPAIGN_INLINE_DELIVERIES (on: "
                             "batches run their deliveries); inline: forced on; jobs: one "
                             "RQ job per message")
    parser.add_argument("--raw-jobs", type=int, default=None,
                        help="trivial jobs for the raw RQ baseline (default: --recipients); "
                             "measured before and after the campaigns, so a load change on a "
                             "shared machine shows")
    parser.add_argument("--out", help="also write the report (markdown) to this file")
    args = parser.parse_args()
    create_database(fresh=False)
    lines = [f"# Campaign benchmark {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
             "", f"Machine: {os.cpu_count()} CPUs; load average before: {_loadavg()}",
             f"Command: `python -m bench.bench_campaign --recipients {args.recipients} "
             f"--workers {args.workers} --modes {args.modes}`", ""]

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    raw_jobs = args.raw_jobs or args.recipients
    raw = raw_rq(raw_jobs, args.workers)
    say(f"- raw RQ before: {raw_jobs} trivial jobs enqueue+perform, {args.workers} "
        f"workers = **{raw:.0f} jobs/s** (load after: {_loadavg()})")
    for mode in args.modes.split(","):
        out = campaign_run(args.recipients, args.workers, inline=MODES[mode])
        say(f"- campaign ({mode}): {out['recipients']} recipients, {args.workers} workers: "
            f"launch (snapshot + enqueue) {out['launch_s']:.1f}s, workers "
            f"{out['work_s']:.1f}s, total {out['total_s']:.1f}s = **{out['rate']:.0f} "
            f"recipients/s = {out['rate'] / raw * 100:.0f}% of raw RQ** (target >= 50%; "
            f"load after: {_loadavg()})")
        say(f"  - exactly once: **{out['exactly_once']}** (sends {out['sends']}, distinct "
            f"message ids {out['distinct']}, recipients {out['statuses']}, deliveries "
            f"{out['deliveries']})")
    after = raw_rq(raw_jobs, args.workers)
    say(f"- raw RQ after: {raw_jobs} trivial jobs = **{after:.0f} jobs/s** (load after: "
        f"{_loadavg()}); the percentages above use the before figure, against the after "
        f"one they are x{raw / after:.2f}")
    say(f"\nDatabase `{os.environ.get('BENCH_DB', 'saas_bench')}` size after: {_db_size()}; "
        f"load average after: {_loadavg()}")
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

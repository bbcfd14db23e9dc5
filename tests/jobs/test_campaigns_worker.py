"""Campaigns on real RQ workers and Redis, sending email to a real SMTP server (aiosmtpd),
including a worker SIGKILLed mid-batch: every recipient gets exactly one email."""

from __future__ import annotations

import subprocess
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from saas.extensions import db
from saas.jobs.campaigns import tick_all
from saas.jobs.deliveries import retry_due_deliveries
from saas.models.campaigns import CampaignRecipient
from saas.services import campaigns, customers, segments
from tests.conftest import ROOT
from tests.hooks.support import configure
from tests.jobs.conftest import flask_command, worker_env
from tests.jobs.test_deliveries_worker import _kill_tree
from tests.plugins.servers import smtp_server

LEASE = 1


def _env(app, queue_name, redis_url, inline: bool = False) -> dict[str, str]:
    return {**worker_env(app, queue_name, redis_url), "CAMPAIGN_BATCH_SIZE": "10",
            "CAMPAIGN_CHUNK_SIZE": "1", "CAMPAIGN_CLAIM_LEASE": str(LEASE),
            "CAMPAIGN_INLINE_DELIVERIES": "1" if inline else "0"}


def _burst(app, queue_name, redis_url) -> None:
    proc = subprocess.run(flask_command("worker", "--burst"), cwd=ROOT,
                          env=_env(app, queue_name, redis_url), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _setup(app, tenant, port: int, n: int):
    configure(app, tenant, "email", {"host": "127.0.0.1", "port": port, "security": "none",
                                     "from_address": "shop@example.com"})
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        for i in range(n):
            customers.create_customer(db.session, actor, {
                "name": f"Buyer {i:03d}", "tags": ["promo"],
                "emails": [f"buyer{i:03d}@example.com"],
                "consent": {"email": {"status": "granted"}}})
        seg = segments.create_segment(db.session, actor, {
            "name": "Promo", "rule": {"all": [{"tag": "promo"}]}})
        campaign = campaigns.create_campaign(db.session, actor, {
            "name": "Spring", "segment_id": str(seg.id), "channel": "email",
            "variants": [{"name": "A", "subject": "Hello {{ customer.name }}",
                          "body": "Dear {{ customer.name }}, our sale is on."}]})
        db.session.commit()
        campaign_id = campaign.id
        db.session.remove()
    return campaign_id


def _launch(app, tenant, campaign_id) -> None:
    with app.app_context():
        tenant.bind()
        campaigns.launch(db.session, tenant.owner_actor(), campaign_id)
        db.session.commit()
        db.session.remove()


def _counts(app, tenant, campaign_id) -> dict[str, int]:
    with app.app_context():
        tenant.bind()
        rows = db.session.execute(select(CampaignRecipient.status, func.count()).where(
            CampaignRecipient.campaign_id == campaign_id).group_by(
            CampaignRecipient.status)).all()
        db.session.remove()
    return dict(rows)


@pytest.mark.redis
@pytest.mark.parametrize("inline", [False, True], ids=["delivery-jobs", "inline-deliveries"])
def test_two_workers_share_the_batches_and_send_each_email_once(
        app, make_tenant, use_redis, redis_url, queue_name, monkeypatch, inline):
    monkeypatch.setitem(app.config, "CAMPAIGN_BATCH_SIZE", 10)
    tenant = make_tenant()
    with smtp_server("none") as (port, box):
        campaign_id = _setup(app, tenant, port, 12)
        use_redis(redis_url)
        _launch(app, tenant, campaign_id)
        assert _counts(app, tenant, campaign_id) == {"pending": 12}  # queued, not inline
        env = _env(app, queue_name, redis_url, inline)
        procs = [subprocess.Popen(flask_command("worker", "--burst"), cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(2)]
        assert [p.wait(120) for p in procs] == [0, 0]
        _burst(app, queue_name, redis_url)
        deadline = time.time() + 10
        while len(box.messages) < 12 and time.time() < deadline:
            time.sleep(0.05)
    assert _counts(app, tenant, campaign_id) == {"sent": 12}
    per_address = Counter(m["To"] for m in box.messages)
    assert len(per_address) == 12 and set(per_address.values()) == {1}


@pytest.mark.redis
def test_worker_killed_mid_batch_neither_skips_nor_repeats_anyone(
        app, make_tenant, use_redis, redis_url, queue_name, monkeypatch):
    monkeypatch.setitem(app.config, "CAMPAIGN_BATCH_SIZE", 10)
    monkeypatch.setitem(app.config, "CAMPAIGN_CLAIM_LEASE", LEASE)
    n = 20
    tenant = make_tenant()
    with smtp_server("none") as (port, box):
        campaign_id = _setup(app, tenant, port, n)
        use_redis(redis_url)
        _launch(app, tenant, campaign_id)
        worker = subprocess.Popen(flask_command("worker", "--no-cron"), cwd=ROOT,
                                  env=_env(app, queue_name, redis_url),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        try:
            deadline = time.time() + 60
            while _counts(app, tenant, campaign_id).get("sent", 0) < 3:
                assert time.time() < deadline, "the worker never started sending"
                time.sleep(0.01)
        finally:
            _kill_tree(worker.pid)
            worker.wait(10)
        at_kill = _counts(app, tenant, campaign_id)
        assert 0 < at_kill.get("sent", 0) < n, at_kill  # killed in the middle
        time.sleep(LEASE + 0.2)  # the dead worker's claim runs out
        with app.app_context():
            tick_all()  # reclaims the stale claim, re-dispatches the stalled batches
        _burst(app, queue_name, redis_url)
        with app.app_context():
            retry_due_deliveries()  # a delivery whose job died with the worker
        _burst(app, queue_name, redis_url)
        deadline = time.time() + 10
        while len(box.messages) < n and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    assert _counts(app, tenant, campaign_id) == {"sent": n}
    per_address = Counter(m["To"] for m in box.messages)
    assert len(per_address) == n, f"skipped: {n - len(per_address)}"
    assert set(per_address.values()) == {1}, "someone got two emails"

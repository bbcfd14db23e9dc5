"""An import started through the API runs on a real RQ worker (real Redis)."""

from __future__ import annotations

import io
import os
import subprocess
import uuid

import pytest
from redis import Redis
from rq import Queue

from tests.conftest import ROOT
from tests.jobs.conftest import flask_command, worker_env

API = "/api/v1"


@pytest.fixture
def redis_queue(app):
    name = f"test-imports-{uuid.uuid4().hex[:12]}"
    saved = (app.config["REDIS_URL"], app.config["RQ_QUEUE"])
    app.config["REDIS_URL"], app.config["RQ_QUEUE"] = os.environ["REDIS_URL"], name
    app.extensions.pop("saas.redis", None)
    yield name
    app.config["REDIS_URL"], app.config["RQ_QUEUE"] = saved
    app.extensions.pop("saas.redis", None)
    Queue(name, connection=Redis.from_url(os.environ["REDIS_URL"])).delete(delete_jobs=True)


@pytest.mark.redis
def test_started_import_is_queued_then_done_by_the_worker(app, api_client, redis_queue):
    owner = api_client()
    rows = "".join(f"P{i},1380013{i:04d},p{i}@x.com\n" for i in range(20))
    r = owner.post(f"{API}/imports", data={
        "entity": "customers",
        "file": (io.BytesIO(("name,phone,email\n" + rows + "Bad,1,bad\n").encode()),
                 "p.csv")}, content_type="multipart/form-data")
    jid = r.get_json()["id"]
    r = owner.post(f"{API}/imports/{jid}/start")
    assert r.status_code == 202 and r.get_json()["status"] == "queued"
    assert r.get_json()["progress"] == 0
    assert Queue(redis_queue, connection=Redis.from_url(os.environ["REDIS_URL"])).count >= 1

    proc = subprocess.run(flask_command("worker", "--burst"), cwd=ROOT,
                          env=worker_env(app, redis_queue, os.environ["REDIS_URL"]),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    job = owner.get(f"{API}/imports/{jid}").get_json()
    assert (job["status"], job["progress"]) == ("done", 100)
    assert (job["created_count"], job["error_count"]) == (20, 1)
    report = owner.get(f"{API}/imports/{jid}/errors").get_data(as_text=True)
    assert "22,phone,1," in report

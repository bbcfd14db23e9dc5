"""Fixtures for running a real RQ worker (`flask worker --burst`) against the test DB."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import pytest
from redis import Redis
from rq import Queue

from tests.conftest import ROOT


@pytest.fixture
def queue_name() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_url() -> str:
    return os.environ["REDIS_URL"]


@pytest.fixture
def closed_port_url() -> str:
    """A Redis URL on a port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
def use_redis(app, queue_name):
    """Point the shared app at a Redis URL and this test's private queue."""
    saved = (app.config["REDIS_URL"], app.config["RQ_QUEUE"])

    def use(url: str | None) -> None:
        app.config["REDIS_URL"] = url
        app.config["RQ_QUEUE"] = queue_name
        app.extensions.pop("saas.redis", None)

    yield use
    app.config["REDIS_URL"], app.config["RQ_QUEUE"] = saved
    app.extensions.pop("saas.redis", None)
    url = os.environ.get("REDIS_URL")
    if url:
        Queue(queue_name, connection=Redis.from_url(url)).delete(delete_jobs=True)


def worker_env(app, queue_name: str, redis_url: str) -> dict[str, str]:
    """The worker's environment: the app role's URL only — never the owner's."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_OWNER_URL", "FLASK_APP", "FLASK_DEBUG")}
    env.update(SAAS_ENV="testing", DATABASE_URL=app.config["DATABASE_URL"],
               REDIS_URL=redis_url, RQ_QUEUE=queue_name, SECRET_KEY=app.config["SECRET_KEY"],
               PYTHONPATH=str(ROOT), MAIL_URL="")
    return env


def flask_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "saas", *args]


@pytest.fixture
def run_worker(app, queue_name, redis_url):
    """Run `flask worker --burst` to completion; returns the finished process."""

    def run(*extra: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(flask_command("worker", "--burst", *extra), cwd=ROOT,
                              env=worker_env(app, queue_name, redis_url),
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    return run

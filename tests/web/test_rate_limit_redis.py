"""The login limit counts in Redis when REDIS_URL is set, so every web process shares it.

Runs the app in a subprocess: Flask-Limiter keeps its storage on the one `limiter`
object, and an in-process app with Redis would switch every other test's app to it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from redis import Redis

from tests.conftest import ROOT

SCRIPT = """
import json, sys
from saas import create_app
from tests.conftest import make_config
args = json.loads(sys.argv[1])
app = create_app(make_config(args["db"], REDIS_URL=args["redis"], LOGIN_RATE_LIMIT="2 per minute",
                             RATELIMIT_KEY_PREFIX=args["prefix"]))
client = app.test_client()
form = {"email": "x@example.com", "password": "nope-1234567"}
print(json.dumps([client.post(args["path"], data=form).status_code for _ in range(3)]))
"""


@pytest.mark.redis
def test_login_limit_is_counted_in_redis(db_urls, app, make_tenant):
    tenant = make_tenant()
    prefix = f"test-login-{uuid.uuid4().hex}"
    args = {"db": db_urls, "redis": os.environ["REDIS_URL"], "prefix": prefix,
            "path": f"/t/{tenant.slug}/login"}
    result = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(args)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [401, 401, 429]
    redis = Redis.from_url(os.environ["REDIS_URL"])
    keys = redis.keys(f"*{prefix}*")
    assert keys
    redis.delete(*keys)

"""Test harness: a real database (PostgreSQL when DATABASE_URL says so, else SQLite).

On PostgreSQL each xdist worker gets its own database, migrated as the owner (`postgres`),
while the app connects as `saas_app`, a role that owns nothing — so row-level security
really applies, as in production.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from saas import create_app
from saas.extensions import db
from saas.services import tenants as tenant_service
from saas.services.context import Actor
from saas.tenancy import bind_tenant

APP_ROLE = "saas_app"
PASSWORD = "correct-horse-battery-9"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _prepare_postgres(owner_url: str) -> tuple[str, str]:
    base = make_url(owner_url).set(drivername="postgresql+psycopg")
    name = f"saas_test_{_worker()}_{os.getpid()}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname=:r"),
                              {"r": APP_ROLE}).scalar()
        if not exists:
            # Another worker may create it between the check and here.
            with contextlib.suppress(Exception):
                conn.execute(text(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS"))
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    owner = base.set(database=name)
    app_url = owner.set(username=APP_ROLE, password=None)
    return (owner.render_as_string(hide_password=False),
            app_url.render_as_string(hide_password=False))


@pytest.fixture(scope="session")
def db_urls(tmp_path_factory):
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        owner, app_url = _prepare_postgres(url)
        yield {"DATABASE_URL": app_url, "DATABASE_OWNER_URL": owner}
        _drop_postgres(url, make_url(owner).database)
        return
    path = tmp_path_factory.mktemp("db") / "test.sqlite"
    yield {"DATABASE_URL": f"sqlite:///{path}", "DATABASE_OWNER_URL": None}


def _drop_postgres(url: str, name: str) -> None:
    for engine in _WIPE_ENGINES.values():
        engine.dispose()
    base = make_url(url).set(drivername="postgresql+psycopg", database="postgres")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def make_config(db_urls, **extra) -> dict:
    cfg = {"SAAS_ENV": "testing", "TESTING": True, "WTF_CSRF_ENABLED": False,
           "REDIS_URL": None, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "1000 per minute",
           "SECRET_KEY": "test-secret-" + "x" * 32, "MAIL_URL": None,
           "BASE_URL": "http://127.0.0.1:5000"}
    cfg.update(db_urls)
    cfg.update(extra)
    return cfg


@pytest.fixture(scope="session")
def app(db_urls):
    app = create_app(make_config(db_urls))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(revision="heads")
    return app


@pytest.fixture(scope="session")
def _tables(app) -> list[str]:
    return [t.name for t in reversed(db.metadata.sorted_tables)]


_WIPE_ENGINES: dict = {}


def _wipe(app, tables: list[str]) -> None:
    url = app.config.get("DATABASE_OWNER_URL") or app.config["DATABASE_URL"]
    if url not in _WIPE_ENGINES:  # one pooled connection per run, not one per test
        _WIPE_ENGINES[url] = create_engine(url)
    engine = _WIPE_ENGINES[url]
    with engine.begin() as conn:
        # One cheap probe; most tests leave most tables empty, and TRUNCATE is slow.
        probe = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM {t})"
                                   for t in tables)
        tables = [t for t in tables if t in set(conn.execute(text(probe)).scalars())]
        if not tables:
            pass
        elif engine.dialect.name == "postgresql":
            # DELETE of a few rows is far cheaper than TRUNCATE; FK triggers are skipped
            # (the owner is a superuser in tests) and tables go children first anyway.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for t in tables:
                conn.execute(text(f"DELETE FROM {t}"))
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for t in tables:
                conn.execute(text(f"DELETE FROM {t}"))


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch):
    """Real argon2 at test-sized cost: tests sign up and log in constantly and do not test
    hash strength (a hash carries its parameters, so verification still works)."""
    from argon2 import PasswordHasher

    from saas.services import passwords

    monkeypatch.setattr(passwords, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(autouse=True)
def _clean_db(request, app, _tables):
    yield
    _wipe(app, _tables)


@pytest.fixture
def ctx(app):
    """An app context whose session is unbound (no tenant) at the start of each test."""
    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_tenant(app):
    """Sign up a tenant through the service; returns (tenant, owner) ids and slug."""

    def make(slug: str | None = None, template: str = "retail", locale: str = "en",
             email: str | None = None, tz: str = "Asia/Shanghai"):
        slug = slug or f"co-{uuid.uuid4().hex[:8]}"
        with app.app_context():
            tenant, owner = tenant_service.signup(db.session, tenant_service.SignupData(
                company=f"{slug} Ltd", slug=slug, owner_name="Olivia Owner",
                email=email or f"owner@{slug}.example.com", password=PASSWORD,
                locale=locale, timezone=tz, template=template))
            db.session.commit()
            result = TenantRef(tenant.id, tenant.slug, owner.id, owner.email)
            db.session.remove()
        return result

    return make


class TenantRef:
    def __init__(self, id, slug, owner_id, owner_email):
        self.id, self.slug, self.owner_id, self.owner_email = id, slug, owner_id, owner_email

    def bind(self):
        bind_tenant(db.session, self.id)
        return self

    def owner_actor(self) -> Actor:
        from saas.models import Staff

        staff = db.session.get(Staff, (self.id, self.owner_id))
        return Actor.of_staff(staff)


def pytest_collection_modifyitems(config, items):
    on_pg = os.environ.get("DATABASE_URL", "").startswith("postgres")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL)")
    skip_redis = pytest.mark.skip(reason="needs Redis (REDIS_URL)")
    for item in items:
        if "postgres" in item.keywords and not on_pg:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(skip_redis)


ROOT = Path(__file__).resolve().parent.parent

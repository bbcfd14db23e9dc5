"""Settings read from the environment.

The defaults give the embedded setup (a SQLite file, jobs run inline, no Redis) so that
`flask run` works on a laptop; production sets `SAAS_ENV=production` and must then
provide a real `SECRET_KEY`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SECRET = "dev-insecure-secret-change-me"  # noqa: S105
# A fixed development key; production refuses to start with it.
DEFAULT_ENCRYPTION_KEY = "ZGV2LWluc2VjdXJlLWtleS0wMDAwMDAwMDAwMDAwMDA="


@dataclass(frozen=True)
class Setting:
    """One environment setting: documented in docs/settings.md (a test checks it)."""

    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("SAAS_ENV", "development", "`development`, `production` or `testing`."),
    Setting("DATABASE_URL", None, "SQLAlchemy URL the app connects with (a role that owns "
            "no tables on PostgreSQL). Default: a SQLite file in the instance folder."),
    Setting("DATABASE_OWNER_URL", None, "URL migrations run with (the tables' owner). "
            "Default: DATABASE_URL."),
    Setting("REDIS_URL", None, "Redis for RQ jobs and rate limits. Absent: jobs run inline."),
    Setting("SECRET_KEY", DEFAULT_SECRET, "Signs sessions, CSRF tokens and links."),
    Setting("ENCRYPTION_KEYS", DEFAULT_ENCRYPTION_KEY, "Comma-separated Fernet keys: the "
            "first encrypts, all decrypt (rotation)."),
    Setting("BLIND_INDEX_KEY", None, "Key of the keyed hashes that let encrypted phones and "
            "emails be looked up. Default: SECRET_KEY. Never change it on live data."),
    Setting("BASE_URL", "http://127.0.0.1:5000", "Public address used in emailed links."),
    Setting("MAX_CONTENT_LENGTH", 16 * 1024 * 1024, "Largest request body in bytes (413)."),
    Setting("IMPORT_MAX_BYTES", 128 * 1024 * 1024, "Largest import file (CSV/XLSX) in "
            "bytes that the upload page and API accept (413 above it); every other request "
            "keeps MAX_CONTENT_LENGTH."),
    Setting("LOGIN_RATE_LIMIT", "10 per minute", "Flask-Limiter rule for login attempts."),
    Setting("INVITATION_TTL_HOURS", 72, "How long an invitation link stays valid."),
    Setting("SAAS_TRACE_PLUGINS", False, "Log every plugin hook call (for plugin authors)."),
    Setting("PLUGIN_TIMEOUT", 20, "Seconds one plugin hook call may take before it counts "
            "as failed (and is retried)."),
    Setting("PLUGIN_MAX_ATTEMPTS", 8, "Attempts of a plugin delivery before it is dead."),
    Setting("DELIVERY_RETENTION_DAYS", 90, "Days a finished (succeeded or dead) plugin "
            "delivery stays in the delivery log before the nightly purge deletes it; "
            "pending and retrying deliveries are never deleted. 0 keeps them forever."),
    Setting("RQ_QUEUE", "default", "Name of the RQ queue jobs go to."),
    Setting("MAIL_URL", None, "SMTP for system mail: smtp://, smtp+starttls:// or smtps:// "
            "with optional user:password@. Absent: mail is written to the log."),
    Setting("MAIL_FROM", "no-reply@saas-crm.local", "Sender of system mail."),
    Setting("STRIPE_SECRET_KEY", None, "Stripe secret API key. Absent: billing is off and "
            "every tenant gets `BILLING_DEFAULT_PLAN`."),
    Setting("STRIPE_WEBHOOK_SECRET", None, "Signing secret (`whsec_...`) of the Stripe "
            "webhook endpoint `/billing/stripe/webhook`."),
    Setting("STRIPE_API_BASE", None, "Stripe API address (tests point it at a local fake). "
            "Default: Stripe's own."),
    Setting("STRIPE_PRICE_PRO", None, "Stripe price id (`price_...`) of the pro plan."),
    Setting("STRIPE_PRICE_ENTERPRISE", None, "Stripe price id of the enterprise plan."),
    Setting("BILLING_DEFAULT_PLAN", "enterprise", "Plan of every tenant while billing is off "
            "(`free`, `pro` or `enterprise`)."),
    Setting("BILLING_GRACE_DAYS", 7, "Days after a failed payment before the tenant becomes "
            "read-only."),
    Setting("CAMPAIGN_BATCH_SIZE", 500, "Recipients per campaign batch job (the unit "
            "workers share)."),
    Setting("CAMPAIGN_CHUNK_SIZE", 50, "Recipients a campaign batch claims and commits at "
            "a time."),
    Setting("CAMPAIGN_CLAIM_LEASE", 300, "Seconds a claimed campaign recipient stays with "
            "its worker before the sweep hands it to another."),
    Setting("CAMPAIGN_INLINE_DELIVERIES", True, "Campaign batches run their channel "
            "deliveries themselves instead of one RQ job per message (about 3x faster; "
            "a worker killed mid-send may resend that one message with the same "
            "idempotency key, like a delivery job). Off: one RQ job per message."),
)

_INTS = {"MAX_CONTENT_LENGTH", "IMPORT_MAX_BYTES",
         "INVITATION_TTL_HOURS", "PLUGIN_MAX_ATTEMPTS", "BILLING_GRACE_DAYS",
         "DELIVERY_RETENTION_DAYS",
         "CAMPAIGN_BATCH_SIZE", "CAMPAIGN_CHUNK_SIZE", "CAMPAIGN_CLAIM_LEASE"}
_BOOLS = {"SAAS_TRACE_PLUGINS", "CAMPAIGN_INLINE_DELIVERIES"}


def _coerce(name: str, raw: str) -> Any:
    if name in _INTS:
        return int(raw)
    if name in _BOOLS:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return raw


def load_config(overrides: dict[str, Any] | None = None,
                instance_path: str | None = None) -> dict[str, Any]:
    """Build the Flask config: defaults, then environment, then explicit overrides."""
    cfg: dict[str, Any] = {}
    for s in SETTINGS:
        raw = os.environ.get(s.name)
        cfg[s.name] = _coerce(s.name, raw) if raw not in (None, "") else s.default
    if overrides:
        cfg.update(overrides)
    if not cfg.get("DATABASE_URL"):
        folder = Path(instance_path or "instance")
        folder.mkdir(parents=True, exist_ok=True)
        cfg["DATABASE_URL"] = f"sqlite:///{(folder / 'saas.sqlite').resolve()}"
    cfg["DATABASE_URL"] = normalise_db_url(cfg["DATABASE_URL"])
    if cfg.get("DATABASE_OWNER_URL"):
        cfg["DATABASE_OWNER_URL"] = normalise_db_url(cfg["DATABASE_OWNER_URL"])
    cfg["SQLALCHEMY_DATABASE_URI"] = cfg["DATABASE_URL"]
    cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True})
    production = cfg["SAAS_ENV"] == "production"
    cfg["TESTING"] = cfg["SAAS_ENV"] == "testing" or cfg.get("TESTING", False)
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Lax"
    cfg["SESSION_COOKIE_SECURE"] = production
    cfg["REMEMBER_COOKIE_SECURE"] = production
    cfg["REMEMBER_COOKIE_HTTPONLY"] = True
    cfg["RATELIMIT_STORAGE_URI"] = cfg["REDIS_URL"] or "memory://"
    cfg["RATELIMIT_HEADERS_ENABLED"] = True
    cfg["API_TITLE"] = "SaaS CRM API"
    cfg["API_VERSION"] = "v1"
    cfg["OPENAPI_VERSION"] = "3.0.3"
    cfg["OPENAPI_URL_PREFIX"] = "/api"
    cfg["OPENAPI_JSON_PATH"] = "openapi.json"
    cfg["OPENAPI_SWAGGER_UI_PATH"] = "docs"
    cfg["OPENAPI_SWAGGER_UI_URL"] = "https://cdn.jsdelivr.net/npm/swagger-ui-dist/"
    cfg["BABEL_DEFAULT_LOCALE"] = "en"
    cfg["BABEL_SUPPORTED_LOCALES"] = ["en", "zh_CN"]
    cfg["WTF_CSRF_TIME_LIMIT"] = None
    return cfg


def normalise_db_url(url: str) -> str:
    """Point bare postgres URLs at psycopg 3, the driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class InsecureConfig(RuntimeError):
    pass


def check_production_safety(cfg: dict[str, Any]) -> None:
    """Production must never run on the development secret or encryption key; and no
    mode may start with a malformed key ring (it would fail later, at the first secret)."""
    from saas.crypto import KeyRingError, parse_keys

    try:
        parse_keys(cfg["ENCRYPTION_KEYS"])
    except KeyRingError as exc:
        raise InsecureConfig(str(exc)) from exc
    if cfg["SAAS_ENV"] != "production":
        return
    if cfg["SECRET_KEY"] in (None, "", DEFAULT_SECRET) or len(cfg["SECRET_KEY"]) < 32:
        raise InsecureConfig("SECRET_KEY must be set to a random value of 32+ characters "
                             "in production")
    if DEFAULT_ENCRYPTION_KEY in str(cfg["ENCRYPTION_KEYS"]).split(","):
        raise InsecureConfig("ENCRYPTION_KEYS must not contain the development key in "
                             "production")

"""Migration 0024_recipient_encryption on a database whose campaign recipients hold
their addresses in clear: it encrypts them tenant by tenant and the app reads them as
before; rows without an address stay empty. Runs on a private database of the suite's
backend."""

from __future__ import annotations

import uuid

from alembic.script import ScriptDirectory
from sqlalchemy import Integer, Text, Uuid, column, create_engine, select, table, text

from saas import MIGRATIONS_DIR, create_app
from saas.extensions import db
from tests.conftest import make_config
from tests.models.test_customer_encryption_migration import fresh_urls  # noqa: F401

REVISION = "0024_recipient_encryption"
ADDRESSES = ("ann@tea.example.com", "+8613800138000", None)


def _heads_before() -> list[str]:
    script = ScriptDirectory(MIGRATIONS_DIR)
    parent = script.get_revision(REVISION).down_revision
    return [parent, *(h for h in script.get_heads() if REVISION not in {
        r.revision for r in script.iterate_revisions(h, "base")})]


def _bind(conn, tid) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tid)})


def test_migration_encrypts_existing_recipient_addresses(app, fresh_urls):  # noqa: F811
    from flask_migrate import upgrade

    from saas.models.campaigns import CampaignRecipient
    from saas.services import customers as svc
    from saas.services import segments, tenants
    from saas.services.context import Actor
    from saas.tenancy import bind_tenant

    other = create_app(make_config(fresh_urls))
    with other.app_context():
        for head in _heads_before():
            upgrade(revision=head)
        ids = {}
        for slug in ("tea", "cake"):
            tenant, owner = tenants.signup(db.session, tenants.SignupData(
                company=f"{slug} Ltd", slug=slug, owner_name="Owner",
                email=f"owner@{slug}.example.com", password="a-Long-password-2024"))
            db.session.commit()
            bind_tenant(db.session, tenant.id)
            actor = Actor.of_staff(owner)
            customers = [svc.create_customer(db.session, actor, {"name": f"C{i}"}).id
                         for i in range(len(ADDRESSES))]
            segment = segments.create_segment(db.session, actor, {
                "name": "All", "rule": {"all": [{"tag": "x"}]}})
            db.session.commit()
            ids[tenant.id] = (customers, segment.id)
        db.session.remove()
        owner_url = fresh_urls["DATABASE_OWNER_URL"] or fresh_urls["DATABASE_URL"]
        engine = create_engine(owner_url)
        campaigns = table("campaigns", column("tenant_id", Uuid()), column("id", Uuid()),
                          column("name", Text()), column("status", Text()),
                          column("segment_id", Uuid()), column("channel", Text()),
                          column("conversion_days", Integer()),
                          column("audience_size", Integer()), column("created_at"),
                          column("updated_at"))
        recipients = table("campaign_recipients", column("tenant_id", Uuid()),
                           column("id", Uuid()), column("campaign_id", Uuid()),
                           column("customer_id", Uuid()), column("seq", Integer()),
                           column("batch", Integer()), column("status", Text()),
                           column("address", Text()), column("click_count", Integer()),
                           column("created_at"))
        now = text("CURRENT_TIMESTAMP")
        for tid, (customers, segment_id) in ids.items():
            with engine.begin() as conn:
                _bind(conn, tid)
                campaign_id = uuid.uuid4()
                conn.execute(campaigns.insert().values(
                    tenant_id=tid, id=campaign_id, name="Spring", status="completed",
                    segment_id=segment_id, channel="email", conversion_days=7,
                    audience_size=3, created_at=now, updated_at=now))
                for seq, (customer_id, address) in enumerate(zip(customers, ADDRESSES,
                                                                  strict=True)):
                    conn.execute(recipients.insert().values(
                        tenant_id=tid, id=uuid.uuid4(), campaign_id=campaign_id,
                        customer_id=customer_id, seq=seq, batch=0, status="sent",
                        address=address, click_count=0, created_at=now))
        upgrade(revision="heads")
        raws = []
        for tid in ids:
            with engine.begin() as conn:
                _bind(conn, tid)
                raws.append(conn.execute(select(recipients.c.address).where(
                    recipients.c.tenant_id == tid).order_by(recipients.c.seq)).scalars().all())
        engine.dispose()
        for raw in raws:
            assert raw[2] is None
            assert all(value.startswith("gAAAAA") for value in raw[:2]), raw
        for tid in ids:
            bind_tenant(db.session, tid)
            assert list(db.session.scalars(select(CampaignRecipient.address).order_by(
                CampaignRecipient.seq))) == list(ADDRESSES)
        db.session.remove()
        db.engine.dispose()

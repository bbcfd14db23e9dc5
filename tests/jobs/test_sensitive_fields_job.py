"""The job that moves a custom field's values after it is marked sensitive, run by a
real RQ worker on Redis against the test database (as the app role on PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from saas.extensions import db
from saas.models.customers import Customer, CustomFieldDefinition
from saas.services import custom_fields
from saas.services import customers as customer_service

CARD = "110101199003077777"


def _state(app, tenant):
    with app.app_context():
        tenant.bind()
        state = db.session.scalar(select(CustomFieldDefinition.sensitive_state))
        raw = " ".join(str(v) for row in db.session.execute(text(
            "SELECT custom_fields, sensitive_fields FROM customers")) for v in row)
        values = [c.custom_fields for c in db.session.scalars(select(Customer))]
        db.session.remove()
    return state, raw, values


@pytest.mark.redis
def test_worker_moves_the_values_into_the_encrypted_column(app, make_tenant, use_redis,
                                                          redis_url, run_worker):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        actor = tenant.owner_actor()
        field = custom_fields.create_definition(db.session, actor, "id_card", "ID card",
                                                "text")
        customer_service.create_customer(db.session, actor, {
            "name": "Ann", "custom_fields": {"id_card": CARD}})
        db.session.commit()
        field_id = field.id
        db.session.remove()
    use_redis(redis_url)
    with app.app_context():
        tenant.bind()
        custom_fields.update_definition(db.session, tenant.owner_actor(), field_id,
                                        sensitive=True)
        db.session.commit()      # queued, not run: the state says so
        db.session.remove()
    state, raw, _values = _state(app, tenant)
    assert state == "encrypting" and CARD in raw
    run_worker()
    state, raw, values = _state(app, tenant)
    assert state == "encrypted" and CARD not in raw
    assert values == [{"id_card": CARD}]

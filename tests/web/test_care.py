"""Care pages: a rule with an unknown template variable is refused next to the field;
a good one is saved; quiet hours validate; agents get 403."""

from __future__ import annotations

from sqlalchemy import func, select

from saas.extensions import db
from saas.models.care import CareRule
from tests.web.helpers import field_errors, login, login_as


def test_rule_with_unknown_variable_is_refused_then_saved(app, client, make_tenant):
    tenant = make_tenant()
    login(client, tenant)
    url = f"/t/{tenant.slug}/care"
    assert client.get(f"{url}/").status_code == 200
    form = {"name": "Birthday", "kind": "birthday", "channel": "email",
            "subject": "Happy birthday", "template": "Hi {{ name }}, {{ coupon_code }}",
            "days_after": "", "reward_id": ""}
    bad = client.post(f"{url}/rules", data=form)
    assert bad.status_code == 422
    assert "Unknown variable: coupon_code" in field_errors(bad.get_data(as_text=True),
                                                           "template")
    with app.app_context():
        tenant.bind()
        assert db.session.scalar(select(func.count()).select_from(CareRule)) == 0
        db.session.remove()
    ok = client.post(f"{url}/rules", data=dict(form, template="Hi {{ name }}"))
    assert ok.status_code == 302
    assert "Hi {{ name }}" in client.get(f"{url}/").get_data(as_text=True)
    bad_quiet = client.post(f"{url}/quiet-hours", data={"start": "25:00", "end": "07:00"})
    assert bad_quiet.status_code == 422
    assert client.post(f"{url}/quiet-hours", data={"start": "22:00", "end": "08:00"}
                       ).status_code == 302


def test_agents_cannot_manage_care(app, client, make_tenant):
    tenant = make_tenant()
    login_as(app, client, tenant, "agent")
    assert client.get(f"/t/{tenant.slug}/care/").status_code == 403

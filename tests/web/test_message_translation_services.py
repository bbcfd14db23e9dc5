"""Real service errors, raised by the services themselves, come out Chinese in the web UI.

These catch drift: when a service changes the wording of a message that carries values,
its template in saas/web/messages.py no longer matches and the test says which one.
"""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from saas.extensions import db
from saas.services import customers, field_access, loyalty, segments
from saas.services.errors import Forbidden, InvalidInput
from saas.web.messages import translate_message


@pytest.fixture
def zh_tenant(app, make_tenant):
    tenant = make_tenant(locale="zh_CN")
    with app.test_request_context(f"/t/{tenant.slug}/"), force_locale("zh_CN"):
        tenant.bind()
        yield tenant
        db.session.rollback()


def test_not_enough_points_names_the_balance(zh_tenant):
    actor = zh_tenant.owner_actor()
    customer = customers.create_customer(db.session, actor, {"name": "王芳"})
    loyalty.adjust(db.session, actor, customer.id, 30, "welcome")
    with pytest.raises(InvalidInput) as info:
        loyalty.adjust(db.session, actor, customer.id, -50, "too much")
    exc = info.value
    assert translate_message(exc.errors["points"][0]) == "积分不足：当前余额为 30。"
    assert translate_message(exc.message) == "points：积分不足：当前余额为 30。"


def test_a_segment_naming_a_missing_custom_field(zh_tenant):
    with pytest.raises(InvalidInput) as info:
        segments.create_segment(db.session, zh_tenant.owner_actor(), {
            "name": "Gone", "rule": {"all": [{"custom_field": "gone_(x)", "op": "eq",
                                              "value": "1"}]}})
    text = translate_message(info.value.message)
    assert text.startswith("分群有错误（") or text.startswith("规则有错误（"), text
    assert "自定义字段“gone_(x)”不存在（是否已被删除？）。" in text


def test_a_field_permission_refusal_names_the_field(zh_tenant):
    access = field_access.access_for(db.session, "owner")
    access = field_access.Access(access.visible - {"phone"}, access.editable - {"phone"},
                                 access.hidden | {"phone"}, access.specs)
    with pytest.raises(Forbidden) as info:
        field_access.require_visible(access, "phone", write=True)
    assert translate_message(info.value.message) == "您无权修改 phone。"
    assert translate_message(info.value.errors["phone"][0]) == "您无权修改此字段。"


def test_an_invalid_phone_keeps_what_was_typed(zh_tenant):
    with pytest.raises(InvalidInput) as info:
        customers.create_customer(db.session, zh_tenant.owner_actor(),
                                  {"name": "王芳", "phones": ["+86 (0) 12?"]})
    assert [translate_message(m) for m in info.value.errors["phones"]] == \
        ["“+86 (0) 12?”不是有效的电话号码。"]

"""The API answers service errors in English whatever the tenant's or client's language:
the web UI's message translation (saas.web.messages) must never reach API clients."""

from __future__ import annotations

from saas.billing import plans


def test_a_plan_limit_stays_english_for_a_chinese_tenant(app, api_client, make_tenant,
                                                         monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    free = plans.PLANS["free"]
    monkeypatch.setitem(plans.PLANS, "free", plans.Plan(
        "free", "Free", 0, {**free.limits, "customers": 0}))
    api = api_client(tenant=make_tenant(locale="zh_CN"))
    r = api.post("/api/v1/customers", json={"name": "王芳"},
                 headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert r.status_code == 402
    assert r.get_json()["message"] == ("The Free plan allows 0 customers; 0 in use, 1 more "
                                       "requested. Upgrade to Pro to raise this limit.")


def test_a_field_error_with_a_value_stays_english_for_a_chinese_tenant(api_client,
                                                                       make_tenant):
    api = api_client(tenant=make_tenant(locale="zh_CN"))
    r = api.post("/api/v1/customers", json={"name": "王芳", "phones": ["12(3)*"]},
                 headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 422
    assert r.get_json()["errors"]["phones"] == ["'12(3)*' is not a valid phone number."]

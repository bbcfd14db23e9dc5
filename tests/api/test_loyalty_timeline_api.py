"""The API timeline keeps English titles for points and tier items, with plain data a
client can render itself (the 360 page translates from the same data)."""

from __future__ import annotations

from tests.services.tiers_world import loyalty_history


def test_the_api_timeline_keeps_english_titles_and_plain_data(app, make_tenant, api_client):
    tenant = make_tenant(template="retail", locale="zh_CN")
    cid = loyalty_history(app, tenant)
    owner = api_client(role="owner", tenant=tenant)
    items = owner.get(f"/api/v1/customers/{cid}/timeline?limit=50").get_json()
    points = [i for i in items if i["kind"] == "points"]
    tier = [i for i in items if i["kind"] == "tier"]
    assert {p["data"]["kind"] for p in points} == {"earn", "bonus", "adjust", "redeem",
                                                  "reverse"}
    assert all(p["title"].endswith(" points") for p in points)
    earn = next(p for p in points if p["data"]["kind"] == "earn")
    assert earn["data"]["ref"] and earn["title"] == f"+{earn['data']['points']} points"
    assert {p["data"]["event"] for p in points if p["data"]["kind"] == "bonus"} == \
        {"first_order", "referral"}
    coupon = next(i for i in items if i["kind"] == "coupon")
    assert coupon["title"] == f"Coupon {coupon['data']['code']} used"
    assert (coupon["data"]["reward"], coupon["data"]["used_on"]) == ("Spring sale",
                                                                    "shop order 77")
    referral = next(i for i in items if i["kind"] == "referral")
    assert referral["title"] == "Referred a customer"
    assert referral["data"]["role"] == "referrer" and referral["data"]["rewarded"] is True
    friend = referral["data"]["other_id"]
    theirs = owner.get(f"/api/v1/customers/{friend}/timeline").get_json()
    assert [i["title"] for i in theirs if i["kind"] == "referral"] == \
        ["Referred by a customer"]
    assert [t["data"]["reason"] for t in tier] == ["manual", "rule"]
    assert tier[0]["title"].startswith("Tier ") and tier[0]["data"]["until"]
    assert tier[1]["body"] == "rules v1" and tier[1]["data"]["rule_version"] == 1

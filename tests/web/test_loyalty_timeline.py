"""Points and tier changes on the customer timeline: rendered in the reader's language on
the 360 page from the items' kind and data, while the API keeps English titles."""

from __future__ import annotations

import pytest

from tests.services.tiers_world import loyalty_history
from tests.web.helpers import login


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_points_and_tier_items_are_rendered_in_the_readers_language(app, client,
                                                                    make_tenant, locale):
    tenant = make_tenant(template="retail", locale=locale)
    cid = loyalty_history(app, tenant)
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/customers/{cid}").get_data(as_text=True)
    timeline = html[html.index('class="timeline"'):]
    if locale == "zh_CN":
        for text in ("获得", "奖励", "已兑换", "已调整", "已冲回", "首次下单", "订单已退款",
                     "兑换：Tea set", "等级 无 → ", "按等级规则（第 1 版）", "手动指定",
                     "至 ", "积分", "余额：", "优惠券 ", "已使用", "推荐", "shop order 77"):
            assert text in timeline, text
        for english in (" points<", "Tier ", "rules v1", "first order", "Refund",
                        "Reward: ", "manual", " used<", "Referred "):
            assert english not in timeline, english
    else:
        for text in ("Earned", "Bonus", "First order", "Redeemed", "Reward: Tea set",
                     "Order refunded", "By the tier rules (version 1)",
                     "Manual override by", "until ", "Coupon ", "15% off",
                     "Reward: Spring sale", "shop order 77", "Referred a new customer",
                     "Referral"):
            assert text in timeline, text
    assert "Goodwill after a late delivery" in timeline  # staff notes shown as written

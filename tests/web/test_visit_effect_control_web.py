"""The visit report page shows the control group and the difference-in-differences per
plan next to the before/after figures, in the reader's language."""

from __future__ import annotations

import re

import pytest

from tests.services.test_visit_effect_control import build_in_app
from tests.web.helpers import login

URL = "/t/{slug}/visits/report?since=2026-11-10&until=2026-12-09&window_days=30"


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_report_page_shows_the_difference_in_differences(app, client, make_tenant, locale):
    tenant = make_tenant(locale=locale)
    build_in_app(app, tenant)
    login(client, tenant)
    page = client.get(URL.format(slug=tenant.slug))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    by_plan = html[html.index('id="effect-by_plan"'):html.index('id="effect-by_method"')]
    rows = re.findall(r"<tr>(.*?)</tr>", by_plan, re.S)
    a_row = next(r for r in rows if re.search(r"<td>A ·", r))
    cells = [re.sub(r"<[^>]+>", "", c).strip()
             for c in re.findall(r"<td[^>]*>(.*?)</td>", a_row, re.S)]
    assert cells[8:11] == ["+35.00", "2", "+15.00"]
    assert cells[11].startswith("+20.00")
    if locale == "zh_CN":
        assert "未回访客户数" in by_plan and "双重差分" in by_plan
        assert "-1.0 单" in cells[11]
    else:
        assert "Not visited (customers)" in by_plan and "Difference in differences" in by_plan
        assert "-1.0 orders" in cells[11]

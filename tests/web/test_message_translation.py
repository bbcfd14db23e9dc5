"""Service messages that carry values are shown in Chinese, with the values in them.

Services build English messages with f-strings; `saas.web.messages` registers templates
with named placeholders, and `translate_message` matches an incoming message against
them. These tests pin the matcher, the catalogue entries it relies on, and what a Chinese
reader sees on real pages.
"""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from saas.billing import plans
from saas.extensions import db
from saas.services import custom_fields, customers
from saas.web import messages
from saas.web.messages import translate_message
from tests.conftest import ROOT
from tests.web.helpers import login

PO = ROOT / "saas" / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
TEMPLATES = sorted({m for m in messages.KNOWN if PLACEHOLDER.search(m)})


@pytest.fixture
def zh(app):
    with app.test_request_context("/t/acme/"), force_locale("zh_CN"):
        yield


@pytest.fixture
def en(app):
    with app.test_request_context("/t/acme/"), force_locale("en"):
        yield


def test_an_exact_message_keeps_the_plain_lookup(zh):
    assert translate_message("Owner only.") == "仅限所有者。"


def test_a_message_with_a_value_is_translated_with_the_value_kept(zh):
    assert translate_message("Not enough points: the balance is 120.") == \
        "积分不足：当前余额为 120。"


def test_a_placeholder_at_the_start(zh):
    assert translate_message("王芳 was already merged into another customer.") == \
        "王芳 已被合并到另一位客户。"


def test_a_placeholder_at_the_end(zh):
    assert translate_message("Unknown variable: first_name") == "未知变量：first_name"


def test_two_placeholders(zh):
    assert translate_message("Enter a number from 5 to 95.") == "请输入 5 到 95 之间的数字。"


def test_a_message_matching_no_template_is_unchanged(zh):
    for text in ("Something nobody registered: 42.", "", "Enter a number from 5 to"):
        assert translate_message(text) == text


def test_values_with_regex_metacharacters_and_percent_signs_are_kept_literally(zh):
    key = r".*(x)+?[^a]\1 %(evil)s 100%"
    assert translate_message(f"Custom field '{key}' does not exist (was it deleted?).") == \
        f"自定义字段“{key}”不存在（是否已被删除？）。"


def test_a_literal_percent_sign_in_the_template(zh):
    assert translate_message("The shares add up to 120%; at most 100%.") == \
        "各版本占比合计 120%；最多 100%。"


def test_the_template_with_more_literal_text_wins(zh):
    # "%(field)s: %(message)s" would match too; the longer "Line ..." template wins.
    assert translate_message("Line 3: unexpected '}'") == "第 3 行：unexpected '}'"


def test_a_field_error_wrapped_with_its_field_name_is_translated_inside(zh):
    assert translate_message("points: Not enough points: the balance is 7.") == \
        "points：积分不足：当前余额为 7。"
    assert translate_message("The rule has errors (all.0.value: Enter a number.)") == \
        "规则有错误（all.0.value：请输入数字。）"


def test_values_that_are_registered_words_are_translated(zh):
    assert translate_message(
        "The Free plan allows 3 staff seats; 3 in use, 1 more requested. "
        "Upgrade to Pro to raise this limit.") == \
        "免费版的员工席位数上限为 3；已使用 3，本次新增 1。升级到专业版可提高此上限。"
    assert translate_message("A running campaign cannot be edited.") == \
        "状态为“进行中”的营销活动不能编辑。"


def test_other_values_stay_as_they_are(zh):
    # "new" and "Owner only." are registered, but a field key or a typed value is data.
    assert translate_message("Custom field 'new' does not exist (was it deleted?).") == \
        "自定义字段“new”不存在（是否已被删除？）。"
    assert translate_message("'Owner only.' is not a valid phone number.") == \
        "“Owner only.”不是有效的电话号码。"


@pytest.mark.parametrize("template", TEMPLATES)
def test_english_readers_get_the_message_back_unchanged(en, template):
    sample = template % {name: f"v{i}" for i, name in
                         enumerate(PLACEHOLDER.findall(template))}
    assert translate_message(sample) == sample


def test_every_template_compiles_and_matches_a_sample_of_itself(zh):
    for template in TEMPLATES:
        names = PLACEHOLDER.findall(template)
        assert len(names) == len(set(names)), template
        sample = template % {name: f"<{name}>" for name in names}
        if template == "%(field)s: %(message)s":
            sample = "<field>: Owner only."  # a wrapper applies only around a known message
        translated = translate_message(sample)
        assert translated != sample, template
        for name in names:
            assert f"<{name}>" in translated or name == "message", (template, name)


def test_a_broken_translation_falls_back_to_english(zh, monkeypatch):
    monkeypatch.setattr(messages, "gettext", lambda s: "坏了 %(nonexistent)s")
    message = "Not enough points: the balance is 3."
    assert translate_message(message) == message


def test_api_requests_keep_english(app):
    with app.test_request_context("/api/v1/customers"), force_locale("zh_CN"):
        assert translate_message("Not enough points: the balance is 1.") == \
            "Not enough points: the balance is 1."
        assert translate_message("Owner only.") == "Owner only."


def test_every_template_has_a_chinese_translation_with_the_same_placeholders():
    with open(PO, "rb") as f:
        catalog = read_po(f)
    problems = []
    for template in TEMPLATES:
        entry = catalog.get(template)
        if entry is None or not entry.string or entry.fuzzy:
            problems.append((template, "untranslated"))
            continue
        if sorted(PLACEHOLDER.findall(entry.string)) != sorted(PLACEHOLDER.findall(template)):
            problems.append((template, entry.string))
            continue
        try:
            entry.string % {name: "x" for name in PLACEHOLDER.findall(template)}
        except (KeyError, ValueError, TypeError) as exc:
            problems.append((template, f"{entry.string}: {exc}"))
    for word in messages.VALUE_WORDS:
        entry = catalog.get(word)
        if entry is None or not entry.string or entry.fuzzy:
            problems.append((word, "untranslated"))
    assert problems == []


# --- real pages in Chinese -------------------------------------------------------------

def _tea_field(app, tenant) -> None:
    with app.app_context():
        tenant.bind()
        custom_fields.create_definition(db.session, tenant.owner_actor(), "tea", "Tea",
                                        "choice", choices=["green", "black"])
        db.session.commit()
        db.session.remove()


def test_custom_field_and_phone_errors_in_the_customer_form_are_chinese(app, client,
                                                                        make_tenant):
    tenant = make_tenant(locale="zh_CN")
    _tea_field(app, tenant)
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/customers/new", data={
        "name": "王芳", "kind": "person", "phones": "12(3)*", "lifecycle_stage": "lead",
        "cf_tea": "oolong"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "请从以下选项中选择：green, black。" in html
    assert "“12(3)*”不是有效的电话号码。" in html
    assert "is not a valid phone number" not in html and "Choose one of" not in html


def test_the_plan_limit_in_the_customer_form_is_chinese_with_its_numbers(
        app, client, make_tenant, monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    free = plans.PLANS["free"]
    monkeypatch.setitem(plans.PLANS, "free", plans.Plan(
        "free", "Free", 0, {**free.limits, "customers": 1}))
    tenant = make_tenant(locale="zh_CN")
    with app.app_context():
        tenant.bind()
        customers.create_customer(db.session, tenant.owner_actor(), {"name": "First"})
        db.session.commit()
        db.session.remove()
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/customers/new", data={
        "name": "Second", "kind": "person", "lifecycle_stage": "lead"})
    html = r.get_data(as_text=True)
    assert r.status_code == 402
    assert "免费版的客户数上限为 1；已使用 1，本次新增 1。升级到专业版可提高此上限。" in html
    assert "plan allows" not in html


def test_the_same_plan_limit_stays_english_for_an_english_tenant(
        app, client, make_tenant, monkeypatch):
    monkeypatch.setitem(app.config, "BILLING_DEFAULT_PLAN", "free")
    free = plans.PLANS["free"]
    monkeypatch.setitem(plans.PLANS, "free", plans.Plan(
        "free", "Free", 0, {**free.limits, "customers": 0}))
    tenant = make_tenant(locale="en")
    login(client, tenant)
    r = client.post(f"/t/{tenant.slug}/customers/new", data={
        "name": "Second", "kind": "person", "lifecycle_stage": "lead"})
    assert r.status_code == 402
    assert "The Free plan allows 0 customers; 0 in use, 1 more requested." in \
        r.get_data(as_text=True)

"""The Chinese catalogue is complete, compiled, and covers every string the code marks."""

from __future__ import annotations

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.conftest import ROOT
from tests.web.helpers import login

CATALOGUE = ROOT / "saas" / "translations" / "zh_CN" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _po():
    with open(CATALOGUE / "messages.po", "rb") as f:
        return read_po(f)


def _messages(catalog) -> dict[str, str]:
    return {m.id: m.string for m in catalog if m.id}


def test_every_msgid_is_translated():
    catalog = _po()
    untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert untranslated == []


def test_translations_keep_their_placeholders():
    wrong = [(i, s) for i, s in _messages(_po()).items()
             if sorted(PLACEHOLDER.findall(i)) != sorted(PLACEHOLDER.findall(s))]
    assert wrong == []


def test_compiled_catalogue_matches_the_po_file():
    with open(CATALOGUE / "messages.mo", "rb") as f:
        compiled = _messages(read_mo(f))
    assert compiled == _messages(_po()), "run: .venv/bin/pybabel compile -d saas/translations"


def test_every_marked_string_is_in_the_catalogue():
    method_map = [("saas/**.py", "python"), ("saas/**/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
                "_l": None, "N_": None}
    extracted = {message if isinstance(message, str) else message[0]
                 for _file, _line, message, _comments, _context in
                 extract_from_dir(str(ROOT), method_map, keywords=keywords)}
    missing = sorted(extracted - set(_messages(_po())))
    assert missing == [], "update the catalogue (docs/dev-conventions.md, Web UI)"


@pytest.mark.parametrize("path,chinese", [("/", "所有客户，一处管理。"),
                                          ("/signup", "创建账户")])
def test_public_pages_speak_chinese_after_the_switch(client, path, chinese):
    client.post("/language", data={"locale": "zh_CN", "next": "/"})
    assert chinese in client.get(path).get_data(as_text=True)


def test_staff_pages_speak_the_tenants_language_by_default(app, client, make_tenant):
    tenant = make_tenant(locale="zh_CN")
    login(client, tenant)
    html = client.get(f"/t/{tenant.slug}/staff/").get_data(as_text=True)
    assert "员工" in html and "邀请同事" in html and "退出登录" in html


def test_a_staff_members_own_language_beats_the_tenants(app, client, make_tenant):
    from saas.extensions import db
    from saas.models import Staff

    tenant = make_tenant(locale="en")
    with app.app_context():
        tenant.bind()
        db.session.get(Staff, (tenant.id, tenant.owner_id)).locale = "zh_CN"
        db.session.commit()
    login(client, tenant)
    assert "欢迎，Olivia Owner" in client.get(f"/t/{tenant.slug}/").get_data(as_text=True)

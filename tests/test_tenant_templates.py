"""Tenant templates (`tenants/*.toml`): every shipped one loads; a broken one says where."""

from __future__ import annotations

from pathlib import Path

import pytest

from saas.tenant_templates import (
    TEMPLATES_DIR,
    TemplateError,
    available_templates,
    load_template,
    parse_template,
)

SHIPPED = sorted(TEMPLATES_DIR.glob("*.toml"))


def test_templates_are_shipped():
    assert SHIPPED, "tenants/ has no templates"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_template_loads(path):
    data = parse_template(path)
    assert data["tiers"] and data["categories"]
    assert data["loyalty"]["points_per_unit"] >= 0


def test_every_shipped_template_is_available_by_name():
    assert set(available_templates()) == {p.stem for p in SHIPPED}
    for name in available_templates():
        assert load_template(name)["name"]


def test_unknown_template_name_is_an_error():
    with pytest.raises(TemplateError, match="no tenant template named 'nope'"):
        load_template("nope")


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    source = (TEMPLATES_DIR / "retail.toml").read_text(encoding="utf-8")
    assert old in source
    path = tmp_path / "broken.toml"
    path.write_text(source.replace(old, new, 1), encoding="utf-8")
    return path


def test_wrong_type_names_the_file_and_the_nested_key(tmp_path):
    path = _broken(tmp_path, "expiry_months = 24", 'expiry_months = "soon"')
    with pytest.raises(TemplateError) as err:
        parse_template(path)
    assert "broken.toml" in str(err.value)
    assert "loyalty.expiry_months" in str(err.value)


def test_unknown_key_names_the_file_and_the_key(tmp_path):
    path = _broken(tmp_path, 'colour = "#d4a017"', 'colour = "#d4a017"\nflavour = "x"')
    with pytest.raises(TemplateError, match=r"broken\.toml: key 'tiers\.0\.flavour'"):
        parse_template(path)


def test_missing_required_section_names_it(tmp_path):
    path = tmp_path / "bare.toml"
    path.write_text('name = "Bare"\ncategories = ["A"]\n', encoding="utf-8")
    with pytest.raises(TemplateError, match=r"bare\.toml: key '(tiers|loyalty|sla)'"):
        parse_template(path)


def test_visit_plan_for_an_unknown_tier_names_the_key(tmp_path):
    source = (TEMPLATES_DIR / "retail.toml").read_text(encoding="utf-8")
    path = tmp_path / "plans.toml"
    path.write_text(source + '\n[[visit_plans]]\ntier = "Z"\nevery_days = 30\n'
                    'method = "phone"\n', encoding="utf-8")
    with pytest.raises(TemplateError, match=r"plans\.toml: key 'visit_plans\.\d+\.tier'"):
        parse_template(path)


def test_invalid_toml_names_the_file(tmp_path):
    path = tmp_path / "syntax.toml"
    path.write_text("name = \n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"syntax\.toml: not valid TOML"):
        parse_template(path)

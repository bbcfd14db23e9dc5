"""Campaign templates and field permissions: a template may not read a customer variable
the author's role cannot see in clear. Parametrized over the registry's template
variables (built-ins and a custom field), so a new one is covered automatically."""

from __future__ import annotations

import pytest

from saas.extensions import db
from saas.services import custom_fields, field_access
from saas.services.context import Actor
from saas.services.errors import Forbidden

CASES = [(s.key, v) for s in field_access.BUILTIN_FIELDS for v in s.template_variables] + [
    ("cf.level", "cf.level")]


def _expression(variable: str) -> str:
    if variable.startswith("cf."):
        return f"customer.custom_fields.{variable[3:]}"
    return f"customer.{variable}"


@pytest.fixture
def world(app, make_tenant):
    tenant = make_tenant()
    with app.app_context():
        tenant.bind()
        custom_fields.create_definition(db.session, tenant.owner_actor(), "level", "Level",
                                        "text")
        db.session.commit()
        yield tenant
        db.session.rollback()
        db.session.remove()


def _agent() -> Actor:
    return Actor(staff_id=None, label="agent", role="agent")


def _set(tenant, field: str, level: str) -> None:
    field_access.set_permissions(db.session, tenant.owner_actor(), [
        {"role": "agent", "field": field, "level": level}], confirm=True)


@pytest.mark.parametrize("level", ["hidden", "masked"])
@pytest.mark.parametrize("field_key, variable", CASES)
def test_template_reading_a_field_the_author_may_not_see_is_403(world, field_key,
                                                                variable, level):
    spec = next(s for s in field_access.registry(db.session) if s.key == field_key)
    if level == "masked" and not spec.maskable:
        level = "hidden"
    source = "Hi {{ customer.name }}, {{ " + _expression(variable) + " }}"
    field_access.check_template(db.session, _agent(), source, "body")   # open: fine
    _set(world, field_key, level)
    with pytest.raises(Forbidden) as caught:
        field_access.check_template(db.session, _agent(), source, "variants.0.body")
    assert f"customer.{variable}" in caught.value.errors["variants.0.body"][0]
    field_access.check_template(db.session, world.owner_actor(), source, "body")
    field_access.check_template(db.session, _agent(), "Hi {{ customer.name }}", "body")


@pytest.mark.parametrize("source", [
    "{{ customer }}", "{% set c = customer %}{{ c.phone }}", "{{ customer['phone'] }}",
    "{{ customer.custom_fields }}"])
def test_indirect_reads_are_refused_once_anything_is_restricted(world, source):
    field_access.check_template(db.session, _agent(), source, "body")
    _set(world, "phones", "hidden")
    _set(world, "cf.level", "hidden")
    with pytest.raises(Forbidden):
        field_access.check_template(db.session, _agent(), source, "body")


def test_a_broken_template_is_left_to_the_template_validator(world):
    _set(world, "phones", "hidden")
    field_access.check_template(db.session, _agent(), "{% if %}", "body")

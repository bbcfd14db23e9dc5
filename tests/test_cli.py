"""Operator commands: `flask demo`, `flask tenants ...`, and docs/cli.md coverage."""

from __future__ import annotations

import re

import click
import pytest
from sqlalchemy import func, select

from saas import demo
from saas.extensions import db
from saas.models import ROLES, Staff, Tenant
from saas.tenancy import bind_tenant
from tests.conftest import PASSWORD, ROOT


def invoke(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def staff_of(app, slug: str) -> list[tuple[str, str, str]]:
    with app.app_context():
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == slug)).one()
        bind_tenant(db.session, tenant.id)
        rows = [(s.role, s.name, s.email) for s in
                db.session.scalars(select(Staff).order_by(Staff.email))]
        db.session.remove()
    return rows


def test_demo_creates_the_tenant_with_every_role_and_prints_the_login(app):
    result = invoke(app, "demo", "--size", "5")  # migrates to heads first: a no-op here
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5000/t/demo/" in result.output
    assert demo.owner_email("demo") in result.output
    assert demo.DEMO_PASSWORD in result.output
    staff = staff_of(app, "demo")
    assert {role for role, _, _ in staff} == set(ROLES)
    names = [name for _, name, _ in staff]
    assert any(re.search(r"[\u4e00-\u9fff]", n) for n in names)  # Chinese names
    assert any(re.fullmatch(r"[A-Za-z .'-]+", n) for n in names)  # English names


def test_demo_owner_can_log_in_with_the_printed_password(app):
    from saas.services.staff import authenticate

    invoke(app, "demo", "--size", "2", "--no-migrate")
    with app.app_context():
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == "demo")).one()
        bind_tenant(db.session, tenant.id)
        assert authenticate(db.session, demo.owner_email("demo"), demo.DEMO_PASSWORD)
        db.session.rollback()
        db.session.remove()


def test_demo_rerun_does_not_duplicate_anything(app):
    invoke(app, "demo", "--size", "5", "--no-migrate")
    before = staff_of(app, "demo")
    again = invoke(app, "demo", "--size", "5", "--no-migrate")
    assert again.exit_code == 0, again.output
    assert "already there" in again.output and "nothing new" in again.output
    assert staff_of(app, "demo") == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tenant).where(
            Tenant.slug == "demo")) == 1


def test_demo_data_is_reproducible_from_the_seed(app):
    for slug in ("demo-a", "demo-b"):
        result = invoke(app, "demo", "--slug", slug, "--seed", "7", "--size", "2",
                        "--no-migrate")
        assert result.exit_code == 0, result.output
    names = [sorted(n for _, n, _ in staff_of(app, slug) if "Owner" not in n)
             for slug in ("demo-a", "demo-b")]
    assert names[0] == names[1]
    other = invoke(app, "demo", "--slug", "demo-c", "--seed", "8", "--size", "2",
                   "--no-migrate")
    assert other.exit_code == 0
    assert sorted(n for _, n, _ in staff_of(app, "demo-c")) != names[0]


def test_demo_generator_added_later_runs_once_on_the_existing_tenant(app):
    calls = []

    def generate(session, tenant, staff, rng, size):
        calls.append((tenant.slug, len(staff), size, rng.random()))

    late = demo.DemoGenerator("late", 500, generate)
    with app.app_context():
        demo.run(db.session, slug="demo-late", size=3, only=[])
        demo.run(db.session, slug="demo-late", size=3, only=[late])
        demo.run(db.session, slug="demo-late", size=3, only=[late])
        db.session.remove()
    assert len(calls) == 1
    assert calls[0][:3] == ("demo-late", 1, 3)


def test_demo_generators_run_in_declared_order():
    gens = demo.generators()
    assert gens[0].name == "staff"
    assert [(g.order, g.name) for g in gens] == sorted((g.order, g.name) for g in gens)


def test_failing_generator_keeps_earlier_data_and_is_retried_next_run(app):
    def boom(session, tenant, staff, rng, size):
        raise RuntimeError("generator broke")

    with app.app_context():
        with pytest.raises(RuntimeError):
            demo.run(db.session, slug="demo-fail", only=[demo.DemoGenerator("boom", 1, boom)])
        db.session.rollback()
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == "demo-fail")).one()
        assert "boom" not in tenant.settings.get(demo.DONE_KEY, [])
        db.session.remove()


def test_tenants_create_signs_up_a_tenant_and_its_owner(app):
    result = invoke(app, "tenants", "create", "acme", "--company", "Acme 有限公司",
                    "--owner-name", "Ann Lee", "--email", "ann@acme.example.com",
                    "--password", PASSWORD, "--template", "b2b", "--locale", "en")
    assert result.exit_code == 0, result.output
    assert "Created tenant acme" in result.output
    assert staff_of(app, "acme") == [("owner", "Ann Lee", "ann@acme.example.com")]


def test_tenants_create_asks_for_the_password_when_not_given(app):
    result = invoke(app, "tenants", "create", "asked", "--company", "Asked",
                    "--owner-name", "Ann", "--email", "ann@asked.example.com",
                    input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert staff_of(app, "asked")[0][0] == "owner"


def test_tenants_create_with_bad_input_lists_the_errors_and_fails(app):
    result = invoke(app, "tenants", "create", "X!", "--company", "Bad",
                    "--owner-name", "Ann", "--email", "not-an-email", "--password", "short")
    assert result.exit_code == 1
    for field in ("slug:", "email:", "password:"):
        assert field in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 0


def test_tenants_create_refuses_a_taken_slug(app, make_tenant):
    make_tenant(slug="taken")
    result = invoke(app, "tenants", "create", "taken", "--company", "Other",
                    "--owner-name", "Ann", "--email", "ann@other.example.com",
                    "--password", PASSWORD)
    assert result.exit_code == 1
    assert "taken" in result.output


def test_tenants_list_shows_every_tenant_with_its_staff_count(app, make_tenant):
    make_tenant(slug="alpha")
    make_tenant(slug="beta", template="b2b")
    result = invoke(app, "tenants", "list")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.splitlines()[1:]}
    assert rows["alpha"][1:5] == ["retail", "en", "active", "1"]
    assert rows["beta"][1] == "b2b"


def test_tenants_list_with_no_tenants_says_so(app):
    assert invoke(app, "tenants", "list").output.strip() == "No tenants."


def _command_paths(group: click.Group, prefix: str = "flask") -> list[str]:
    paths = []
    for name, command in sorted(group.commands.items()):
        if command.hidden:
            continue
        path = f"{prefix} {name}"
        paths.append(path)
        if isinstance(command, click.Group):
            paths.extend(_command_paths(command, path))
    return paths


def _live_commands() -> list[str]:
    from saas import create_app

    app = create_app({"DATABASE_URL": "sqlite://", "SAAS_ENV": "testing"})
    return [p for p in _command_paths(app.cli) if p.split()[1] not in {"routes", "run",
                                                                       "shell"}]


def _documented_commands() -> set[str]:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    return {m.strip() for m in re.findall(r"^### `?(flask [a-z0-9 _-]+?)`?\s*$", text,
                                          re.MULTILINE)}


@pytest.mark.parametrize("command", _live_commands())
def test_cli_command_is_documented(command):
    assert command in _documented_commands(), f"add '### {command}' to docs/cli.md"


def test_documented_commands_exist():
    assert _documented_commands() <= set(_live_commands()) | {"flask routes", "flask run",
                                                              "flask shell"}


def test_core_operator_commands_are_registered():
    live = set(_live_commands())
    for command in ("flask demo", "flask worker", "flask cron", "flask tenants create",
                    "flask tenants list", "flask keys rotate", "flask db upgrade"):
        assert command in live

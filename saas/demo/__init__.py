"""Demo data for `flask demo`: one tenant filled by a registry of generators.

Each feature area adds a module here (`saas/demo/customers.py`, ...) exposing

    ORDER = 50                                   # lower runs first; default 100
    def generate(session, tenant, staff, rng, size) -> None: ...

and nothing central is edited. A generator runs once per tenant: its module name is
remembered in the tenant's settings, so re-running `flask demo` adds what new
generators bring without duplicating what earlier runs made. Each generator gets its
own `random.Random` seeded from the demo seed and its name, so adding one generator
never changes the data another makes.
"""

from __future__ import annotations

import hashlib
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass

from faker import Faker
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.discovery import modules_with
from saas.models import Staff, Tenant
from saas.services import tenants as tenant_service
from saas.tenancy import bind_tenant

DEMO_SLUG = "demo"
DEMO_OWNER_EMAIL = "owner@demo.example.com"
DEMO_PASSWORD = "demo-Password-2024"  # noqa: S105  (printed by `flask demo`; demo only)
DEFAULT_SEED = 20240501
DEFAULT_SIZE = 40
DONE_KEY = "demo_generators"

Generator = Callable[[Session, Tenant, list[Staff], random.Random, int], None]


@dataclass(frozen=True)
class DemoGenerator:
    name: str
    order: int
    generate: Generator


def generators() -> list[DemoGenerator]:
    """Every generator module in `saas/demo/`, in run order (ORDER, then name)."""
    found = [DemoGenerator(module.__name__.rsplit(".", 1)[1], getattr(module, "ORDER", 100),
                           fn)
             for module, fn in modules_with(sys.modules[__name__], "generate")]
    return sorted(found, key=lambda g: (g.order, g.name))


def rng_for(seed: int, name: str) -> random.Random:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def faker_for(rng: random.Random, locale: str = "zh_CN") -> Faker:
    """A Faker for `zh_CN` or `en_US`, seeded from the generator's rng (reproducible)."""
    fake = Faker(locale)
    fake.seed_instance(rng.getrandbits(32))
    return fake


@dataclass
class DemoResult:
    tenant: Tenant
    created: bool
    ran: list[str]


def owner_email(slug: str) -> str:
    return f"owner@{slug}.example.com"


def ensure_tenant(session: Session, slug: str = DEMO_SLUG,
                  password: str = DEMO_PASSWORD) -> tuple[Tenant, bool]:
    """The demo tenant, signed up through the normal service the first time."""
    tenant = tenant_service.tenant_by_slug(session, slug)
    if tenant is not None:
        bind_tenant(session, tenant.id)
        return tenant, False
    tenant, _owner = tenant_service.signup(session, tenant_service.SignupData(
        company="示例贸易有限公司 Demo Trading Co.", slug=slug, owner_name="王芳 Fang Wang",
        email=owner_email(slug), password=password, locale="zh_CN", timezone="Asia/Shanghai",
        currency="CNY", template="retail"))
    return tenant, True


def run(session: Session, slug: str = DEMO_SLUG, seed: int = DEFAULT_SEED,
        size: int = DEFAULT_SIZE, only: list[DemoGenerator] | None = None) -> DemoResult:
    """Create or complete the demo tenant; commits after each generator so a failing
    generator leaves the earlier ones' data in place and is retried on the next run."""
    tenant, created = ensure_tenant(session, slug)
    session.commit()
    ran = []
    for gen in only if only is not None else generators():
        bind_tenant(session, tenant.id)
        done = list((tenant.settings or {}).get(DONE_KEY, []))
        if gen.name in done:
            continue
        staff = list(session.scalars(select(Staff).order_by(Staff.created_at, Staff.id)))
        gen.generate(session, tenant, staff, rng_for(seed, gen.name), size)
        tenant.settings = {**(tenant.settings or {}), DONE_KEY: [*done, gen.name]}
        session.commit()
        ran.append(gen.name)
    return DemoResult(tenant, created, ran)

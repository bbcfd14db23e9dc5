"""Demo staff: one of every role plus agents, half Chinese and half English names,
joined through real invitations so the audit log and outbox look like real use."""

from __future__ import annotations

import random

from flask import current_app
from sqlalchemy.orm import Session

from saas.demo import DEMO_PASSWORD, faker_for
from saas.models import ROLES, Staff, Tenant
from saas.services import staff as staff_service
from saas.services.context import Actor

ORDER = 10
DEPARTMENTS = ["销售部 Sales", "客服部 Service", "市场部 Marketing"]


def _roles(size: int) -> list[str]:
    extra_agents = max(1, size // 20)
    return [r for r in ROLES if r != "owner"] + ["agent"] * extra_agents + ["manager"]


def generate(session: Session, tenant: Tenant, staff: list[Staff], rng: random.Random,
             size: int) -> None:
    owner = next(s for s in staff if s.role == "owner")
    actor = Actor.of_staff(owner)
    zh, en = faker_for(rng, "zh_CN"), faker_for(rng, "en_US")
    managers: list[Staff] = []
    for i, role in enumerate(_roles(size)):
        if rng.random() < 0.5:
            name = zh.name()
            login = f"emp{rng.randint(1000, 9999)}"
        else:
            first, last = en.first_name(), en.last_name()
            name, login = f"{first} {last}", f"{first}.{last}".lower()
        email = f"{login}.{i}@{tenant.slug}.example.com"
        _inv, link = staff_service.invite(
            session, actor, email, role, current_app.config["INVITATION_TTL_HOURS"],
            current_app.config["BASE_URL"], tenant.slug)
        member = staff_service.accept_invitation(session, link.rsplit("/", 1)[1], name,
                                                 DEMO_PASSWORD)
        member.department = DEPARTMENTS[i % len(DEPARTMENTS)]
        member.locale = "zh_CN" if rng.random() < 0.6 else "en"
        if role == "manager":
            managers.append(member)
        elif role == "agent" and managers:
            member.manager_id = rng.choice(managers).id
    session.flush()

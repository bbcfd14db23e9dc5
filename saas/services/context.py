"""Who is acting and from where: passed explicitly to every service that writes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    staff_id: uuid.UUID | None = None
    label: str = "system"
    role: str = "owner"
    ip: str | None = None
    user_agent: str | None = None

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(label=label)

    @classmethod
    def of_staff(cls, staff, ip: str | None = None, user_agent: str | None = None) -> Actor:
        return cls(staff_id=staff.id, label=staff.email, role=staff.role, ip=ip,
                   user_agent=(user_agent or "")[:255] or None)

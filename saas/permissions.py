"""One permission matrix for every role; routes check it through `require(permission)`."""

from __future__ import annotations

PERMISSIONS: dict[str, set[str]] = {
    "owner": {"*"},
    "admin": {"staff.manage", "settings.manage", "audit.read", "tokens.manage",
              "plugins.manage", "customers.read", "customers.write", "customers.delete",
              "tickets.read", "tickets.write", "campaigns.manage", "reports.read",
              "privacy.manage"},
    "manager": {"customers.read", "customers.write", "tickets.read", "tickets.write",
                "campaigns.manage", "reports.read", "tokens.manage", "staff.read"},
    "agent": {"customers.read", "customers.write", "tickets.read", "tickets.write",
              "tokens.manage"},
    "readonly": {"customers.read", "tickets.read", "reports.read"},
}
OWNER_ONLY = {"billing.manage", "tenant.delete"}
ALL_PERMISSIONS = sorted({p for perms in PERMISSIONS.values() for p in perms if p != "*"}
                         | OWNER_ONLY | {"staff.read"})


def role_can(role: str, permission: str) -> bool:
    perms = PERMISSIONS.get(role, set())
    if "*" in perms:
        return True
    if permission == "staff.read" and "staff.manage" in perms:
        return True
    return permission in perms

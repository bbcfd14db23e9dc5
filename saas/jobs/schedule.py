"""Periodic jobs, run by RQ's cron scheduler that `flask worker` starts.

Each entry has a fixed name, so a restarted scheduler replaces rather than adds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Periodic:
    name: str
    path: str
    interval: int | None = None
    cron: str | None = None


PERIODIC: list[Periodic] = [
    Periodic("outbox-sweep", "saas.jobs.outbox:sweep_outbox", interval=60),
]

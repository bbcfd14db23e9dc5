"""Moving a custom field's stored values after the admin marks it sensitive (into the
encrypted column) or not (back into the plain JSON).

Idempotent and safe to crash: each batch commits rows that are fully moved, and a run
only moves what is still on the wrong side, so a retry, a second run or a run racing a
toggle back all end with every value stored once, where the flag wants it.
"""

from __future__ import annotations

import logging
import uuid

from saas.extensions import db
from saas.jobs.runner import tenant_job
from saas.services.errors import NotFound

log = logging.getLogger(__name__)
MAX_PASSES = 3


@tenant_job(retries=3, intervals=[30, 120, 600], timeout=3600)
def move_values(tenant_id: uuid.UUID, definition_id: str) -> dict:
    from saas.services import custom_fields

    moved = 0
    try:
        for _pass in range(MAX_PASSES):
            after = None
            while True:
                count, after = custom_fields.move_batch(db.session, definition_id, after)
                db.session.commit()
                moved += count
                if after is None:
                    break
            if not custom_fields.values_left(db.session, definition_id):
                state = custom_fields.finish_move(db.session, definition_id, moved)
                db.session.commit()
                return {"moved": moved, "state": state}
    except NotFound:
        log.info("custom field %s was deleted; nothing to move", definition_id)
        db.session.rollback()
        return {"moved": moved, "state": "deleted"}
    raise RuntimeError(f"values of custom field {definition_id} still moving after "
                       f"{MAX_PASSES} passes (customers being written); retrying")

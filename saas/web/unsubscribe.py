"""The page behind unsubscribe links in customer messages (no login).

Its own blueprint, so that billing can keep it writable for a read-only account:
withdrawing consent must always work.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from saas.extensions import csrf, db
from saas.services import unsubscribe as unsubscribe_service

bp = Blueprint("unsubscribe", __name__)


@bp.route("/t/<slug>/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    """GET asks for confirmation (link scanners must not unsubscribe anyone); POST, from
    the page or a mail client's one-click (RFC 8058), withdraws the consent."""
    _customer, channel = unsubscribe_service.read_unsubscribe_token(db.session, token)
    if request.method == "GET":
        return render_template("plugins/unsubscribe.html", channel=channel, done=False)
    unsubscribe_service.unsubscribe(db.session, token)
    db.session.commit()
    return render_template("plugins/unsubscribe.html", channel=channel, done=True)

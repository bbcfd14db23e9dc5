"""Translated labels for the customer area's stored codes (kinds, stages, channels...)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask_babel import lazy_gettext as _l

KIND_LABELS = {"person": _l("Person"), "company": _l("Company")}
STAGE_LABELS = {"lead": _l("Lead"), "prospect": _l("Prospect"), "customer": _l("Customer"),
                "lapsed": _l("Lapsed"), "churned": _l("Churned")}
POWER_LABELS = {"high": _l("High"), "medium": _l("Medium"), "low": _l("Low")}
CONSENT_LABELS = {"granted": _l("Granted"), "withdrawn": _l("Withdrawn")}
CHANNEL_LABELS = {"phone": _l("Phone call"), "email": _l("Email"), "visit": _l("Visit"),
                  "meeting": _l("Meeting"), "wechat": _l("WeChat"), "sms": _l("SMS"),
                  "chat": _l("Chat"), "social": _l("Social media")}
DIRECTION_LABELS = {"out": _l("Outgoing"), "in": _l("Incoming")}
INTERACTION_KIND_LABELS = {"need": _l("Need"), "feedback": _l("Feedback"),
                           "problem": _l("Problem"), "solution": _l("Solution")}
ORDER_STATUS_LABELS = {"placed": _l("Placed"), "paid": _l("Paid"), "shipped": _l("Shipped"),
                       "completed": _l("Completed"), "cancelled": _l("Cancelled"),
                       "refunded": _l("Refunded")}


def labelled(codes: Iterable[str], labels: Mapping[str, object]) -> list[tuple[str, object]]:
    return [(code, labels.get(code, code)) for code in codes]

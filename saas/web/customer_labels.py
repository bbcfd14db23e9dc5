"""Translated labels for the customer area's stored codes (kinds, stages, channels...)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask_babel import lazy_gettext as _l

from saas.web.messages import N_

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


# Service messages the customer pages show, marked for the catalogue (see messages.py).
SERVICE_MESSAGES = (
    N_("Please correct the customer's details."),
    N_("Please correct the interaction."),
    N_("Please correct the contact's details."),
    N_("Please correct the saved view."),
    N_("The filter has errors."),
    N_("This field is required."),
    N_("Write what was said or done."),
    N_("Unknown custom field."),
    N_("Unknown field."),
    N_("Unknown filter."),
    N_("Enter a date as YYYY-MM-DD."),
    N_("Enter a number."),
    N_("Enter a finite number."),
    N_("Enter true or false."),
    N_("Enter text."),
    N_("Enter an ISO date-time."),
    N_("Give a time with its UTC offset."),
    N_("This time is in the future."),
    N_("Remove control characters."),
    N_("Enter a birthday between 1900 and today."),
    N_("No such active staff member."),
    N_("Another customer has this external id."),
    N_("Contacts belong to company customers."),
    N_("No such contact of this customer."),
    N_("No such customer."),
    N_("No such saved view."),
    N_("You already have a view with this name."),
    N_("Already used."),
    N_("Name the view (up to 100 characters)."),
    N_("This page link is not valid; start again."),
    N_("This customer has orders, interactions or merged records; it cannot be deleted."),
    N_("Enter a name (up to 200 characters)."),
    N_("Use at most 200 characters."),
    N_("Use at most 100 characters."),
    N_("Status is granted or withdrawn."),
    N_("Not a staff id."),
)

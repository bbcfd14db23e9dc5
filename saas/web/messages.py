"""Service error messages in the reader's language.

Services speak English (they also serve the API and jobs). The web UI passes their
messages through `translate_message`; the strings below are marked with `N_` so that
`pybabel extract` puts them into the catalogue. A message not listed is shown as is.
"""

from __future__ import annotations

from flask_babel import gettext


def N_(message: str) -> str:  # noqa: N802 - the conventional extraction marker
    return message


KNOWN = (
    N_("Sign-up has errors."),
    N_("Settings have errors."),
    N_("Please correct the form."),
    N_("Token has errors."),
    N_("Enter the company name."),
    N_("Use 3-63 lower-case letters, digits or dashes (not reserved)."),
    N_("Enter your name."),
    N_("Enter a valid email address."),
    N_("That address is taken."),
    N_("Unknown time zone."),
    N_("Choose one of: zh_CN, en."),
    N_("Choose one of: CNY, USD, EUR, HKD, TWD, JPY, GBP, SGD."),
    N_("Choose one of: owner, admin, manager, agent, readonly."),
    N_("Use at least 10 characters."),
    N_("This password is too common or simple."),
    N_("Mix letters with digits or symbols."),
    N_("Do not include your email name in the password."),
    N_("Already a staff member."),
    N_("Only the owner can grant the owner role."),
    N_("Owner only."),
    N_("You cannot grant a role above your own."),
    N_("Above your own role."),
    N_("This invitation link is not valid."),
    N_("This invitation has already been used."),
    N_("This invitation has expired. Ask for a new one."),
    N_("Only the owner can change the owner's role."),
    N_("A tenant needs at least one owner."),
    N_("Last owner."),
    N_("You cannot deactivate yourself."),
    N_("Only the owner can deactivate an owner."),
    N_("A tenant needs at least one active owner."),
    N_("Give the token a name (up to 100 characters)."),
    N_("Choose read or write."),
    N_("No such staff member."),
    N_("No such token."),
    # plugins (service messages and marshmallow's, shown next to generated form fields)
    N_("Not installed: its deliveries are paused."),
    N_("This unsubscribe link is not valid."),
    N_("No such delivery."),
    N_("Unknown setting."),
    N_("Missing data for required field."),
    N_("Not a valid URL."),
    N_("Not a valid integer."),
    N_("Not a valid email address."),
    N_("Not a valid string."),
    # tiers, segments, loyalty (issue 6)
    N_("Define at least one tier."),
    N_("Enter a name of 1-40 characters."),
    N_("Enter a name of 1-60 characters."),
    N_("Enter a name of 1-100 characters."),
    N_("Enter a name of 1-120 characters."),
    N_("Use a colour such as #1a2b3c."),
    N_("Use at most 200 characters."),
    N_("Use at most 500 characters."),
    N_("Use at most 1000 characters."),
    N_("Use at most 2000 characters."),
    N_("This rule matches no one: the tier would stay empty."),
    N_("This rule matches everyone, so the tiers below it could never be "
       "reached. Only the last tier may be a catch-all."),
    N_("Give a list of conditions."),
    N_("Give a name."),
    N_("Unknown field."),
    N_("Unknown key."),
    N_("No such tier."),
    N_("Give a future time with its UTC offset."),
    N_("Enter a date and time."),
    N_("This customer has no manual tier override."),
    N_("No such segment."),
    N_("A segment with this name exists."),
    N_("Already exists."),
    N_("Please correct the loyalty settings."),
    N_("Please correct the reward."),
    N_("Please correct the level."),
    N_("Please correct the adjustment."),
    N_("This field is required."),
    N_("Enter a number."),
    N_("Enter a whole number."),
    N_("Enter a non-zero whole number."),
    N_("Say why (1-200 characters)."),
    N_("Give tier name: multiplier pairs."),
    N_("Give event: points pairs."),
    N_("Give a list of rules."),
    N_("A discount needs a percentage."),
    N_("A reward with this name exists."),
    N_("A level with this name exists."),
    N_("No such reward."),
    N_("This reward is no longer offered."),
    N_("This reward is out of stock."),
    N_("No such membership level."),
    N_("Enter a coupon code."),
    N_("No such coupon."),
    N_("This coupon has expired."),
    N_("This coupon has already been used."),
    N_("Already used."),
    N_("Enter a referral code."),
    N_("Unknown referral code."),
    N_("A customer cannot refer themself."),
    N_("This customer was already referred."),
    N_("Already referred by someone."),
    N_("This would make a referral loop: the code's owner was referred by this customer."),
    N_("Referrals count only before the first order."),
    N_("Could not generate a unique coupon code; try again."),
)


def translate_message(message: str) -> str:
    return gettext(message) if message else message

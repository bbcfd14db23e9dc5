"""Service error messages in the reader's language.

Services speak English (they also serve the API and jobs). The web UI passes their
messages through `translate_message`; the strings below are marked with `N_` so that
`pybabel extract` puts them into the catalogue. A message not listed is shown as is.

Messages that carry values (built with f-strings in the services) are listed as
templates with named placeholders, `N_("Unknown tier '%(name)s'.")`: an incoming message
that matches a template is shown as the template's translation with the values put back.
"""

from __future__ import annotations

import logging
import re
from functools import cache

from flask import has_request_context, request
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
    N_("This segment's rule names a custom field or tier that was deleted or changed; "
       "edit the segment before using it."),
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
    # service desk (saas/services/tickets.py, saas/services/sla.py)
    N_("The ticket is invalid."),
    N_("The ticket is closed; reopen it first."),
    N_("The ticket is closed."),
    N_("Choose a file."),
    N_("The file is empty."),
    N_("This type of file is not allowed (executables and unknown binary files are refused)."),
    N_("No such staff member."),
    N_("Each cause is 1-60 characters."),
    N_("Keep at least one cause."),
    N_("The SLA policy is invalid."),
    N_("Pick at least one weekday (1 = Monday ... 7 = Sunday)."),
    N_("Give an opening and a closing time."),
    N_("Closing time must be after opening time."),
    N_("Use HH:MM."),
    N_("Enter a number of hours greater than 0."),
    N_("Targets are required."),
    N_("The visit plan is invalid."),
    N_("The frequency must be at least every 1 day (zero would mean endless visits)."),
    N_("Enter a whole number of days."),
    N_("No such tier."),
    N_("This tier already has a visit plan."),
    N_("The visit record is invalid."),
    N_("Describe the outcome."),
    N_("Rate the visit from 1 to 5."),
    N_("This visit is not open."),
    N_("The care rule is invalid."),
    N_("Write the message."),
    N_("Give the rule a name (up to 100 characters)."),
    N_("Give the number of days after the order (0-365)."),
    N_("Choose an active coupon or discount from the loyalty catalogue."),
    N_("This name is taken."),
    N_("The quiet hours are invalid."),
    # surveys (public answer page)
    N_("Please answer this question."),
    N_("Choose a score from 0 to 10."),
    N_("Choose a score from 1 to 5."),
    N_("Choose one of the options."),
    N_("Choose among the options."),
    N_("Unknown question."),
    N_("This survey link is not valid."),
    N_("This survey link has expired."),
    N_("This survey was already answered. Thank you!"),
    # campaigns and the survey builder (issue 8)
    N_("Enter a name of 1-200 characters."),
    N_("Choose one of your saved segments."),
    N_("Choose a channel an enabled plugin offers."),
    N_("Use HH:MM (24-hour)."),
    N_("Give both ends of the quiet hours, or neither."),
    N_("Choose one of your surveys."),
    N_("Add at least one variant."),
    N_("Send a list of 1-5 variants."),
    N_("Variant names must differ."),
    N_("Give each variant a share."),
    N_("An email needs a subject."),
    N_("A test on part of the audience needs a metric to pick the winner."),
    N_("Say how long the test runs."),
    N_("Use YYYY-MM-DD HH:MM."),
    N_("The segment is empty: nobody would get this campaign."),
    N_("Paused by staff."),
    N_("Add 1-30 questions."),
    N_("Enter the question (1-500 characters)."),
    N_("Give at least two choices."),
    N_("Question ids must differ."),
    N_("A survey with this name exists."),
    N_("Enter a number from 1 to 365."),
    N_("No such campaign."),
    N_("No such survey."),
    # privacy (issue 11)
    N_("You may not change this field."),
    N_("You may not filter on this field."),
    N_("You may not search by phone."),
    N_("You may not search by email."),
    N_("Please correct the permission changes."),
    N_("Fields you are hiding are used in tier rules or segments; confirm to hide them."),
    N_("Please correct the row scope."),
    N_("Please correct the retention policy."),
    N_("Please correct the consent change."),
    N_("Erase the customer it was merged into."),
    # dashboard (issue 10)
    N_("Check the dashboard filters."),
    N_("Enter a date as YYYY-MM-DD."),
    N_("Choose one of: auto, day, week, month."),
    N_("The end date must not be before the start date."),
    N_("Choose a range of at most five years."),
    N_("Use at most 100 characters."),
    N_("No such dashboard figure."),
    N_("Choose a field that can be masked."),
    N_("You may not see this field."),
    N_("This field cannot be masked."),
    N_("The end is before the start."),
    N_("Choose at most 366 days."),
    N_("Choose 7 to 730 days."),
    N_("The date plus the horizon must be in the past."),
    N_("Only managers can see other people's customers."),
    N_("You can only see your own figures."),
    # holiday calendar, visit purchase effect, ticket analysis (issue 7)
    N_("Give the holiday a name (up to 100 characters)."),
    N_("A holiday lasts at most 31 days."),
    N_("Use a date between 2000 and 2100."),
    N_("This holiday is already in the calendar for these dates."),
    N_("Give true or false."),
    N_("Holidays are kept in the holiday calendar; edit them there."),
    N_("The holiday is invalid."),
    N_("No such holiday."),
    N_("Give a number of days from 1 to 365."),
    N_("The report period is invalid."),
    N_("Choose month or week."),
    N_("A calendar holds at most 200 holidays; remove past ones first."),
    # parametrised service messages (matched by translate_message; values kept as is)
    N_("%(field)s: %(message)s"),
    N_("The rule has errors (%(field)s: %(message)s)"),
    N_("The tiers have errors (%(field)s: %(message)s)"),
    N_("The segment has errors (%(field)s: %(message)s)"),
    N_("The campaign has errors (%(field)s: %(message)s)"),
    N_("The survey has errors (%(field)s: %(message)s)"),
    N_("The %(plan)s plan allows %(cap)s %(label)s; %(used)s in use, %(adding)s more "
       "requested. Upgrade to %(upgrade)s to raise this limit."),
    N_("The %(plan)s plan allows %(cap)s %(label)s; %(used)s in use, %(adding)s more "
       "requested. Remove some first or contact us for a larger plan."),
    N_("Your usage exceeds the %(plan)s plan: %(over)s. Reduce it first."),
    N_("The payment provider refused or could not be reached (%(what)s): %(detail)s"),
    N_("Choose one of: %(choices)s."),
    N_("Choose from: %(choices)s."),
    N_("Use one of: %(choices)s."),
    N_("Choose a channel from: %(choices)s."),
    N_("Use %(low)s-%(high)s."),
    N_("Enter a number from %(low)s to %(high)s."),
    N_("Choose a score from %(low)s to %(high)s."),
    N_("Use at most %(max)s characters."),
    N_("Use at least %(min)s characters."),
    N_("Custom field '%(key)s' does not exist (was it deleted?)."),
    N_("Unknown field '%(name)s'."),
    N_("Unknown measure '%(name)s'."),
    N_("Unknown tier '%(name)s'."),
    N_("'%(op)s' takes no value."),
    N_("'%(name)s' is a %(type)s field: %(message)s"),
    N_("Give a list of 1-%(max)s values."),
    N_("Choose an operator: %(ops)s."),
    N_("%(label)s can be compared with %(ops)s — not %(op)s."),
    N_("Give a list of tiers from: %(choices)s."),
    N_("Nest groups at most %(max)s deep."),
    N_("Use at most %(max)s conditions."),
    N_("Use at most %(max)s tiers."),
    N_("Tier %(number)s has this name already."),
    N_("Same rule as tier %(number)s: the two tiers overlap completely and this one "
       "would stay empty."),
    N_("'%(value)s' is not a valid phone number."),
    N_("'%(value)s' is not a valid email address."),
    N_("Give at most %(max)s phone numbers."),
    N_("Give at most %(max)s email addresses."),
    N_("Each tag is 1-%(max)s characters."),
    N_("Use at most %(max)s tags."),
    N_("'%(value)s' matches %(count)s customers."),
    N_("%(name)s was already merged into another customer."),
    N_("Each category is 1-60 characters."),
    N_("Keep at least one category."),
    N_("Not enough points: the balance is %(balance)s."),
    N_("Enter a non-zero whole number up to %(max)s."),
    N_("You may not see %(field)s."),
    N_("You may not change %(field)s."),
    N_("You may not use: %(fields)s."),
    N_("You may not change: %(fields)s."),
    N_("You may not filter on: %(fields)s."),
    N_("This matches a customer outside your row scope."),
    N_("Used in %(where)s '%(name)s'."),
    N_("Tier rules or segments use this field; rules cannot read an encrypted value, so "
       "change them before marking it sensitive."),
    N_("Custom field '%(name)s' is sensitive (encrypted at rest): rules cannot read its "
       "values; filter the customer list by its exact value instead."),
    N_("Row %(row)s of this file has the same value; only that row was imported."),
    N_("Row %(row)s of this file already updates the same customer; only that row was "
       "imported."),
    N_("This matches %(count)s customers."),
    N_("This row has more cells than the header has columns (%(width)s)."),
    N_("Same as row %(row)s; skipped."),
    N_("Use at most %(max)s columns."),
    N_("Column %(index)s has no name in the header row."),
    N_("The first row looks like data ('%(name)s'), not column names: add a header row."),
    N_("Column names must be unique: '%(name)s' appears twice."),
    N_("Row %(row)s cannot be read: %(error)s."),
    N_("Row %(row)s is not valid text in the file's encoding; save the file as CSV UTF-8."),
    N_("This row is not valid %(encoding)s text (byte %(byte)s at position %(position)s); "
       "save the file in one encoding."),
    N_("This row is UTF-8 text in a file read as GBK; save the file in one encoding."),
    N_("A quote in this row is never closed; the rows after it were read on their own."),
    N_("This row cannot be read: %(error)s."),
    N_("Row 1 (the header): %(message)s"),
    N_("'%(column)s' is already mapped to %(target)s."),
    N_("Map a column to %(target)s."),
    N_("A %(status)s ticket cannot become %(new)s."),
    N_("Allowed next: %(choices)s."),
    N_("The file is larger than %(max)s MB."),
    N_("The visit is %(status)s."),
    N_("Use at most %(max)s days."),
    N_("Give a number of days from 1 to %(max)s."),
    N_("A holiday lasts at most %(max)s days."),
    N_("A calendar holds at most %(max)s holidays; remove past ones first."),
    N_("A %(status)s campaign cannot be edited."),
    N_("A %(status)s campaign cannot be launched again."),
    N_("A %(status)s campaign cannot be paused."),
    N_("A %(status)s campaign cannot be resumed."),
    N_("A %(status)s campaign cannot be cancelled."),
    N_("No enabled plugin offers the %(channel)s channel any more."),
    N_("No enabled plugin offers the %(channel)s channel: enable it first."),
    N_("No enabled plugin offers the %(channel)s channel."),
    N_("The %(channel)s channel plugin was disabled."),
    N_("The shares add up to %(total)s%%; at most 100%%."),
    N_("Template error on line %(line)s: %(error)s"),
    N_("Line %(line)s: %(error)s"),
    N_("Unknown variable: %(name)s (available: %(names)s)."),
    N_("Unknown variable: %(name)s"),
    N_("Not allowed: %(error)s"),
    N_("An order that is %(status)s cannot become %(new)s."),
    N_("Not allowed from %(status)s."),
    N_("The product is priced in %(currency)s; give a price in %(other)s."),
    N_("Use at most %(max)s lines."),
    N_("Enter 1-%(max)s months, or leave empty to keep all."),
    N_("Unknown priority: %(name)s."),
    N_("No plugin named %(name)s."),
    N_("No plugin named %(name)s is installed."),
    N_("Plugin %(name)s has no settings."),
    N_("Plugin %(name)s is not enabled."),
    N_("The settings of plugin %(name)s are incomplete or invalid."),
    N_("The settings of plugin %(name)s are invalid."),
    N_("The customer withdrew consent for %(channel)s."),
    N_("A %(status)s delivery cannot be retried."),
    N_("No such customer."), N_("No such contact."), N_("No such order."),
    N_("No such product."), N_("No such level."), N_("No such care rule."),
    N_("No such visit plan."), N_("No such import."), N_("No such interaction."),
    N_("No such attachment."), N_("No such staff."),
)

# Words that appear as values inside the messages above (plan names, plan-limit labels,
# statuses): translated only under the placeholders in `_WORD_PLACEHOLDERS`, so that a
# custom field called "new" or a tag "open" is never translated by accident.
VALUE_WORDS = (
    N_("Free"), N_("Pro"), N_("Enterprise"),
    N_("staff seats"), N_("customers"), N_("channel messages per month"),
    N_("enabled plugins"), N_("API calls per minute"),
    N_("draft"), N_("scheduled"), N_("running"), N_("paused"), N_("completed"),
    N_("cancelled"), N_("new"), N_("open"), N_("pending_customer"), N_("resolved"),
    N_("closed"), N_("reopened"), N_("placed"), N_("paid"), N_("shipped"), N_("refunded"),
    N_("planned"), N_("done"), N_("pending"), N_("succeeded"), N_("failed"), N_("dead"),
)

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
# Captured values under these names are whole messages themselves (a field error wrapped
# as "field: message"), so they are translated like any message, not only exact words.
_NESTED = frozenset({"message"})
_WORD_PLACEHOLDERS = frozenset({"plan", "upgrade", "label", "status", "new"})
_MAX_DEPTH = 3
log = logging.getLogger(__name__)


def _pattern(template: str) -> re.Pattern[str]:
    """An anchored regex for `template`: literal text escaped, each `%(name)s` a lazy
    named group, `%%` a literal percent sign."""
    parts, pos = [], 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[pos:match.start()]))
        parts.append(f"(?P<{match.group(1)}>.+?)" if match.group(1) else "%")
        pos = match.end()
    parts.append(re.escape(template[pos:]))
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


@cache
def _catalogue() -> tuple[frozenset[str], frozenset[str],
                          tuple[tuple[re.Pattern[str], str, bool], ...]]:
    """Plain msgids (the fast path), value words and the templates, compiled once and
    ordered so that
    the one with the most literal text wins when several would match. A template without
    words of its own ("%(field)s: %(message)s") is a mere wrapper (flag True)."""
    templates = {m for m in KNOWN if _PLACEHOLDER.search(m)}
    plain = frozenset(m for m in KNOWN if m not in templates)
    ordered = sorted(templates, key=lambda t: (-len(_PLACEHOLDER.sub("", t)), t))
    compiled = tuple((_pattern(t), t, not any(c.isalpha() for c in _PLACEHOLDER.sub("", t)))
                     for t in ordered)
    return plain, frozenset(VALUE_WORDS), compiled


def _is_api_request() -> bool:
    return has_request_context() and request.path.startswith("/api/")


def _translate(message: str, depth: int) -> str:
    plain, words, templates = _catalogue()
    if message in plain:
        return gettext(message)
    for pattern, template, wrapper in templates:
        match = pattern.match(message)
        if match is None:
            continue
        values, inner_translated = {}, False
        for name, value in match.groupdict().items():
            if name in _NESTED and depth < _MAX_DEPTH:
                values[name] = _translate(value, depth + 1)
            elif name in _WORD_PLACEHOLDERS and value in words:
                values[name] = gettext(value)
            else:
                values[name] = value
            inner_translated |= name in _NESTED and values[name] != value
        if wrapper and not inner_translated:
            continue  # nothing inside was ours: leave an unknown "x: y" message alone
        try:
            return gettext(template) % values
        except (KeyError, ValueError, TypeError):
            # A translation with a wrong placeholder: English beats a crashed page.
            log.error("bad translation of %r", template)
            return message
    return gettext(message)


def translate_message(message: str) -> str:
    """A service message in the reader's language.

    Exact msgids are looked up directly; a message built from a registered template
    (`N_("Custom field '%(key)s' does not exist ...")`) is matched against it, the
    template translated and the captured values put back. API answers stay English.
    """
    if not message or _is_api_request():
        return message
    return _translate(message, 0)

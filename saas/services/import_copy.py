"""The PostgreSQL fast path of a customer import: validate in Python, `COPY` the clean
rows into a temporary staging table, then match, insert and update set-based.

Each row is checked with the customer service's own field rules (same messages as the
API), with the tenant's categories and custom field definitions loaded once instead of
per row. Matching follows `customer_upsert.match`: external id, then each email, then each
phone, ignoring merged customers; more than one candidate is an error for that row. The
whole chunk is written with a handful of statements.

Events are per customer, as the customer service emits them: `customer.created` for each
new customer and `customer.updated` (payload `{"changed": [field names]}`) for each
matched customer whose stored values the row changes; a row that changes nothing emits
nothing. They are inserted with `INSERT ... SELECT` from the staging table in the same
transaction, with ids in file order from one `outbox.EventIds` range per chunk, and the
chunk's range is handed to one `deliver_batch` job after commit. Audit stays one entry per
chunk (`customers.imported`, with the counts and row range): per-row audit entries would
double the rows an import writes.

Personal fields are encrypted in Python before the COPY (phones, emails, WeChat id,
address as Fernet tokens) and phones/emails travel as their blind indexes, so neither
the staging tables nor the customer tables ever hold them in plain text; matching joins
`customer_lookups` on the blind index.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import phonenumbers
from sqlalchemy import text
from sqlalchemy.orm import Session

from saas.crypto import batch_encryptor, decrypt, indexer, join_list
from saas.models.base import new_id
from saas.models.customers import address_key
from saas.services import audit, custom_fields, customers, outbox
from saas.services.errors import InvalidInput, ServiceError
from saas.services.identifiers import normalise_phone
from saas.services.import_rows import RowApplier, limit_message

TEXT = ("name", "wechat_id", "address", "industry", "company_size", "department",
        "source_channel", "notes", "external_id")
SECRET = ("wechat_id", "address")
CHOICE = ("kind", "purchasing_power", "category", "lifecycle_stage")
JSON_LISTS = ("phones", "emails", "tags")
STAGE_COLUMNS = ("row_number", "id", *TEXT, *CHOICE, *JSON_LISTS, "birthday",
                 "custom_fields", "missing", "phone", "email", "address_index")
SAME = -1  # `_secrets`: the single phone/email is staged as "=", the token of the list
_BLIND = re.compile(r"\b[0-9a-f]{64}\b")
_SPECIAL = re.compile(r"[\\\t\n\r]")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_CN = phonenumbers.PhoneMetadata.metadata_for_region("CN")
_CN_MOBILE = re.compile(_CN.mobile.national_number_pattern)
_CN_GENERAL = re.compile(_CN.general_desc.national_number_pattern)
_ELEVEN = re.compile(r"(?:\+86)?(1\d{10})")


def fast_phone(raw: str) -> str | None:
    """`identifiers.normalise_phone` with a shortcut for the commonest input, a mainland
    mobile written as 11 digits (optionally after +86): the same libphonenumber metadata
    decides it without a full parse. Anything else goes through the full parse."""
    match = _ELEVEN.fullmatch(raw.strip())
    if match and _CN_MOBILE.fullmatch(match[1]) and _CN_GENERAL.fullmatch(match[1]):
        return "+86" + match[1]
    return normalise_phone(raw)


def _phones(value: Any, errors: dict[str, list[str]]) -> list[str]:
    """`customers._phones` (same messages, order and limit) with `fast_phone`."""
    result: list[str] = []
    for raw in customers._as_list(value):
        normal = fast_phone(raw) if isinstance(raw, str) else None
        if normal is None:
            errors.setdefault("phones", []).append(f"'{raw}' is not a valid phone number.")
        elif normal not in result:
            result.append(normal)
    if len(result) > customers.MAX_CONTACT_POINTS:
        errors["phones"] = [f"Give at most {customers.MAX_CONTACT_POINTS} phone numbers."]
    return result


class CustomerCleaner:
    """`customers.clean` for the fields present in a row, without a query per row."""

    def __init__(self, session: Session):
        tenant = customers.bound_tenant(session)
        self.categories = customers.categories(tenant)
        # Plain copies: ORM rows expire at each commit, and `clean` runs in a thread.
        self.definitions = {d.key: SimpleNamespace(key=d.key, type=d.type,
                                                   choices=list(d.choices or []),
                                                   required=d.required)
                            for d in custom_fields.list_definitions(session)}
        self.required = [k for k, d in self.definitions.items() if d.required]

    def clean(self, data: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {}
        for name, raw in data.items():
            if name in customers.TEXT_LIMITS:
                values[name] = customers._text(data, name, errors)
            elif name == "phones":
                values[name] = _phones(raw, errors)
            elif name == "emails":
                values[name] = customers._emails(raw, errors)
            elif name == "tags":
                values[name] = customers._tags(raw, errors)
            elif name == "birthday":
                values[name] = customers._birthday(raw, errors)
            elif name == "kind":
                values[name] = customers._choice(data, name, customers.CUSTOMER_KINDS, errors)
            elif name == "purchasing_power":
                values[name] = customers._choice(data, name, customers.PURCHASING_POWER,
                                                 errors)
            elif name == "lifecycle_stage":
                values[name] = customers._choice(data, name, customers.LIFECYCLE_STAGES,
                                                 errors)
            elif name == "category":
                values[name] = customers._choice(data, name, self.categories, errors)
            elif name == "custom_fields":
                values[name] = self._custom(raw, errors)
        if errors:
            raise InvalidInput("Please correct the customer's details.", errors)
        return values

    def _custom(self, raw: Mapping[str, Any], errors: dict[str, list[str]]) -> dict:
        result = {}
        for key, value in raw.items():
            definition = self.definitions.get(key)
            if definition is None:
                errors[f"custom_fields.{key}"] = ["Unknown custom field."]
                continue
            try:
                result[key] = custom_fields.coerce_value(definition, value)
            except ValueError as exc:
                errors[f"custom_fields.{key}"] = [str(exc)]
        return result

    def missing(self, values: Mapping[str, Any]) -> list[str]:
        """Required custom fields a new customer made from this row would lack."""
        given = values.get("custom_fields") or {}
        return [k for k in self.required if k not in given]


def clean_keys(clean: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`customer_keys` of an already cleaned row (phones and emails are normalised)."""
    pairs = [("external_id", clean["external_id"])] if clean.get("external_id") else []
    pairs += [("emails", v) for v in clean.get("emails") or ()]
    pairs += [("phones", v) for v in clean.get("phones") or ()]
    return pairs


def _secrets(clean: Mapping[str, Any], texts: list[str]) -> dict[str, int]:
    """Queue a row's personal values for encryption (appended to `texts`); the result
    maps each staged column to its text's position. `phone` shares the token of `phones`
    when there is one phone (an `EncryptedList` of one item is that item's token), staged
    as `SAME` rather than copied; the same for email. Fewer and shorter tokens: Fernet
    and the width of the staged rows are what encryption adds to an import."""
    slots: dict[str, int] = {}
    for name in SECRET:
        if clean.get(name):
            slots[name] = len(texts)
            texts.append(clean[name])
    for single, column in (("phone", "phones"), ("email", "emails")):
        if column not in clean:
            continue
        items = clean[column]
        slots[column] = len(texts)
        texts.append(join_list(items))
        if len(items) == 1:
            slots[single] = SAME
        elif items:
            slots[single] = len(texts)
            texts.append(items[0])
    return slots


def _compared(clean: Mapping[str, Any]) -> dict[str, Any]:
    """What `_differences` needs of a row, if anything: its WeChat id, and its phones and
    emails when one of them lists several items."""
    compare: dict[str, Any] = {}
    if clean.get("wechat_id"):
        compare["wechat_id"] = clean["wechat_id"]
    if any(len(clean.get(c) or ()) > 1 for c in ("phones", "emails")):
        compare["exact"] = True
        compare.update({c: list(clean[c]) for c in ("phones", "emails") if c in clean})
    return compare


def _decrypt_list(token: str | None) -> list[str]:
    text = decrypt(token) if token is not None else ""
    return text.split("\n") if text else []


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False)
    value = str(value)
    # `translate` looks up every character in Python; most values (all the Fernet tokens
    # and blind indexes) have nothing to escape, which one regex search in C tells.
    return value.translate(_ESCAPES) if _SPECIAL.search(value) else value


STAGE_DDL = """
CREATE TEMP TABLE import_stage (
    row_number integer PRIMARY KEY, id uuid NOT NULL,
    name text, wechat_id text, address text, industry text, company_size text,
    department text, source_channel text, notes text, external_id text,
    kind text, purchasing_power text, category text, lifecycle_stage text,
    phones text, emails text, tags jsonb, birthday date, custom_fields jsonb,
    missing text, phone text, email text, address_index text,  -- phone/email '=': as the list
    match_id uuid, error text, error_key text, changed text[]
) ON COMMIT DROP
"""

KEYS_DDL = """
CREATE TEMP TABLE import_keys (
    row_number integer NOT NULL, ord integer NOT NULL, kind text NOT NULL,
    value text NOT NULL, id uuid NOT NULL
) ON COMMIT DROP
"""

_MATCH_LOOKUP = """
WITH hits AS (
    SELECT k.row_number, k.ord, k.value, count(DISTINCT l.customer_id) AS n,
           min(l.customer_id::text) AS cid
    FROM import_keys k
    JOIN import_stage s ON s.row_number = k.row_number
    JOIN customer_lookups l ON l.tenant_id = (SELECT CAST(:t AS uuid)) AND l.kind = k.kind
         AND l.value = k.value
    JOIN customers c ON c.tenant_id = l.tenant_id AND c.id = l.customer_id
    WHERE k.kind = :kind AND s.match_id IS NULL AND s.error IS NULL
      AND c.merged_into_id IS NULL
    GROUP BY k.row_number, k.ord, k.value
), first AS (
    SELECT DISTINCT ON (row_number) * FROM hits ORDER BY row_number, ord
)
UPDATE import_stage s
SET match_id = CASE WHEN f.n = 1 THEN f.cid::uuid END,
    error = CASE WHEN f.n > 1 THEN format('''%s'' matches %s customers.', f.value, f.n) END,
    error_key = CASE WHEN f.n > 1 THEN :column END
FROM first f WHERE s.row_number = f.row_number
"""

_ANY_LOOKUP = """SELECT EXISTS (SELECT 1 FROM customer_lookups
                     WHERE tenant_id = CAST(:t AS uuid) AND kind = :kind)"""

_SAME_CUSTOMER = """
UPDATE import_stage s SET error = format('Row %s of this file already updates the same '
    'customer; only that row was imported.', d.first_row), error_key = 'name'
FROM (SELECT row_number, min(row_number) OVER (PARTITION BY match_id) AS first_row
      FROM import_stage WHERE match_id IS NOT NULL AND error IS NULL) d
WHERE s.row_number = d.row_number AND d.first_row <> d.row_number
"""

_INSERT = """
INSERT INTO customers (tenant_id, id, created_at, updated_at, kind, name, phone, email,
    phones, emails, wechat_id, address, address_index, industry, company_size,
    purchasing_power, category, department, tags, birthday, source_channel, lifecycle_stage,
    consent, custom_fields, notes, external_id)
SELECT :t, s.id, now(), now(), coalesce(s.kind, 'person'), s.name,
    CASE s.phone WHEN '=' THEN s.phones ELSE s.phone END,
    CASE s.email WHEN '=' THEN s.emails ELSE s.email END, coalesce(s.phones, :empty),
    coalesce(s.emails, :empty), s.wechat_id, s.address,
    s.address_index, s.industry, s.company_size, s.purchasing_power, s.category, s.department,
    coalesce(s.tags, '[]'), s.birthday, s.source_channel, coalesce(s.lifecycle_stage, 'lead'),
    '{}', coalesce(s.custom_fields, '{}'), s.notes, s.external_id
FROM import_stage s WHERE s.match_id IS NULL AND s.error IS NULL
ORDER BY s.row_number
"""

_UPDATE = """
UPDATE customers c SET
    updated_at = now(),
    kind = coalesce(s.kind, c.kind), name = coalesce(s.name, c.name),
    phones = coalesce(s.phones, c.phones), emails = coalesce(s.emails, c.emails),
    phone = CASE WHEN s.phones IS NULL THEN c.phone WHEN s.phone = '=' THEN s.phones
                 ELSE s.phone END,
    email = CASE WHEN s.emails IS NULL THEN c.email WHEN s.email = '=' THEN s.emails
                 ELSE s.email END,
    wechat_id = coalesce(s.wechat_id, c.wechat_id), address = coalesce(s.address, c.address),
    address_index = CASE WHEN s.address IS NULL THEN c.address_index ELSE s.address_index END,
    industry = coalesce(s.industry, c.industry),
    company_size = coalesce(s.company_size, c.company_size),
    purchasing_power = coalesce(s.purchasing_power, c.purchasing_power),
    category = coalesce(s.category, c.category),
    department = coalesce(s.department, c.department), tags = coalesce(s.tags, c.tags),
    birthday = coalesce(s.birthday, c.birthday),
    source_channel = coalesce(s.source_channel, c.source_channel),
    lifecycle_stage = coalesce(s.lifecycle_stage, c.lifecycle_stage),
    custom_fields = c.custom_fields || coalesce(s.custom_fields, '{}'),
    notes = coalesce(s.notes, c.notes), external_id = coalesce(s.external_id, c.external_id)
FROM import_stage s
WHERE c.tenant_id = (SELECT CAST(:t AS uuid)) AND c.id = s.match_id
  AND s.match_id IS NOT NULL AND s.error IS NULL
"""

_NEW_LOOKUPS = """
INSERT INTO customer_lookups (tenant_id, id, created_at, customer_id, kind, value)
SELECT :t, k.id, now(), s.id, k.kind, k.value
FROM import_keys k JOIN import_stage s ON s.row_number = k.row_number
WHERE s.match_id IS NULL AND s.error IS NULL AND k.kind IN ('phone', 'email')
"""

# The fields a matched row changes, in the service's sorted order. Phones and emails are
# compared as sets of blind indexes, the address by its blind index (so a change of case
# or spacing only is not reported); lists of several items (where order matters) and the
# WeChat id, which has no blind index, are decided in Python and passed in as row numbers.
_KEYS_CHANGED = """CASE WHEN s.{column} IS NOT NULL AND CASE WHEN s.row_number = ANY(:exact)
    THEN s.row_number = ANY(:{column}_differ)
    ELSE ARRAY(SELECT k.value FROM import_keys k WHERE k.row_number = s.row_number
               AND k.kind = '{kind}' ORDER BY k.value)
      IS DISTINCT FROM ARRAY(SELECT l.value::text FROM customer_lookups l
               WHERE l.tenant_id = c.tenant_id AND l.customer_id = c.id AND l.kind = '{kind}'
               ORDER BY l.value) END THEN '{column}' END"""


def _plain_changed(column: str, new: str = "") -> str:
    new = new or f"s.{column}"
    return (f"CASE WHEN s.{column} IS NOT NULL AND {new} IS DISTINCT FROM c.{column} "
            f"THEN '{column}' END")


_CHANGES = f"""
UPDATE import_stage s SET changed = array_remove(ARRAY[
    CASE WHEN s.address IS NOT NULL AND s.address_index IS DISTINCT FROM c.address_index
        THEN 'address' END,
    {_plain_changed("birthday")}, {_plain_changed("category")},
    {_plain_changed("company_size")},
    {_plain_changed("custom_fields", "c.custom_fields || s.custom_fields")},
    {_plain_changed("department")},
    {_KEYS_CHANGED.format(column="emails", kind="email")},
    {_plain_changed("external_id")}, {_plain_changed("industry")}, {_plain_changed("kind")},
    {_plain_changed("lifecycle_stage")}, {_plain_changed("name")}, {_plain_changed("notes")},
    {_KEYS_CHANGED.format(column="phones", kind="phone")},
    {_plain_changed("purchasing_power")}, {_plain_changed("source_channel")},
    {_plain_changed("tags")},
    CASE WHEN s.wechat_id IS NOT NULL AND (c.wechat_id IS NULL
        OR s.row_number = ANY(:wechat_id_differ)) THEN 'wechat_id' END
]::text[], NULL)
FROM customers c
WHERE c.tenant_id = (SELECT CAST(:t AS uuid)) AND c.id = s.match_id
  AND s.match_id IS NOT NULL AND s.error IS NULL
"""

_STORED_SECRETS = """
SELECT s.row_number, c.wechat_id, c.phones, c.emails
FROM import_stage s JOIN customers c
  ON c.tenant_id = (SELECT CAST(:t AS uuid)) AND c.id = s.match_id
WHERE s.match_id IS NOT NULL AND s.error IS NULL AND s.row_number = ANY(:rows)
"""

_EVENT_COLUMNS = ("INSERT INTO outbox_events (tenant_id, id, created_at, name, entity_type, "
                  "entity_id, payload, status, attempts)")

_CREATED_EVENTS = """{insert}
SELECT :t, {event_id}, now(), 'customer.created', 'customer', s.id::text,
    jsonb_build_object('kind', coalesce(s.kind, 'person'), 'category', s.category,
                       'owner_id', NULL, 'lifecycle_stage', coalesce(s.lifecycle_stage, 'lead')),
    'pending', 0
FROM import_stage s WHERE s.match_id IS NULL AND s.error IS NULL
"""

_UPDATED_EVENTS = """{insert}
SELECT :t, {event_id}, now(), 'customer.updated', 'customer', s.match_id::text,
    jsonb_build_object('changed', to_jsonb(s.changed)), 'pending', 0
FROM import_stage s
WHERE s.match_id IS NOT NULL AND s.error IS NULL AND cardinality(s.changed) > 0
"""

# Statistics only for the columns the planner filters or joins on: sampling the long
# ciphertext columns would cost more than the whole ANALYZE used to.
_ANALYZE_STAGE = ("ANALYZE import_stage (row_number, id, external_id, name, missing, "
                  "match_id, error)")

_OLD_LOOKUPS = """
DELETE FROM customer_lookups l USING import_stage s
WHERE l.tenant_id = (SELECT CAST(:t AS uuid)) AND l.customer_id = s.match_id
  AND s.match_id IS NOT NULL AND s.error IS NULL
  AND ((l.kind = 'phone' AND s.phones IS NOT NULL) OR (l.kind = 'email' AND s.emails IS NOT NULL))
"""

_UPDATED_LOOKUPS = """
INSERT INTO customer_lookups (tenant_id, id, created_at, customer_id, kind, value)
SELECT :t, k.id, now(), s.match_id, k.kind, k.value
FROM import_keys k JOIN import_stage s ON s.row_number = k.row_number
WHERE s.match_id IS NOT NULL AND s.error IS NULL
  AND ((k.kind = 'phone' AND s.phones IS NOT NULL) OR (k.kind = 'email' AND s.emails IS NOT NULL))
"""


@dataclass
class Prepared:
    lines: list[str]
    key_lines: list[str]
    cells_of: dict[int, list[str]]
    failures: list[tuple[int, list[str], ServiceError]]
    plain_of: dict[str, str]
    # Plain values a re-import compares with decrypted stored ones (see `_CHANGES`).
    compare_of: dict[int, dict[str, Any]] = field(default_factory=dict)


class CopyCustomerRows(RowApplier):
    """Customer rows on PostgreSQL: the same outcomes as `CustomerRows`, set-based."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.cleaner = CustomerCleaner(self.session)
        # Bound here, in the app context: `prepare` runs in a worker thread.
        self.encrypt_all, self.index = batch_encryptor(), indexer()
        [self.empty] = self.encrypt_all([""])

    def apply(self, rows: Sequence[tuple[int, list[str], dict[str, str]]]) -> None:
        self.apply_prepared(self.prepare(rows))

    def prepare(self, rows: Sequence[tuple[int, list[str], dict[str, str]]]) -> Prepared:
        """The CPU half: validate, encrypt and format rows for COPY. Touches neither the
        session nor the tally, so it can run in a thread while the previous batch is
        written."""
        failures: list[tuple[int, list[str], ServiceError]] = []
        cells_of: dict[int, list[str]] = {}
        key_lines: list[str] = []
        plain_of: dict[str, str] = {}
        compare_of: dict[int, dict[str, Any]] = {}
        index = self.index
        accepted: list[tuple[int, dict[str, Any], list[str], dict[str, int]]] = []
        texts: list[str] = []
        for number, cells, values in rows:
            try:
                data = self.mapper.customer_data(values)
                clean = self.cleaner.clean(data)
                keys = clean_keys(clean)
                self.check_keys(number, keys)
            except ServiceError as exc:
                failures.append((number, cells, exc))
                continue
            self.remember_keys(number, keys)
            cells_of[number] = cells
            compare = _compared(clean)
            if compare:
                compare_of[number] = compare
            accepted.append((number, clean, self.cleaner.missing(clean),
                             _secrets(clean, texts)))
            for kind, column in (("email", "emails"), ("phone", "phones")):
                for ord_, value in enumerate(clean.get(column) or ()):
                    blind = index(value)
                    plain_of[blind] = value
                    key_lines.append(f"{number}\t{ord_}\t{kind}\t{blind}\t{new_id()}")
        tokens = self.encrypt_all(texts)
        lines = []
        for number, clean, missing, slots in accepted:
            sealed = {**clean, **{name: "=" if i == SAME else tokens[i]
                                  for name, i in slots.items()}}
            if "address" in clean:
                sealed["address_index"] = address_key(clean["address"], index)
            record = [number, new_id(), *(sealed.get(c) for c in STAGE_COLUMNS[2:-4]),
                      ",".join(missing) or None, sealed.get("phone"), sealed.get("email"),
                      sealed.get("address_index")]
            lines.append("\t".join(["\\N" if v is None else _copy_text(v) for v in record]))
        return Prepared(lines, key_lines, cells_of, failures, plain_of, compare_of)

    def apply_prepared(self, prepared: Prepared) -> None:
        """The database half: report the rows that failed validation, stage, write."""
        for number, cells, exc in prepared.failures:
            self.fail(number, cells, exc)
        if prepared.lines:
            self._stage(prepared.lines, prepared.key_lines)
            self._write(prepared.cells_of, prepared.plain_of, prepared.compare_of)

    def _stage(self, lines: list[str], key_lines: list[str]) -> None:
        """COPY the clean rows, and their phones/emails one per row (for matching and
        the new lookup rows), into temporary tables; ANALYZE gives the planner their
        real size."""
        for table, ddl in (("import_stage", STAGE_DDL), ("import_keys", KEYS_DDL)):
            self.session.execute(text(f"DROP TABLE IF EXISTS {table}"))
            self.session.execute(text(ddl))
        raw = self.session.connection().connection.driver_connection
        for table, columns, rows in (
                ("import_stage", STAGE_COLUMNS, lines),
                ("import_keys", ("row_number", "ord", "kind", "value", "id"), key_lines)):
            with raw.cursor() as cur, cur.copy(
                    f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for start in range(0, len(rows), 2000):
                    copy.write("\n".join(rows[start:start + 2000]) + "\n")
        self.session.execute(text(_ANALYZE_STAGE))
        self.session.execute(text("ANALYZE import_keys"))

    def _write(self, cells_of: dict[int, list[str]], plain_of: dict[str, str],
               compare_of: dict[int, dict[str, Any]]) -> None:
        s, t = self.session, {"t": self.job.tenant_id}
        ids = outbox.EventIds.new()
        # Statistics are usually stale during an import (the tenant's new customers did not
        # exist at the last ANALYZE): the planner then expects one row per tenant and
        # nests loops the wrong way round. The tenant id is given as `(SELECT ...)` so it
        # is estimated generically, and hash/merge joins are off for this batch: every
        # join below is an index probe driven by the (bounded, analysed) staging tables.
        s.execute(text("SET LOCAL enable_hashjoin = off"))
        s.execute(text("SET LOCAL enable_mergejoin = off"))
        s.execute(text("""UPDATE import_stage s SET match_id = (
                              SELECT c.id FROM customers c WHERE c.tenant_id = CAST(:t AS uuid)
                              AND c.external_id = s.external_id)
                          WHERE s.external_id IS NOT NULL"""), t)
        for column, kind in (("emails", "email"), ("phones", "phone")):
            # A tenant with no lookup row of this kind yet (a first import) has nothing to
            # match: skip probing the index once per staged key.
            if not s.scalar(text(_ANY_LOOKUP), {**t, "kind": kind}):
                continue
            s.execute(text(_MATCH_LOOKUP.format(column=column)),
                      {**t, "kind": kind, "column": column})
        s.execute(text(_SAME_CUSTOMER))
        s.execute(text("""UPDATE import_stage SET error = 'This field is required.',
                          error_key = 'name'
                          WHERE match_id IS NULL AND error IS NULL AND name IS NULL"""))
        s.execute(text("""UPDATE import_stage SET error = 'This field is required.',
                          error_key = 'custom_fields.' || split_part(missing, ',', 1)
                          WHERE match_id IS NULL AND error IS NULL AND missing IS NOT NULL"""))
        if self.headroom is not None:
            room = max(self.headroom - self.tally.created, 0)
            new = s.scalar(text("SELECT count(*) FROM import_stage "
                                "WHERE match_id IS NULL AND error IS NULL"))
            if new > room:
                s.execute(text("""UPDATE import_stage SET error = :msg, error_key = '_row'
                    WHERE row_number IN (SELECT row_number FROM import_stage
                      WHERE match_id IS NULL AND error IS NULL ORDER BY row_number
                      OFFSET :room)"""),
                          {"msg": limit_message(s, new - room), "room": room})
        created = s.execute(text(_INSERT), {**t, "empty": self.empty}).rowcount
        s.execute(text(_NEW_LOOKUPS), t)
        event_id = ids.sql("s.row_number")
        if created:
            s.execute(text(_CREATED_EVENTS.format(insert=_EVENT_COLUMNS, event_id=event_id)),
                      {**t, **ids.params()})
        updated = 0
        if s.scalar(text("SELECT count(*) FROM import_stage "
                         "WHERE match_id IS NOT NULL AND error IS NULL")):
            # Matching changed the staging rows: fresh statistics keep the planner from
            # joining every staged row with every customer of the tenant.
            s.execute(text(_ANALYZE_STAGE))
            s.execute(text("CREATE INDEX ON import_keys (row_number)"))
            s.execute(text(_CHANGES), {**t, **self._differences(compare_of)})
            s.execute(text(_UPDATED_EVENTS.format(insert=_EVENT_COLUMNS, event_id=event_id)),
                      {**t, **ids.params()})
            updated = s.execute(text(_UPDATE), t).rowcount
            s.execute(text(_OLD_LOOKUPS), t)
            s.execute(text(_UPDATED_LOOKUPS), t)
        s.execute(text("RESET enable_hashjoin"))
        s.execute(text("RESET enable_mergejoin"))
        for number, key, message in s.execute(text(
                "SELECT row_number, error_key, error FROM import_stage "
                "WHERE error IS NOT NULL ORDER BY row_number")):
            message = _BLIND.sub(lambda m: plain_of.get(m[0], m[0]), message)
            self.fail(number, cells_of[number], InvalidInput(message, {key: [message]}))
        self.tally.created += created
        self.tally.updated += updated
        if created or updated:
            first, last = min(cells_of), max(cells_of)
            changes = {"created": created, "updated": updated, "rows": [first, last]}
            audit.record(s, self.actor, "customers.imported", "import", self.job.id, changes)
            outbox.deliver_range_after_commit(s, self.job.tenant_id, ids.of(first),
                                              ids.of(last))

    def _differences(self, compare_of: dict[int, dict[str, Any]]) -> dict[str, list[int]]:
        """Which matched rows change a field SQL cannot compare: decrypt the stored WeChat
        id, and the stored phones/emails of rows giving several (their order matters),
        and compare them with the row's plain values."""
        differ: dict[str, list[int]] = {"exact": [], "phones_differ": [],
                                        "emails_differ": [], "wechat_id_differ": []}
        if not compare_of:
            return differ
        stored = self.session.execute(text(_STORED_SECRETS),
                                      {"t": self.job.tenant_id, "rows": list(compare_of)})
        for number, wechat_id, phones, emails in stored:
            plain = compare_of[number]
            if "wechat_id" in plain and wechat_id is not None \
                    and decrypt(wechat_id) != plain["wechat_id"]:
                differ["wechat_id_differ"].append(number)
            if not plain.get("exact"):
                continue
            differ["exact"].append(number)
            for column, token in (("phones", phones), ("emails", emails)):
                if column in plain and _decrypt_list(token) != plain[column]:
                    differ[f"{column}_differ"].append(number)
        return differ

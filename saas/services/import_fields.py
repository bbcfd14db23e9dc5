"""What each kind of import can fill, how file columns map onto it, and how one row
becomes the data the owning service validates.

A mapping is `{column name: target}`; `phones`, `emails` and `tags` may take several
columns (their values are joined). Empty cells are left out of the data, so re-importing
a sheet with fewer columns never blanks what is stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from saas.models.imports import IMPORT_ENTITIES
from saas.services import custom_fields
from saas.services.errors import InvalidInput

CUSTOMER_REFS = ("customer_external_id", "customer_email", "customer_phone")
TARGETS: dict[str, tuple[str, ...]] = {
    "customers": ("name", "kind", "phones", "emails", "wechat_id", "address", "industry",
                  "company_size", "purchasing_power", "category", "department", "tags",
                  "birthday", "source_channel", "lifecycle_stage", "notes", "external_id",
                  "consent.email", "consent.sms", "consent.wechat", "consent.phone"),
    "contacts": (*CUSTOMER_REFS, "name", "title", "phone", "email", "primary"),
    "products": ("sku", "name", "category", "price", "currency", "active"),
    "orders": (*CUSTOMER_REFS, "number", "placed_at", "channel", "status", "currency", "sku",
               "quantity", "unit_price", "external_id"),
    "interactions": (*CUSTOMER_REFS, "channel", "direction", "kind", "summary", "occurred_at",
                     "follow_up_on"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "customers": ("name",),
    "contacts": ("name",),
    "products": ("sku", "name", "price"),
    "orders": ("number", "sku"),
    "interactions": ("channel", "summary", "occurred_at"),
}
MULTI = ("phones", "emails", "tags")
SYNONYMS = {
    "name": ("name", "fullname", "customer", "customername", "company", "contactname",
             "productname", "姓名", "名称", "客户", "客户名称", "联系人"),
    "phones": ("phone", "phones", "mobile", "tel", "telephone", "手机", "电话", "手机号",
               "联系电话"),
    "emails": ("email", "emails", "mail", "邮箱", "电子邮件"),
    "phone": ("phone", "mobile", "tel", "telephone", "手机", "电话"),
    "email": ("email", "mail", "邮箱"),
    "wechat_id": ("wechat", "wechatid", "微信", "微信号"),
    "address": ("address", "地址"),
    "industry": ("industry", "行业"),
    "company_size": ("companysize", "size", "规模"),
    "purchasing_power": ("purchasingpower", "购买力"),
    "category": ("category", "类别", "分类"),
    "department": ("department", "部门"),
    "tags": ("tags", "tag", "标签"),
    "birthday": ("birthday", "dob", "birthdate", "生日"),
    "source_channel": ("source", "sourcechannel", "来源"),
    "lifecycle_stage": ("lifecycle", "lifecyclestage", "stage", "阶段"),
    "notes": ("notes", "note", "remark", "remarks", "备注"),
    "external_id": ("externalid", "编号", "外部编号"),
    "kind": ("kind", "type", "类型"),
    "title": ("title", "jobtitle", "职位"),
    "primary": ("primary", "isprimary"),
    "sku": ("sku", "productcode", "商品编号"),
    "price": ("price", "价格", "单价"),
    "currency": ("currency", "币种"),
    "active": ("active",),
    "number": ("number", "ordernumber", "orderno", "订单号"),
    "placed_at": ("placedat", "orderdate", "date", "下单时间"),
    "status": ("status", "状态"),
    "quantity": ("quantity", "qty", "数量"),
    "unit_price": ("unitprice",),
    "channel": ("channel", "渠道"),
    "direction": ("direction", "方向"),
    "summary": ("summary", "content", "内容", "摘要"),
    "occurred_at": ("occurredat", "time", "datetime", "时间"),
    "follow_up_on": ("followupon", "followup", "跟进日期"),
    "consent.email": ("emailconsent", "emailoptin", "邮件同意", "邮件订阅"),
    "consent.sms": ("smsconsent", "smsoptin", "短信同意", "短信订阅"),
    "consent.wechat": ("wechatconsent", "微信同意"),
    "consent.phone": ("phoneconsent", "callconsent", "电话同意"),
    "customer_external_id": ("customerexternalid", "customerid", "客户编号"),
    "customer_email": ("customeremail", "客户邮箱"),
    "customer_phone": ("customerphone", "客户电话"),
}
_SQUASH = re.compile(r"[\s_\-.·]+")
CONSENT_WORDS = {
    "granted": ("granted", "grant", "yes", "y", "true", "1", "optin", "opt-in", "subscribed",
                "是", "同意", "已同意", "订阅"),
    "withdrawn": ("withdrawn", "withdraw", "no", "n", "false", "0", "optout", "opt-out",
                  "unsubscribed", "否", "拒绝", "不同意", "退订"),
}


def _norm(text: str) -> str:
    return _SQUASH.sub("", text.strip().lower())


def targets(session: Session, entity: str) -> list[str]:
    """Every target this entity's import accepts, custom fields as `cf.<key>`."""
    if entity not in IMPORT_ENTITIES:
        raise InvalidInput.field("entity", f"Choose one of: {', '.join(IMPORT_ENTITIES)}.")
    names = list(TARGETS[entity])
    if entity == "customers":
        names += [f"cf.{d.key}" for d in custom_fields.list_definitions(session)]
    return names


def suggest(session: Session, entity: str, header: Sequence[str],
            saved: Mapping[str, str] | None = None) -> dict[str, str]:
    """A first mapping: the tenant's saved choice for a column of the same name, else a
    target whose name or a known synonym (English or Chinese) matches the column."""
    allowed = targets(session, entity)
    labels = {}
    if entity == "customers":
        labels = {_norm(d.label): f"cf.{d.key}" for d in custom_fields.list_definitions(session)}
    result: dict[str, str] = {}
    used: set[str] = set()
    for column in header:
        pick = (saved or {}).get(column)
        if pick not in allowed:
            key = _norm(column)
            pick = None
            for target in allowed:
                bare = target[3:] if target.startswith("cf.") else target
                if key in (_norm(target), _norm(bare)) or key in SYNONYMS.get(target, ()):
                    pick = target
                    break
            pick = pick or labels.get(key)
        if pick and (pick not in used or pick in MULTI):
            result[column] = pick
            used.add(pick)
    return result


def check_mapping(session: Session, entity: str, header: Sequence[str],
                  mapping: Any) -> dict[str, str]:
    """The mapping cleaned of ignored columns; every problem named by column."""
    if not isinstance(mapping, Mapping):
        raise InvalidInput.field("mapping", "Give the mapping as {column: field}.")
    allowed = targets(session, entity)
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, str] = {}
    used: dict[str, str] = {}
    for column, target in mapping.items():
        if target in (None, ""):
            continue
        if column not in header:
            errors[f"mapping.{column}"] = ["The file has no such column."]
        elif not isinstance(target, str) or target not in allowed:
            message = ("Unknown custom field." if isinstance(target, str)
                       and target.startswith("cf.") else "Unknown field for this import.")
            errors[f"mapping.{column}"] = [message]
        elif target in used and target not in MULTI:
            errors[f"mapping.{column}"] = [f"'{used[target]}' is already mapped to "
                                           f"{target}."]
        else:
            used[target] = column
            cleaned[column] = target
    for target in REQUIRED[entity]:
        if target not in used:
            errors[f"mapping.{target}"] = [f"Map a column to {target}."]
    if entity in ("contacts", "orders", "interactions") and not set(CUSTOMER_REFS) & set(used):
        errors["mapping.customer"] = ["Map a column that finds the customer: "
                                      + ", ".join(CUSTOMER_REFS) + "."]
    if errors:
        raise InvalidInput("The column mapping has errors.", errors)
    return cleaned


class RowMapper:
    """Turns the cells of one row into service data, and service error keys back into
    the file's column names (for the error report)."""

    def __init__(self, entity: str, header: Sequence[str], mapping: Mapping[str, str],
                 timezone: str = "UTC"):
        self.entity = entity
        self.zone = ZoneInfo(timezone)
        self.slots = [(header.index(col), target) for col, target in mapping.items()]
        self.column_of: dict[str, str] = {}
        for col, target in mapping.items():
            self.column_of.setdefault(target, col)
        self.index_of = {col: header.index(col) for col in mapping}

    def values(self, cells: Sequence[str]) -> dict[str, str]:
        """{target: text} of the non-empty mapped cells (several columns joined)."""
        out: dict[str, str] = {}
        for index, target in self.slots:
            text = cells[index]
            if not text:
                continue
            out[target] = f"{out[target]},{text}" if target in out else text
        return out

    def local_time(self, text: str) -> str:
        """ISO time with an offset; a time written without one is in the tenant's zone."""
        try:
            parsed = datetime.fromisoformat(text.replace("/", "-"))
        except ValueError:
            return text
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.zone)
        return parsed.isoformat()

    def customer_data(self, values: Mapping[str, str]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        custom: dict[str, str] = {}
        consent: dict[str, dict[str, str]] = {}
        for target, text in values.items():
            if target.startswith("cf."):
                custom[target[3:]] = text
            elif target.startswith("consent."):
                consent[target[8:]] = {"status": consent_status(text), "source": "import"}
            else:
                data[target] = text
        if custom:
            data["custom_fields"] = custom
        if consent:
            data["consent"] = consent
        return data

    def order_data(self, values: Mapping[str, str]) -> dict[str, Any]:
        line = {k: values[k] for k in ("sku", "quantity", "unit_price") if k in values}
        data: dict[str, Any] = {k: values[k] for k in ("number", "channel", "status",
                                                       "currency", "external_id")
                                if k in values}
        if "placed_at" in values:
            data["placed_at"] = self.local_time(values["placed_at"])
        data["lines"] = [line]
        return data

    def interaction_data(self, values: Mapping[str, str]) -> dict[str, Any]:
        data = {k: values[k] for k in ("channel", "direction", "kind", "summary",
                                       "follow_up_on") if k in values}
        if "occurred_at" in values:
            data["occurred_at"] = self.local_time(values["occurred_at"])
        return data

    def plain_data(self, values: Mapping[str, str], names: Sequence[str]) -> dict[str, Any]:
        data: dict[str, Any] = {k: values[k] for k in names if k in values}
        for flag in ("primary", "active"):
            if flag in data:
                data[flag] = data[flag].strip().lower() in ("1", "true", "yes", "y", "是")
        return data

    def column(self, error_key: str) -> str | None:
        """The file column a service error key refers to (`custom_fields.vip` → the column
        mapped to `cf.vip`, `lines.0.sku` → the SKU column)."""
        key = error_key
        if key.startswith("custom_fields."):
            key = "cf." + key.split(".", 1)[1]
        elif key.startswith("lines."):
            key = key.rsplit(".", 1)[-1]
            if key == "product_id":
                key = "sku"
        elif key == "lines":
            key = "sku"
        elif key.startswith("consent.") and key not in self.column_of:
            key = "consent"
        return self.column_of.get(key)

    def cell(self, cells: Sequence[str], column: str | None) -> str:
        if column is None:
            return ""
        return cells[self.index_of[column]]


def consent_status(text: str) -> str:
    """`granted` / `withdrawn` from the words sheets use (yes/no, opt-in/opt-out, 同意/退订);
    anything else is passed on for the customer service to refuse by name."""
    word = text.strip().lower()
    for status, words in CONSENT_WORDS.items():
        if word in words:
            return status
    return text

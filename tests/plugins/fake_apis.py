"""In-memory stand-ins for a HubSpot-style CRM and a Discourse-style forum, served over
real HTTP on 127.0.0.1 by `tests.plugins.servers.http_server`."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

from tests.plugins.servers import Received


def _now() -> datetime:
    return datetime.now(UTC)


class FakeHubSpot:
    """Contacts keyed by email: batch upsert and search by lastmodifieddate."""

    def __init__(self, token: str, page_size: int = 2) -> None:
        self.token = token
        self.page_size = page_size
        self.contacts: dict[str, dict] = {}
        self.ids = itertools.count(1001)
        self.lock = threading.Lock()

    def touch(self, key: str, when: datetime | None = None, **props) -> dict:
        """A change made in the CRM itself (by its users)."""
        with self.lock:
            contact = self.contacts.get(key)
            if contact is None:
                contact = {"id": str(next(self.ids)), "properties": {"email": key}}
                self.contacts[key] = contact
            contact["properties"].update(props)
            stamp = (when or _now()).isoformat().replace("+00:00", "Z")
            contact["properties"]["lastmodifieddate"] = stamp
            contact["updatedAt"] = stamp
            return contact

    def __call__(self, req: Received) -> tuple[int, object]:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"status": "error", "message": "Authentication credentials not found"}
        if req.path == "/crm/v3/objects/contacts/batch/upsert":
            results = []
            for item in req.json()["inputs"]:
                assert item["idProperty"] == "email"
                results.append(self.touch(item["id"], **item["properties"]))
            return 200, {"status": "COMPLETE", "results": results}
        if req.path == "/crm/v3/objects/contacts/search":
            body = req.json()
            since = None
            for group in body.get("filterGroups", []):
                for f in group["filters"]:
                    assert (f["propertyName"], f["operator"]) == ("lastmodifieddate", "GT")
                    since = datetime.fromtimestamp(int(f["value"]) / 1000, UTC)
            with self.lock:
                found = sorted(
                    (c for c in self.contacts.values()
                     if since is None or datetime.fromisoformat(
                         c["updatedAt"].replace("Z", "+00:00")) > since),
                    key=lambda c: c["updatedAt"])
            start = int(body.get("after") or 0)
            page = found[start:start + self.page_size]
            paging = ({"next": {"after": str(start + self.page_size)}}
                      if start + self.page_size < len(found) else None)
            wanted = set(body.get("properties") or [])
            results = [{"id": c["id"], "updatedAt": c["updatedAt"],
                        "properties": {k: v for k, v in c["properties"].items()
                                       if k in wanted}} for c in page]
            return 200, {"total": len(found), "results": results,
                         **({"paging": paging} if paging else {})}
        return 404, {"message": "unknown endpoint"}


class FakeDiscourse:
    """Users (created by API, found by email), topics and the latest posts."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.users: dict[str, dict] = {}
        self.topics: list[dict] = []
        self.posts: list[dict] = []
        self.ids = itertools.count(1)
        self.lock = threading.Lock()

    def add_post(self, username: str, raw: str, topic_title: str = "Tea talk",
                 when: datetime | None = None) -> dict:
        with self.lock:
            post = {"id": next(self.ids), "username": username, "raw": raw,
                    "topic_title": topic_title,
                    "created_at": (when or _now()).isoformat().replace("+00:00", "Z")}
            self.posts.append(post)
            return post

    def __call__(self, req: Received) -> tuple[int, object]:
        if req.headers.get("api-key") != self.api_key or not req.headers.get("api-username"):
            return 403, {"errors": ["You are not permitted to view the requested resource."]}
        url = urlparse(req.path)
        if (req.method, url.path) == ("POST", "/users.json"):
            data = req.json()
            with self.lock:
                if any(u["email"] == data["email"] for u in self.users.values()):
                    return 200, {"success": False,
                                 "message": "Primary email has already been taken"}
                if data["username"] in self.users:
                    return 200, {"success": False, "message": "Username must be unique"}
                user = {"id": next(self.ids), "username": data["username"],
                        "email": data["email"], "name": data.get("name")}
                self.users[data["username"]] = user
            return 200, {"success": True, "active": True, "user_id": user["id"]}
        if (req.method, url.path) == ("GET", "/admin/users/list/all.json"):
            email = parse_qs(url.query).get("email", [None])[0]
            with self.lock:
                found = [u for u in self.users.values() if email in (None, u["email"])]
            return 200, found
        if (req.method, url.path) == ("POST", "/posts.json"):
            data = req.json()
            if not data.get("title") or not data.get("raw"):
                return 422, {"errors": ["Title and body are required"]}
            with self.lock:
                topic = {"id": next(self.ids), "title": data["title"], "raw": data["raw"],
                         "category": data.get("category")}
                self.topics.append(topic)
            return 200, {"id": next(self.ids), "topic_id": topic["id"]}
        if (req.method, url.path) == ("GET", "/posts.json"):
            with self.lock:
                latest = sorted(self.posts, key=lambda p: p["id"], reverse=True)
            return 200, {"latest_posts": latest}
        return 404, {"errors": ["not found"]}

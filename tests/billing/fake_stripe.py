"""A small stand-in for the Stripe API on 127.0.0.1, served over real HTTP, so the
stripe library is exercised end to end (form encoding, auth header, error parsing).

It knows only the calls billing makes and remembers every request for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl


class FakeStripe:
    def __init__(self, api_key: str):
        self.api_key = api_key
        self.requests: list[tuple[str, str, dict]] = []
        self.subscriptions: dict[str, dict] = {}
        self.counter = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStripe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls(self, path: str) -> list[dict]:
        return [form for _m, p, form in self.requests if p == path]

    def add_subscription(self, sub_id: str, customer: str, price: str,
                         period_end: int | None = None, metadata: dict | None = None) -> dict:
        sub = {"id": sub_id, "object": "subscription", "customer": customer,
               "status": "active", "cancel_at_period_end": False,
               "current_period_end": period_end or int(time.time()) + 30 * 86400,
               "metadata": dict(metadata or {}),
               "items": {"object": "list", "data": [
                   {"id": f"si_{sub_id}", "object": "subscription_item",
                    "price": {"id": price, "object": "price"}}]}}
        self.subscriptions[sub_id] = sub
        return sub

    def _next(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}_fake{self.counter}"

    def _answer(self, method: str, path: str, form: dict) -> tuple[int, dict]:
        if method == "POST" and path == "/v1/checkout/sessions":
            missing = [k for k in ("mode", "line_items[0][price]", "success_url")
                       if not form.get(k)]
            if missing:
                return 400, _error(f"Missing required param: {missing[0]}.")
            sid = self._next("cs")
            return 200, {"id": sid, "object": "checkout.session", "mode": form["mode"],
                         "url": f"{self.base}/pay/{sid}"}
        if method == "POST" and path == "/v1/billing_portal/sessions":
            if not form.get("customer"):
                return 400, _error("Missing required param: customer.")
            sid = self._next("bps")
            return 200, {"id": sid, "object": "billing_portal.session",
                         "url": f"{self.base}/portal/{sid}"}
        if path.startswith("/v1/subscriptions/"):
            sub = self.subscriptions.get(path.rsplit("/", 1)[1])
            if sub is None:
                return 404, _error("No such subscription.", "resource_missing")
            if method == "POST":
                if "cancel_at_period_end" in form:
                    sub["cancel_at_period_end"] = form["cancel_at_period_end"] == "true"
                if form.get("items[0][price]"):
                    sub["items"]["data"][0]["price"] = {"id": form["items[0][price]"],
                                                        "object": "price"}
                for key, value in form.items():
                    if key.startswith("metadata["):
                        sub["metadata"][key[9:-1]] = value
            return 200, sub
        return 404, _error(f"Unrecognized request URL ({method}: {path}).")

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                path, _, query = self.path.partition("?")
                form = dict(parse_qsl(body or query, keep_blank_values=True))
                fake.requests.append((method, path, form))
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    status, payload = 401, _error("Invalid API Key provided.",
                                                  type_="authentication_error")
                else:
                    status, payload = fake._answer(method, path, form)
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):  # noqa: N802
                self._serve("GET")

            def do_POST(self):  # noqa: N802
                self._serve("POST")

            def log_message(self, *args):
                pass

        return Handler


def _error(message: str, code: str | None = None,
           type_: str = "invalid_request_error") -> dict:
    return {"error": {"type": type_, "message": message, "code": code}}

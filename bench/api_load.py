"""Customer list/search latency at the REST API under concurrent load, and the 360 page
of the customer with the 10k-item timeline, through a real HTTP server (gunicorn, the
app connected as the unprivileged role, row-level security on).

    python -m bench.api_load --seconds 20 --concurrency 8

Needs the data of `python -m bench.generate`. Each client thread keeps one HTTP/1.1
connection and loops over the request mix; latencies are per request kind.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict

from sqlalchemy import select

from bench.common import (
    BIG,
    DB,
    PASSWORD,
    TIMELINE_EXTERNAL_ID,
    app_env,
    git_commit,
    loadavg,
    make_app,
    migrate,
    percentiles,
    write_result,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn with `workers` processes × `threads` threads on a free local port."""

    def __init__(self, workers: int = 2, threads: int = 4):
        self.port = free_port()
        cmd = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", "gthread",
               "--threads", str(threads), "-b", f"127.0.0.1:{self.port}",
               "--log-level", "warning", "wsgi:app"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=app_env())
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the gunicorn workers (Linux /proc)."""
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid:  # ppid: a worker of this server
                total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")


def token_and_focus() -> tuple[str, str, str, dict]:
    """An API token of the big tenant's owner, the timeline customer's id, and sample
    search values taken from the data."""
    from saas.extensions import db
    from saas.models import Staff, Tenant
    from saas.models.customers import Customer
    from saas.services import tokens
    from saas.services.context import Actor
    from saas.tenancy import bind_tenant

    app = make_app()
    migrate(app)
    with app.app_context():
        tenant = db.session.scalars(select(Tenant).where(Tenant.slug == BIG)).one()
        bind_tenant(db.session, tenant.id)
        owner = db.session.scalars(select(Staff).where(Staff.role == "owner")).first()
        _t, raw = tokens.create_token(db.session, Actor.of_staff(owner), "bench", "read")
        focus = db.session.scalars(select(Customer).where(
            Customer.external_id == TIMELINE_EXTERNAL_ID)).one()
        sample = db.session.scalars(select(Customer).order_by(Customer.created_at)
                                    .offset(777).limit(1)).one()
        values = {"phone": sample.phone.replace("+86", ""), "email": sample.email.upper(),
                  "name": sample.name[:2]}
        db.session.commit()
        result = raw, str(focus.id), owner.email, values
        db.session.remove()
    return result


def api_mix(values: dict, deep_cursor: str | None) -> list[tuple[str, str]]:
    q = urllib.parse.quote
    mix = [("list", "/api/v1/customers?limit=50"),
           ("list_by_name", "/api/v1/customers?limit=50&sort=name"),
           ("search_name", f"/api/v1/customers?limit=50&q={q(values['name'])}"),
           ("search_phone", f"/api/v1/customers?limit=50&q={q(values['phone'])}"),
           ("search_email", f"/api/v1/customers?limit=50&q={q(values['email'])}"),
           ("filter_tag", "/api/v1/customers?limit=50&tags=vip&lifecycle_stage=customer")]
    if deep_cursor:
        mix.append(("deep_page", f"/api/v1/customers?limit=50&cursor={q(deep_cursor)}"))
    return mix


def deep_cursor(port: int, token: str, pages: int) -> str | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    cursor = None
    for _ in range(pages):
        path = "/api/v1/customers?limit=200" + (
            f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        body = json.loads(conn.getresponse().read())
        cursor = body.get("next_cursor")
        if not cursor:
            break
    conn.close()
    return cursor


class Client:
    """One keep-alive HTTP/1.1 connection sending prepared GET requests.

    The load generator shares the 2 cores with the server, so it must cost little: the
    request bytes are built once per path and a response is read by its Content-Length
    without parsing headers into objects (about a third of `http.client`'s CPU per
    request). The server sees the same requests either way."""

    def __init__(self, port: int, headers: dict):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.port = port
        self.buffer = b""
        self.prepared: dict[str, bytes] = {}

    def get(self, path: str) -> tuple[int, bytes]:
        request = self.prepared.get(path)
        if request is None:
            request = self.prepared[path] = (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Accept-Encoding: identity\r\n{self.extra}\r\n").encode()
        self.sock.sendall(request)
        buffer = self.buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            buffer += self._recv()
        head = buffer[:end].lower()
        start = head.find(b"\r\ncontent-length:")
        if start < 0:
            raise RuntimeError("response without Content-Length")
        line_end = head.find(b"\r\n", start + 17)
        length = int(head[start + 17:line_end if line_end >= 0 else None])
        body_end = end + 4 + length
        while len(buffer) < body_end:
            buffer += self._recv()
        self.buffer = buffer[body_end:]
        return int(head[9:12]), buffer[end + 4:body_end]

    def _recv(self) -> bytes:
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("server closed the connection")
        return data

    def close(self) -> None:
        self.sock.close()


class StdlibClient:
    """`http.client`, the generator used before 18:30 on 2026-11-25 (`--client stdlib`),
    to compare figures with older results."""

    def __init__(self, port: int, headers: dict):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = headers

    def get(self, path: str) -> tuple[int, bytes]:
        self.conn.request("GET", path, headers=self.headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.conn.close()


CLIENTS = {"raw": Client, "stdlib": StdlibClient}


def hammer(port: int, headers: dict, mix: list[tuple[str, str]], seconds: float,
           concurrency: int, client_class: type = Client) -> dict[str, list[float]]:
    results: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(offset: int) -> None:
        conn = client_class(port, headers)
        local: dict[str, list[float]] = defaultdict(list)
        i = offset
        while time.perf_counter() < stop_at:
            kind, path = mix[i % len(mix)]
            i += 1
            start = time.perf_counter()
            status, _body = conn.get(path)
            elapsed = time.perf_counter() - start
            if status != 200:
                errors.append(f"{kind} {status}")
                continue
            local[kind].append(elapsed)
        conn.close()
        with lock:
            for kind, samples in local.items():
                results[kind] += samples

    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print(f"{len(errors)} failed requests, e.g. {errors[:3]}", file=sys.stderr)
    return results


def login_cookie(port: int, email: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", f"/t/{BIG}/login")
    response = conn.getresponse()
    html = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "email": email,
                                   "password": PASSWORD})
    conn.request("POST", f"/t/{BIG}/login", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise RuntimeError(f"login failed: {response.status}")
    conn.close()
    return response.getheader("Set-Cookie", cookie).split(";")[0]


def run(seconds: float, concurrency: int, workers: int, threads: int,
        client: str = "raw") -> dict:
    token, focus, owner_email, values = token_and_focus()
    server = Server(workers, threads)
    client_class = CLIENTS[client]
    try:
        cursor = deep_cursor(server.port, token, 100)
        auth = {"Authorization": f"Bearer {token}"}
        mix = api_mix(values, cursor)
        hammer(server.port, auth, mix, 2, concurrency, client_class)
        server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
        api = hammer(server.port, auth, mix, seconds, concurrency, client_class)
        server_cpu = server.cpu_seconds() - server_cpu
        client_cpu = time.process_time() - client_cpu
        cookie = login_cookie(server.port, owner_email)
        page_mix = [("360_page", f"/t/{BIG}/customers/{focus}")]
        api_360 = [("360_timeline_api", f"/api/v1/customers/{focus}/timeline?limit=50"),
                   ("360_key_figures_api", f"/api/v1/customers/{focus}/key-figures")]
        page = hammer(server.port, {"Cookie": cookie}, page_mix, max(seconds / 2, 5), 2)
        page.update(hammer(server.port, auth, api_360, max(seconds / 2, 5), 2))
    finally:
        server.stop()
    return {"api": {k: percentiles(v) for k, v in sorted(api.items())},
            "page": {k: percentiles(v) for k, v in sorted(page.items())},
            "seconds": seconds, "concurrency": concurrency, "workers": workers,
            "threads": threads, "client": client,
            "throughput": sum(len(v) for v in api.values()) / seconds,
            "cpu_ms": {"server": 1000 * server_cpu / max(1, sum(map(len, api.values()))),
                       "client": 1000 * client_cpu / max(1, sum(map(len, api.values())))}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--client", choices=sorted(CLIENTS), default="raw",
                        help="load generator: raw sockets (default) or http.client")
    args = parser.parse_args(argv)
    before = loadavg()
    result = run(args.seconds, args.concurrency, args.workers, args.threads, args.client)
    after = loadavg()
    lines = [f"# API list/search and 360 page latency, {args.concurrency} clients", "",
             f"`python -m bench.api_load {' '.join(argv or sys.argv[1:])}`; gunicorn "
             f"{args.workers} workers × {args.threads} threads (gthread), app role (RLS on), "
             f"database `{DB}`; commit {git_commit()}; load generator `{args.client}`.", "",
             f"Load average (1/5/15 min) before: {before}; after: {after} (2 CPUs shared "
             "with the load generator and other engineers' test runs).", "",
             "Data: " + ", ".join(f"{v:,} {k}" for k, v in data_size().items()), "",
             "| request | n | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    for group in ("api", "page"):
        for kind, p in result[group].items():
            print(f"{kind:22} n={p['n']:6} p50={p['p50']:7.1f}ms p95={p['p95']:7.1f}ms "
                  f"p99={p['p99']:7.1f}ms")
            lines.append(f"| {kind} | {p['n']} | {p['p50']:.1f} | {p['p95']:.1f} | "
                         f"{p['p99']:.1f} |")
    cpu = result["cpu_ms"]
    print(f"API throughput {result['throughput']:.0f} req/s; CPU per API request: server "
          f"{cpu['server']:.1f} ms, load generator {cpu['client']:.1f} ms")
    lines += ["", f"API throughput {result['throughput']:.0f} requests/s over "
              f"{args.seconds:.0f} s; the 360 rows come from 2 clients for half as long.",
              "", f"CPU per API request during the timed run: gunicorn workers "
              f"{cpu['server']:.1f} ms, load generator {cpu['client']:.1f} ms."]
    write_result(f"api-load-{args.concurrency}", lines)


def data_size() -> dict[str, int]:
    from sqlalchemy import text

    from bench.common import owner_engine

    engine = owner_engine()
    with engine.connect() as conn:
        tid = conn.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": BIG}).scalar()
        size = {"tenants": conn.execute(text("SELECT count(*) FROM tenants")).scalar(),
                "customers (all tenants)": conn.execute(
                    text("SELECT count(*) FROM customers")).scalar(),
                "customers of bench-big": conn.execute(text(
                    "SELECT count(*) FROM customers WHERE tenant_id = :t"), {"t": tid}).scalar(),
                "orders of bench-big": conn.execute(text(
                    "SELECT count(*) FROM orders WHERE tenant_id = :t"), {"t": tid}).scalar()}
    engine.dispose()
    return size


if __name__ == "__main__":
    main()

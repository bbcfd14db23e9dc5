"""Server-side cost of the API list/search requests and the 360 page, without HTTP or a
load generator: the app (as the unprivileged role, RLS on) answers through Flask's test
client, one request at a time, against the bench database.

    python -m bench.profile_api --repeat 50                  # p50/p95 (and CPU) per kind
    python -m bench.profile_api --profile search_name        # pyinstrument of one kind
    python -m bench.profile_api --sql                        # statements per request

This is the tool for finding where a request spends its time; `bench.api_load` is the
figure under concurrent load.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections import defaultdict

from sqlalchemy import event

from bench.api_load import api_mix, token_and_focus
from bench.common import BIG, make_app, percentiles


def _deep_cursor(client, headers: dict, pages: int) -> str | None:
    cursor = None
    for _ in range(pages):
        url = "/api/v1/customers?limit=200" + (f"&cursor={cursor}" if cursor else "")
        cursor = client.get(url, headers=headers).get_json().get("next_cursor")
        if not cursor:
            break
    return cursor


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--profile", default=None, help="request kind to profile")
    parser.add_argument("--sql", action="store_true", help="print each request's SQL")
    parser.add_argument("--only", default=None, help="comma-separated kinds")
    args = parser.parse_args(argv)
    token, focus, owner_email, values = token_and_focus()
    app = make_app()
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    import urllib.parse

    cursor = _deep_cursor(client, headers, 100)
    mix = api_mix(values, urllib.parse.quote(cursor) if cursor else None)
    mix += [("360_timeline_api", f"/api/v1/customers/{focus}/timeline?limit=50"),
            ("360_key_figures_api", f"/api/v1/customers/{focus}/key-figures")]
    page_client = app.test_client()
    from bench.common import PASSWORD

    html = page_client.get(f"/t/{BIG}/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    page_client.post(f"/t/{BIG}/login", data={"email": owner_email, "password": PASSWORD,
                                              "csrf_token": csrf.group(1) if csrf else ""})
    pages = [("360_page", f"/t/{BIG}/customers/{focus}")]
    if args.only:
        wanted = set(args.only.split(","))
        mix = [m for m in mix if m[0] in wanted]
        pages = [m for m in pages if m[0] in wanted]
    statements: list[str] = []
    if args.sql:
        from saas.extensions import db

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute",
                         lambda c, cur, stmt, p, ctx, many: statements.append(stmt))
    todo = [(k, p, client, headers) for k, p in mix] + [(k, p, page_client, {})
                                                          for k, p in pages]
    if args.profile:
        from pyinstrument import Profiler

        kind, path, c, h = next(t for t in todo if t[0] == args.profile)
        for _ in range(3):
            c.get(path, headers=h)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(args.repeat):
            c.get(path, headers=h)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        return
    samples: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    for kind, path, c, h in todo:
        response = c.get(path, headers=h)
        assert response.status_code == 200, (kind, response.status_code, response.data[:300])
        if args.sql:
            statements.clear()
            c.get(path, headers=h)
            print(f"--- {kind}: {len(statements)} statements")
            for s in statements:
                print("   ", " ".join(s.split())[:int(os.environ.get("SQL_WIDTH", "300"))])
    for _ in range(args.repeat):
        for kind, path, c, h in todo:
            start, start_cpu = time.perf_counter(), time.process_time()
            c.get(path, headers=h)
            samples[kind].append(time.perf_counter() - start)
            cpu[kind].append(time.process_time() - start_cpu)
    for kind, values in samples.items():
        p, c = percentiles(values), percentiles(cpu[kind])
        print(f"{kind:22} n={p['n']:4} p50={p['p50']:6.1f}ms p95={p['p95']:6.1f}ms "
              f"CPU p50={c['p50']:5.1f}ms")


if __name__ == "__main__":
    main()

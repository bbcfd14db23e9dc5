"""Server-rendered staff UI, sign-up and public pages. Every module here with a `bp`
(a Flask Blueprint) is registered; see "Web UI" in docs/dev-conventions.md."""

from __future__ import annotations

import sys

from flask import Flask

from saas.discovery import modules_with


def register(app: Flask) -> None:
    from saas.web import access, templating

    access.install(app)
    templating.install(app)
    for _module, bp in modules_with(sys.modules[__name__], "bp"):
        app.register_blueprint(bp)

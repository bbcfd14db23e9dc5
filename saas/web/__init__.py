"""Server-rendered staff UI, sign-up and public pages. Every module here with a `bp`
(a Flask Blueprint) is registered."""

from __future__ import annotations

import sys

from flask import Flask

from saas.discovery import modules_with


def register(app: Flask) -> None:
    for _module, bp in modules_with(sys.modules[__name__], "bp"):
        app.register_blueprint(bp)

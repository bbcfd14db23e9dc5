"""Finding the modules of a package that expose an attribute (blueprints, commands).

Feature areas add a module; nothing central has to be edited to register it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from types import ModuleType


def modules_with(package: ModuleType, attribute: str) -> Iterator[tuple[ModuleType, object]]:
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        value = getattr(module, attribute, None)
        if value is not None:
            yield module, value

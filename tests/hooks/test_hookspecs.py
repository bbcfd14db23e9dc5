"""The hook contract cannot drift from its documentation or go untested."""

from __future__ import annotations

import inspect
import re

import pytest

from saas.hooks import hookspecs
from tests.conftest import ROOT

DOC = ROOT / "docs" / "plugins.md"


def _hooks() -> list[str]:
    return sorted(name for name, fn in vars(hookspecs).items()
                  if inspect.isfunction(fn) and hasattr(fn, "saas_spec"))


def _signature(name: str) -> str:
    params = inspect.signature(getattr(hookspecs, name)).parameters
    return f"{name}({', '.join(params)})"


def test_there_are_hooks():
    assert {"on_event", "register_channels", "plugin_settings_schema", "sync_customer",
            "register_routes", "inbound_message"} <= set(_hooks())


@pytest.mark.parametrize("hook", _hooks())
def test_plugin_hooks_are_documented(hook):
    headings = re.findall(r"^### (.+)$", DOC.read_text(encoding="utf-8"), re.M)
    assert _signature(hook) in headings, f"docs/plugins.md needs '### {_signature(hook)}'"


@pytest.mark.parametrize("hook", _hooks())
def test_plugin_hooks_have_tests(hook):
    pattern = re.compile(rf"^def test_hook_{hook}[_(]", re.M)
    found = [p for p in (ROOT / "tests").rglob("test_*.py")
             if pattern.search(p.read_text(encoding="utf-8"))]
    assert found, f"write a test named test_hook_{hook}_..."


@pytest.mark.parametrize("hook", _hooks())
def test_hook_docstrings_name_every_parameter_and_firstresult(hook):
    fn = getattr(hookspecs, hook)
    doc = " ".join((inspect.getdoc(fn) or "").split())
    assert doc.strip(), hook
    for param in inspect.signature(fn).parameters:
        if param != "config":
            assert f":param {param}:" in doc or param in doc, (hook, param)
    firstresult = fn.saas_spec.get("firstresult", False)
    assert ("Stops at the first non-None result" in doc) == firstresult


def test_documented_hook_headings_all_exist():
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Hooks", 1)[1].split("\n## ", 1)[0]
    documented = {h.split("(")[0] for h in re.findall(r"^### (.+)$", section, re.M)}
    assert documented == set(_hooks())

"""The plugin manager, built per app by `init_app` (no work at import time).

Discovery goes through the ``saas.plugins`` entry-point group only; the built-in plugins
in ``plugins/`` are listed there too, so they prove the path third parties use. Being
installed makes a plugin *available*; each tenant enables it (see
`saas.services.plugins`). Tests register and unregister plugins on the app's manager.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pluggy
from flask import Flask, current_app

from saas.hooks import hookspecs

ENTRYPOINT_GROUP = "saas.plugins"
EXTENSION_KEY = "saas.plugins"

log = logging.getLogger("saas.plugins")
trace_log = logging.getLogger("saas.plugins.trace")


class PluginTimeout(TimeoutError):
    """A hook call ran past its time limit; its thread is abandoned, not awaited."""


@dataclass(frozen=True)
class InstalledPlugin:
    name: str
    version: str | None
    project: str | None
    description: str
    hooks: tuple[str, ...]


class PluginHost:
    """A pluggy manager plus what the admin pages need to know about each plugin."""

    def __init__(self, trace: bool = False) -> None:
        self.pm = pluggy.PluginManager("saas")
        self.pm.add_hookspecs(hookspecs)
        self._versions: dict[str, str | None] = {}
        self._projects: dict[str, str | None] = {}
        self.broken: dict[str, str] = {}
        self._core: set[str] = set()
        if trace:
            self.pm.add_hookcall_monitoring(self._trace_before, self._trace_after)

    def load_entrypoints(self) -> int:
        """Register every plugin of the entry-point group not registered yet.

        A distribution whose plugin fails to import is recorded in `broken` (shown on the
        admin page) instead of stopping the others from loading.
        """
        importlib.invalidate_caches()
        count = 0
        for ep in metadata.entry_points(group=ENTRYPOINT_GROUP):
            if self.pm.get_plugin(ep.name) is not None or self.pm.is_blocked(ep.name):
                continue
            try:
                plugin = ep.load()
                self.pm.register(plugin, name=ep.name)
            except Exception as exc:
                log.exception("plugin %s (%s) failed to load", ep.name, ep.value)
                self.broken[ep.name] = f"{type(exc).__name__}: {exc}"
                continue
            self.broken.pop(ep.name, None)
            dist = ep.dist
            self._versions[ep.name] = dist.version if dist else None
            self._projects[ep.name] = dist.name if dist else None
            count += 1
        return count

    def register(self, plugin: object, name: str, *, version: str | None = None,
                 core: bool = False) -> None:
        """Register a plugin object by name. `core` plugins are internal components (the
        service desk) that every tenant has; they are not listed or configured."""
        self.pm.register(plugin, name=name)
        self._versions[name] = version or getattr(plugin, "__version__", None)
        if core:
            self._core.add(name)

    def unregister(self, name: str) -> None:
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        self._versions.pop(name, None)
        self._projects.pop(name, None)
        self._core.discard(name)

    def get(self, name: str) -> object | None:
        if name in self._core:
            return None
        return self.pm.get_plugin(name)

    def is_core(self, name: str) -> bool:
        return name in self._core

    def core_names(self) -> list[str]:
        return sorted(self._core)

    def names(self) -> list[str]:
        return sorted(n for n, p in self.pm.list_name_plugin()
                      if p is not None and n not in self._core)

    def hooks_of(self, name: str) -> tuple[str, ...]:
        plugin = self.pm.get_plugin(name)
        if plugin is None:
            return ()
        return tuple(sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or []))

    def implements(self, name: str, hook: str) -> bool:
        return hook in self.hooks_of(name)

    def installed(self) -> list[InstalledPlugin]:
        result = []
        for name in self.names():
            plugin = self.pm.get_plugin(name)
            doc = inspect.getdoc(plugin) or ""
            result.append(InstalledPlugin(name=name, version=self._versions.get(name),
                                          project=self._projects.get(name),
                                          description=doc.strip().splitlines()[0] if doc
                                          else "", hooks=self.hooks_of(name)))
        return result

    def call(self, name: str, hook: str, *, timeout: float | None = None,
             **kwargs: Any) -> Any:
        """Call one plugin's implementation of `hook`; None if it has none.

        With `timeout`, the call runs in a daemon thread and `PluginTimeout` is raised
        when it is late: a hung plugin must not hold up the job that called it.
        """
        plugin = self.pm.get_plugin(name)
        if plugin is None or not self.implements(name, hook):
            return None
        others = [p for p in self.pm.get_plugins() if p is not plugin]
        caller = self.pm.subset_hook_caller(hook, remove_plugins=others)
        if timeout is None:
            results = caller(**kwargs)
        else:
            results = run_with_timeout(lambda: caller(**kwargs), timeout,
                                       f"{name}.{hook}")
        if isinstance(results, list):
            return results[0] if results else None
        return results

    def call_many(self, names: list[str], hook: str, **kwargs: Any) -> Any:
        """Call `hook` on the named plugins (plus core ones) only, in pluggy's order."""
        wanted = set(names) | self._core
        others = [p for n, p in self.pm.list_name_plugin() if n not in wanted]
        return self.pm.subset_hook_caller(hook, remove_plugins=others)(**kwargs)

    def _trace_before(self, hook_name, hook_impls, kwargs) -> None:
        trace_log.info("hook %s -> %s args=%s", hook_name,
                       [impl.plugin_name for impl in hook_impls], sorted(kwargs))
        _trace_start.value = time.monotonic()

    def _trace_after(self, outcome, hook_name, hook_impls, kwargs) -> None:
        started = getattr(_trace_start, "value", None)
        took = (time.monotonic() - started) * 1000 if started else 0.0
        failed = outcome.exception
        trace_log.info("hook %s <- %s in %.1f ms%s", hook_name,
                       [impl.plugin_name for impl in hook_impls], took,
                       f" raised {type(failed).__name__}: {failed}" if failed else "")


_trace_start = threading.local()


def run_with_timeout(fn: Callable[[], Any], timeout: float, label: str) -> Any:
    """Run `fn` in a daemon thread; raise `PluginTimeout` if it is not done in time.

    The thread cannot be killed; it is left to finish or die with the worker process
    (RQ runs each job in a forked work horse that exits afterwards).
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"plugin:{label}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise PluginTimeout(f"{label} did not finish within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box.get("result")


def get_host(app: Flask | None = None) -> PluginHost:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return app.extensions[EXTENSION_KEY]


def init_app(app: Flask) -> None:
    """Build the manager, discover installed plugins and hook deliveries into the outbox."""
    host = PluginHost(trace=bool(app.config.get("SAAS_TRACE_PLUGINS")))
    host.load_entrypoints()
    app.extensions[EXTENSION_KEY] = host
    from saas.jobs.outbox import register_dispatcher
    from saas.services.plugin_deliveries import dispatch_event

    register_dispatcher(app, dispatch_event)

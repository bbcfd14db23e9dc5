"""Built-in integration plugins.

Each module is registered in the ``saas.plugins`` entry-point group of ``pyproject.toml``
exactly like a third-party plugin, and uses only the public contract in
``saas.hooks.hookspecs`` and ``saas.hooks.types``.
"""

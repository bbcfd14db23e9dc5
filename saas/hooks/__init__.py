"""Plugin hooks: the public contract (`hookspecs`) and the plugin manager."""

"""Web test fixtures: see tests/web/helpers.py; password hashing is cheap suite-wide."""

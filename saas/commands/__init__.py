"""Operator commands, one module per command or group, each exposing `cli`."""

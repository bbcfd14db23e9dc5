"""Small helpers shared by the web forms."""

from __future__ import annotations

from collections.abc import Iterable

from wtforms.fields.choices import SelectChoice


def choices(pairs: Iterable[tuple[str, object]]) -> list[SelectChoice]:
    """`(value, label)` pairs as WTForms select choices (labels may be lazy strings)."""
    return [SelectChoice(value=value, label=label) for value, label in pairs]

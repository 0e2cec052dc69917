"""Filters for pack templates, which read a snapshot of plain JSON (dates as ISO text,
figures as decimal text)."""

from __future__ import annotations

from datetime import date

from django import template

register = template.Library()


@register.filter
def day(value: str | None) -> str:
    """'2026-11-22' as '22 Nov 2026'."""
    if not value:
        return "–"
    return f"{date.fromisoformat(value):%-d %b %Y}"


@register.filter
def percent(value: str | None) -> str:
    """'87.5' as '87.5%'; no figure as a dash."""
    return "–" if value in (None, "") else f"{value}%"


@register.filter
def rating_word(rating: str | None) -> str:
    return {"green": "Green", "amber": "Amber", "red": "Red"}.get(rating or "", "No data")


@register.filter
def chart_for(charts: dict, name: str) -> str:
    """The SVG drawn for a chart name, or "" when there was nothing to draw."""
    return charts.get(name, "")


@register.filter
def at_index(rows: list, index: int):
    return rows[index]


@register.filter
def count(n: int, nouns: str) -> str:
    """3|count:"escalation" as '3 escalations'; 1|count:"gap is,gaps are" as '1 gap is'."""
    singular, _, plural = nouns.partition(",")
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


@register.filter
def were(n: int) -> str:
    """'was' for one, 'were' for any other number."""
    return "was" if n == 1 else "were"


@register.filter
def get(mapping: dict | None, key: str):
    """A value of a snapshot's mapping by its key (a code with dots in it), or None."""
    return (mapping or {}).get(key)

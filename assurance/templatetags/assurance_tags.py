from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """A value from a dictionary by a key held in a variable (frozen snapshots are plain JSON)."""
    return (mapping or {}).get(key) or {}


@register.filter
def index(sequence, position):
    try:
        return sequence[position]
    except (IndexError, TypeError):
        return None


VERDICT_COLOURS = {"yes": "green", "caveats": "amber", "no": "red"}


@register.filter
def verdict_colour(verdict: str) -> str:
    return VERDICT_COLOURS.get(verdict, "grey")

from django import template
from django.forms import BoundField

register = template.Library()

TAG_COLOURS = {
    "planning": "grey",
    "rollout": "blue",
    "stabilised": "green",
    "active": "green",
    "deactivated": "grey",
    "open": "blue",
    "in review": "amber",
    "overdue": "red",
    "signed off": "green",
    "acknowledged": "amber",
    "resolved": "green",
    "high": "red",
    "medium": "amber",
    "low": "grey",
    "draft": "grey",
    "done": "green",
    "effective": "green",
    "not effective": "red",
    "done, check due": "blue",
}


@register.filter
def tag_colour(value: str) -> str:
    return TAG_COLOURS.get(str(value).lower(), "grey")


@register.filter
def widget_type(field: BoundField) -> str:
    return field.field.widget.__class__.__name__.lower()


@register.simple_tag(takes_context=True)
def page_url(context, page_number: int) -> str:
    query = context.get("querystring", "")
    return f"?{query}&page={page_number}" if query else f"?page={page_number}"


@register.filter
def figure_label(key: str) -> str:
    return str(key).replace("_", " ").capitalize()

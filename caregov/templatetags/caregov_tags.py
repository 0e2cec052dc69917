from django import template
from django.forms import BoundField

register = template.Library()

TAG_COLOURS = {
    "planning": "grey",
    "rollout": "blue",
    "stabilised": "green",
    "active": "green",
    "deactivated": "grey",
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

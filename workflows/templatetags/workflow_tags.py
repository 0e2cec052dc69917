from django import template

register = template.Library()


@register.filter
def index_label(choices, index: int) -> str:
    """The label of the choice at a position: workflows|index_label:0 -> "Care planning"."""
    return choices[index][1]

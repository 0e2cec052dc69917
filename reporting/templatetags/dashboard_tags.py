"""Tags for the dashboards, which show a rated figure hundreds of times a page.

The markup is joined by hand and marked safe rather than built with format_html: at this count
format_html's lazy-text checks cost more than the rest of the grid. Every part is escaped here,
or is a rating code or a number.
"""

from __future__ import annotations

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from assurance.selectors import Figure

register = template.Library()

NO_DATA = '<span class="muted">No data</span>'


def _rated(figure: Figure) -> str:
    rating = figure.rating
    if not rating:
        return NO_DATA
    return (
        f'<strong class="tag tag--{rating}">{escape(figure.rating_label)}</strong>'
        f'<span class="visually-hidden">:</span> <span class="figure">{figure.value}%</span>'
        '<span class="dash-target"><span class="visually-hidden">, </span>'
        f"target {figure.thresholds.target.normalize():f}%</span>"
    )


@register.filter
def rated(figure: Figure) -> SafeString:
    """The word in its coloured tag, the figure and the target, which a screen reader reads as
    one phrase: "Red: 71.0%, target 90%"."""
    return mark_safe(_rated(figure))  # noqa: S308  (escaped above)


@register.simple_tag
def rated_cells(items) -> SafeString:
    """A table row's cells, one a figure, rated; under a grid cell's figure, its change from the
    month before. One tag for the whole row: looping over the cells in the template costs more
    than the cells themselves."""
    cells = []
    for item in items:
        words = getattr(item, "change_words", "")
        change = f'<span class="dash-change">{escape(words)}</span>' if words else ""
        cells.append(f"<td>{_rated(getattr(item, 'figure', item))}{change}</td>")
    return mark_safe("".join(cells))  # noqa: S308  (escaped above)

"""What every list page shares: a django-filter FilterSet, applied-filter tags and pagination."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import QueryDict

PAGE_SIZE = 25


@dataclass
class AppliedFilter:
    label: str
    value: str
    remove_url: str


def applied_filters(filterset) -> list[AppliedFilter]:
    if not filterset.is_bound or not filterset.is_valid():
        return []
    tags = []
    data: QueryDict = filterset.data
    for name, field in filterset.form.fields.items():
        raw = data.get(name)
        if raw in (None, ""):
            continue
        value = filterset.form.cleaned_data.get(name)
        if hasattr(field, "choices") and not hasattr(value, "pk"):
            shown = dict(field.choices).get(raw, raw)
        else:
            shown = str(value) if value not in (None, "") else raw
        remaining = data.copy()
        # An empty value, not a missing one, so a list's default filter is not re-applied.
        remaining[name] = ""
        remaining.pop("page", None)
        tags.append(AppliedFilter(str(field.label), str(shown), "?" + remaining.urlencode()))
    return tags


def filtered_page(request, filterset, *, page_size: int = PAGE_SIZE) -> dict:
    queryset = filterset.qs
    paginator = Paginator(queryset, page_size)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "filter": filterset,
        "page_obj": page,
        "object_list": page.object_list,
        "total": paginator.count,
        "applied_filters": applied_filters(filterset),
        "querystring": query.urlencode(),
    }

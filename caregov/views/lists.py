"""What every list page shares: a django-filter FilterSet, applied-filter tags and pagination."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict

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
        "csv_url": csv_link(request),
    }


#: Spreadsheet programs run cells that start with these as formulas; prefix them so they do not.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    from django.utils import timezone
    from django.utils.formats import date_format

    if value is None:
        return ""
    if hasattr(value, "tzinfo") and hasattr(value, "hour"):
        value = date_format(timezone.localtime(value), "j M Y H:i")
    elif hasattr(value, "isoformat") and not isinstance(value, str):
        value = date_format(value, "j M Y")
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"


def csv_response(filename: str, columns: list[tuple[str, object]], rows) -> HttpResponse:
    """A CSV of `rows`; each column is a heading and a function of the row."""
    import csv

    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # so spreadsheet programs read the file as UTF-8
    writer = csv.writer(response)
    writer.writerow([heading for heading, _ in columns])
    for row in rows:
        writer.writerow([_cell(get(row)) for _, get in columns])
    return response


def csv_link(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query["format"] = "csv"
    return "?" + query.urlencode()

"""The generic pages of a declared record kind (caregov.records): list, detail, history, new and
change. Each view declares the capability it needs, from the kind, once."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from caregov import access
from caregov.forms import apply_validation_error
from caregov.records import RecordKind
from caregov.views.governance import history_page
from caregov.views.lists import csv_response, filtered_page, wants_csv

#: A yes/no filter's choices: "any" rather than django-filter's "Unknown".
YES_OR_NO = [("", "Any"), ("true", "Yes"), ("false", "No")]


def _filterset(kind: RecordKind, user, data):
    """The kind's filters over the records `user` may see; a filter that offers records of
    another model (a service, a person) offers only those of the user's own scope."""
    meta = type("Meta", (), {"model": kind.model, "fields": list(kind.filters)})
    filterset_class = type(
        f"{kind.model.__name__}KitFilter", (django_filters.FilterSet,), {"Meta": meta}
    )
    filterset = filterset_class(data or None, queryset=kind.restrict(user))
    for name, choice in filterset.filters.items():
        if isinstance(choice, django_filters.ModelChoiceFilter):
            choice.queryset = kind.choices_for(user, name, choice.queryset)
            choice.extra["empty_label"] = "Any"
        elif isinstance(choice, django_filters.BooleanFilter):
            choice.extra["widget"] = forms.Select(choices=YES_OR_NO)
    return filterset


def _crumbs(kind: RecordKind, record=None) -> list:
    crumbs = [(kind.title, kind.url_name("list"), None)]
    if record is not None:
        crumbs.append((str(record), kind.url_name("detail"), record.pk))
    return crumbs


def _record(kind: RecordKind, request, pk: int, action: str = "view"):
    return get_object_or_404(kind.restrict(request.user, action), pk=pk)


def _can_record(kind: RecordKind, user, record=None) -> bool:
    if record is None:
        return access.has_capability(user, kind.record)
    return access.has_capability_for(user, kind.record, record)


def list_view(kind: RecordKind):
    @access.requires(kind.view)
    def view(request):
        filterset = _filterset(kind, request.user, request.GET)
        if wants_csv(request):
            columns = [(c.heading, c.of) for c in (*kind.columns, *kind.details)]
            return csv_response(f"{kind.name}s.csv", columns, filterset.qs)
        page = filtered_page(request, filterset)
        detail = kind.url_name("detail")
        rows = [
            (reverse(detail, args=[record.pk]), [(c, c.of(record)) for c in kind.columns])
            for record in page["object_list"]
        ]
        return render(
            request,
            "caregov/records/list.html",
            {
                **page,
                "kind": kind,
                "rows": rows,
                "can_record": _can_record(kind, request.user),
                "new_url": reverse(kind.url_name("new")),
                "crumbs": [],
            },
        )

    return view


def detail_view(kind: RecordKind):
    @access.requires(kind.view)
    def view(request, pk: int):
        record = _record(kind, request, pk)
        rows = [(c.heading, c.of(record)) for c in (*kind.columns, *kind.details)]
        can_change = kind.update is not None and _can_record(kind, request.user, record)
        return render(
            request,
            "caregov/records/detail.html",
            {
                "kind": kind,
                "record": record,
                "rows": rows,
                "edit_url": reverse(kind.url_name("edit"), args=[pk]) if can_change else "",
                "history_url": reverse(kind.url_name("history"), args=[pk]),
                "crumbs": _crumbs(kind),
            },
        )

    return view


def history_view(kind: RecordKind):
    @access.requires(kind.view)
    def view(request, pk: int):
        record = _record(kind, request, pk)
        return history_page(request, record, f"History of {record}", _crumbs(kind, record))

    return view


def _form_page(request, kind: RecordKind, form, *, save, heading: str, back_url: str, done: str):
    if request.method == "POST" and form.is_valid():
        try:
            record = save(form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, done.format(record=record))
            return redirect(reverse(kind.url_name("detail"), args=[record.pk]))
    return render(
        request,
        "caregov/records/form.html",
        {"kind": kind, "form": form, "heading": heading, "back_url": back_url},
    )


def new_view(kind: RecordKind):
    @access.requires(kind.record)
    @require_http_methods(["GET", "POST"])
    def view(request):
        form = kind.form(request.user, request.POST or None, once=True)

        def save(data):
            return kind.create(actor=request.user, organisation=request.user.organisation, **data)

        return _form_page(
            request,
            kind,
            form,
            save=save,
            heading=f"New {kind.one}",
            back_url=reverse(kind.url_name("list")),
            done=f"{kind.one.capitalize()} {{record}} saved.",
        )

    return view


def edit_view(kind: RecordKind):
    @access.requires(kind.record)
    @require_http_methods(["GET", "POST"])
    def view(request, pk: int):
        record = _record(kind, request, pk, "record")
        if not _can_record(kind, request.user, record):
            raise PermissionDenied("Your role does not allow changing this here.")
        initial = {name: getattr(record, name) for name in kind.change_fields}
        form = kind.form(request.user, request.POST or None, initial=initial, change=True)

        def save(data):
            return kind.update(actor=request.user, record=record, **data)

        return _form_page(
            request,
            kind,
            form,
            save=save,
            heading=f"Change {record}",
            back_url=reverse(kind.url_name("detail"), args=[record.pk]),
            done="{record} changed.",
        )

    return view


def kind_urls(kind: RecordKind) -> list:
    """The URL patterns of a kind's pages, named `<name>_list`, `<name>_detail` and so on, to
    list in the app's urls.py."""
    stem = f"{kind.name}s/"
    patterns = [
        path(stem, list_view(kind), name=f"{kind.name}_list"),
        path(f"{stem}new/", new_view(kind), name=f"{kind.name}_new"),
        path(f"{stem}<int:pk>/", detail_view(kind), name=f"{kind.name}_detail"),
        path(f"{stem}<int:pk>/history/", history_view(kind), name=f"{kind.name}_history"),
    ]
    if kind.update is not None:
        patterns.append(path(f"{stem}<int:pk>/edit/", edit_view(kind), name=f"{kind.name}_edit"))
    return patterns

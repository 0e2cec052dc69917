"""The record kit: one declaration of a governed record kind gives it its scoped queryset, its form,
its pages (list with filters, counts, pages and CSV; detail; history; new; change) and its URLs.

An app declares a kind in its own module and lists `kind_urls(kind)` (caregov.views.records) in
its urls.py:

    GAPS = RecordKind(
        app="workflows", name="gap", model=PracticeGap,
        view="practice.view", record="practice.record_gaps",
        fields=("kind", "description", "observed_on"),
        create=services.gap_record, update=services.gap_change,
        columns=(Column("Seen", "observed_on"), Column("What staff do", "description", link=True)),
        filters=("status", "risk"),
    )

The capability is said once, in the declaration: `restrict(user, "view")` gates and scopes in
one call (as NetBox's `restrict(user, action)` does), and every generic view declares the
capability it needs for the access matrix. Services write: they check the actor again with
`require_capability`, and `create_once` makes a record with an idempotency key at most once.
A page that is really its own (a tablet journey, a review workspace) is still written by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import IntegrityError, models, transaction
from django.db.models import Q, QuerySet

from caregov import access
from caregov.forms import PlainMessagesMixin
from caregov.governance_forms import DATE_WIDGET
from caregov.history import save_with_reason
from caregov.models import Organisation, Service

#: Every declared kind, by its label ("app.name"), in the order declared.
_KINDS: dict[str, RecordKind] = {}


@dataclass(frozen=True)
class Column:
    """A list column and CSV column: a heading and a field path (`service.name`) or a function
    of the record; `link` makes the cell a link to the record's page."""

    heading: str
    value: str | Callable[[models.Model], object]
    link: bool = False

    def of(self, record) -> object:
        if callable(self.value):
            return self.value(record)
        value = record
        for part in self.value.split("."):
            display = getattr(value, f"get_{part}_display", None)
            value = display() if display is not None else getattr(value, part, None)
            if value is None:
                return None
        return value


class RecordForm(PlainMessagesMixin, forms.ModelForm):
    """The form a kind's pages use: built from the model, so labels and help come from the
    model's fields, with the house's plain required-field messages."""


def require_capability(actor, capability: str, where) -> None:
    """Every service checks the actor too, not only the screens. `where` is a record (the
    capability must be held at its service, or across its organisation when it has none), a
    service, or an organisation; the refusal names the place."""
    if isinstance(where, Service):
        if not access.has_capability(actor, capability, where):
            raise PermissionDenied(f"Your role does not allow this at {where.name}.")
    elif isinstance(where, Organisation):
        if where.pk not in access.organisation_ids_where(actor, capability):
            raise PermissionDenied("Your role does not allow this across the organisation.")
    elif not access.has_capability_for(actor, capability, where):
        place = f"at {where.service.name}" if where.service_id else "across the organisation"
        raise PermissionDenied(f"Your role does not allow this {place}.")


def replayed(
    model,
    value,
    *,
    actor,
    capability: str,
    owner: str | None = "recorded_by",
    key="idempotency_key",
):
    """The record an earlier sending of the same idempotency key made, or None. With `owner`
    (the field naming who made it) only that person may have it back; without, anyone holding
    `capability` where it lives (a team's audit)."""
    if value is None:
        return None
    existing = model.objects.filter(**{key: value}).first()
    if existing is None:
        return None
    if owner is None:
        require_capability(actor, capability, existing)
    elif getattr(existing, f"{owner}_id") != actor.pk:
        raise PermissionDenied("That submission belongs to someone else.")
    return existing


def create_once(
    record: models.Model,
    *,
    actor,
    capability: str,
    reason: str,
    key: str = "idempotency_key",
    owner: str | None = "recorded_by",
    then: Callable[[models.Model], object] | None = None,
) -> tuple[models.Model, bool]:
    """Save `record`, built but not saved, at most once for its idempotency key: gives the record
    and whether it was made now. A replay of the same key (a double tap, a tablet's queue sent
    again, two requests at once) answers with the record the first one made, as `replayed`
    allows. The actor's capability is checked where the record lives; the history entry
    carries `reason`; `then(record)` writes what belongs to it (its rows) in the same
    transaction, so a replay that loses the race leaves nothing behind."""
    model = type(record)
    value = getattr(record, key)
    once = {"actor": actor, "capability": capability, "owner": owner, "key": key}
    existing = replayed(model, value, **once)
    if existing is not None:
        return existing, False
    require_capability(actor, capability, record)
    try:
        with transaction.atomic():
            save_with_reason(record, actor=actor, reason=reason)
            if then is not None:
                then(record)
    except IntegrityError:
        existing = replayed(model, value, **once)
        if existing is None:
            raise
        return existing, False
    return record, True


def _has_field(model, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


@dataclass(frozen=True)
class RecordKind:
    """A governed record kind: what it is, who may see and record it, how it is written and how
    its pages show it."""

    app: str
    name: str
    model: type[models.Model]
    #: The capabilities to see the records and to record (make or change) one.
    view: str
    record: str
    #: The model fields the new and change pages ask for.
    fields: tuple[str, ...]
    #: The service that makes a record: create(actor=..., organisation=..., **cleaned_data).
    create: Callable[..., models.Model]
    columns: tuple[Column, ...]
    #: The service that changes one: update(actor=..., record=..., **cleaned_data); None: no page.
    update: Callable[..., models.Model] | None = None
    #: Model fields to filter the list by.
    filters: tuple[str, ...] = ()
    ordering: tuple[str, ...] = ("-pk",)
    #: The list's title and the name of one record, for headings and messages.
    plural: str = ""
    singular: str = ""
    lead: str = ""
    #: Extra rows of the detail page beyond the list columns.
    details: tuple[Column, ...] = field(default=())

    def __post_init__(self):
        access.roles_granting(self.view)
        access.roles_granting(self.record)
        _KINDS[self.label] = self

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"

    @property
    def title(self) -> str:
        return self.plural or str(self.model._meta.verbose_name_plural).capitalize()

    @property
    def one(self) -> str:
        return self.singular or str(self.model._meta.verbose_name)

    def url_name(self, page: str) -> str:
        return f"{self.app}:{self.name}_{page}"

    def capability(self, action: str) -> str:
        return {"view": self.view, "record": self.record}[action]

    def restrict(self, user, action: str = "view") -> QuerySet:
        """The records `user` may see ("view") or change ("record"): refused outright without the
        capability anywhere; else only their organisation's, and, for records of a service, only
        at services where their roles grant it."""
        capability = self.capability(action)
        if not access.has_capability(user, capability):
            raise PermissionDenied("Your role does not allow this.")
        records = self.model.objects.all()
        if _has_field(self.model, "organisation"):
            records = records.filter(organisation_id=user.organisation_id)
        if _has_field(self.model, "service"):
            services = access.services_where(user, capability)
            everywhere = access.has_organisation_capability(user, capability)
            if everywhere:
                records = records.filter(Q(service__in=services) | Q(service__isnull=True))
            else:
                records = records.filter(service__in=services)
        return records.order_by(*self.ordering)

    @property
    def change_fields(self) -> tuple[str, ...]:
        """The fields the change page asks for: a record stays at its service."""
        return tuple(name for name in self.fields if name not in ("service", "organisation"))

    def form_class(self, *, once: bool = False, change: bool = False) -> type[RecordForm]:
        """The kind's ModelForm (for a change, without the service); with `once`, a hidden
        idempotency key too, so a form sent twice (a double tap, a reload) makes one record."""
        attrs = {}
        if once and _has_field(self.model, "idempotency_key"):
            attrs["idempotency_key"] = forms.UUIDField(widget=forms.HiddenInput, required=False)
        base = type(f"{self.model.__name__}Form", (RecordForm,), attrs) if attrs else RecordForm
        fields = self.change_fields if change else self.fields
        dates = {
            name: DATE_WIDGET
            for name in fields
            if type(self.model._meta.get_field(name)) is models.DateField
        }
        return forms.modelform_factory(self.model, form=base, fields=fields, widgets=dates)

    def choices_for(self, user, name: str, queryset: QuerySet, action: str = "view") -> QuerySet:
        """What a filter or a form may offer `user` for the related field `name`: services only
        where their roles grant the kind's capability, anything else (people included) of their
        organisation only (and nothing, rather than everything, for a model caregov cannot scope)."""
        related = queryset.model
        if related is Service:
            return access.services_where(user, self.capability(action))
        if _has_field(related, "organisation"):
            return queryset.filter(organisation_id=user.organisation_id)
        return queryset.none()

    def form(self, user, *args, once: bool = False, change: bool = False, **kwargs) -> RecordForm:
        """The form for `user`: a service can be chosen only among those where they record, and
        any other related record only within their organisation."""
        form = self.form_class(once=once, change=change)(*args, **kwargs)
        for name, choice in form.fields.items():
            if isinstance(choice, forms.ModelChoiceField):
                choice.queryset = self.choices_for(user, name, choice.queryset, "record")
                # One service to choose from: it is chosen.
                if name == "service" and not form.is_bound and len(choice.queryset) == 1:
                    form.initial.setdefault(name, choice.queryset[0].pk)
        if "idempotency_key" in form.fields and not form.is_bound:
            form.initial.setdefault("idempotency_key", uuid.uuid4())
        return form


def kinds() -> list[RecordKind]:
    """Every declared record kind."""
    return list(_KINDS.values())


def kind_for(label: str) -> RecordKind:
    return _KINDS[label]

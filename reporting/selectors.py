"""Reads for packs, scoped to what the user may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from caregov.access import organisation_ids_where
from caregov.models import User
from reporting.models import Pack
from reporting.packs import pack_kinds


def pack_list(*, user: User) -> QuerySet[Pack]:
    """Packs of the kinds the user may read, for the organisations where they may read them.
    Packs cover a whole organisation, so an organisation-wide role is needed."""
    where = Q(pk__in=[])
    for kind in pack_kinds.all():
        organisations = organisation_ids_where(user, kind.view_capability)
        if organisations:
            where |= Q(kind=kind.code, organisation_id__in=organisations)
    return Pack.objects.filter(where).select_related("organisation", "requested_by", "source")

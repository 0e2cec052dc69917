"""Reporting's step in the getting-started checklist: a first board pack built."""

from __future__ import annotations

from django.utils.formats import date_format

from caregov.models import Organisation, Service
from caregov.registry import GettingStartedStep, StepProgress, register_getting_started_step
from reporting.models import Pack


def first_board_pack_built(organisation: Organisation, services: list[Service]) -> StepProgress:
    boards = Pack.objects.filter(organisation=organisation, kind="board")
    built = boards.filter(status=Pack.Status.BUILT).order_by("built_at", "pk").first()
    if built is not None:
        when = f", ready {date_format(built.built_at, 'j M Y')}" if built.built_at else ""
        return StepProgress(True, f"{built}{when}.")
    building = (
        boards.filter(status__in=[Pack.Status.QUEUED, Pack.Status.BUILDING]).order_by("pk").first()
    )
    if building is not None:
        return StepProgress(False, f"{building} is being built.")
    return StepProgress(False, "No board pack built yet.")


register_getting_started_step(
    GettingStartedStep(
        code="reporting.first_board_pack",
        order=70,
        label="Build a first board pack",
        hint="The quarter's pack for the board, as a PDF: built from the records as they stood at "
        "the quarter's end.",
        url_name="reporting:pack_list",
        capability="packs.view",
        done_by="A senior leader, the operations director or the quality lead builds it.",
        progress=first_board_pack_built,
    )
)

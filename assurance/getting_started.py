"""Data assurance's steps in the getting-started checklist: the thresholds reviewed, a first ECM
export for each service, a first record audit submitted. Each reads in one or two queries."""

from __future__ import annotations

from django.utils.formats import date_format

from assurance.models import Audit, EcmImport, ThresholdReview, ThresholdVersion
from caregov.getting_started import names
from caregov.models import Organisation, Service
from caregov.registry import GettingStartedStep, StepProgress, register_getting_started_step


def thresholds_reviewed(organisation: Organisation, services: list[Service]) -> StepProgress:
    # Setting a threshold is a review of it; an organisation happy with caregov's defaults
    # confirms that it has read them.
    review = (
        ThresholdReview.objects.filter(organisation=organisation)
        .select_related("reviewed_by")
        .order_by("reviewed_at")
        .first()
    )
    if review is not None:
        return StepProgress(
            True,
            f"Confirmed by {review.reviewed_by} on {date_format(review.reviewed_on, 'j M Y')}.",
        )
    if ThresholdVersion.objects.filter(organisation=organisation).exists():
        return StepProgress(True, "Your own thresholds are set.")
    return StepProgress(False, "Every measure still uses caregov's defaults, unconfirmed.")


def first_exports_imported(organisation: Organisation, services: list[Service]) -> StepProgress:
    if not services:
        return StepProgress(False, "Add your services first.")
    imported = set(
        EcmImport.objects.filter(
            organisation=organisation,
            service__in=[s.pk for s in services],
            status=EcmImport.Status.IMPORTED,
        )
        .values_list("service_id", flat=True)
        .distinct()
    )
    missing = [s for s in services if s.pk not in imported]
    if missing:
        return StepProgress(False, f"Still to import: {names(missing)}.")
    if len(services) == 1:
        return StepProgress(True, f"{services[0].name} has one.")
    return StepProgress(True, f"All {len(services)} services have one.")


def first_audit_submitted(organisation: Organisation, services: list[Service]) -> StepProgress:
    first = (
        Audit.objects.filter(organisation=organisation, status=Audit.Status.SUBMITTED)
        .select_related("service")
        .order_by("submitted_at", "pk")
        .first()
    )
    if first is None:
        return StepProgress(False, "No audit submitted yet.")
    return StepProgress(True, f"{first.service.name}, {first.period_label}.")


register_getting_started_step(
    GettingStartedStep(
        code="assurance.thresholds",
        order=30,
        label="Review the measures and thresholds",
        hint="Read what each data quality measure means, change any target or green and "
        "amber threshold that does not suit you, then confirm you have reviewed them.",
        url_name="assurance:framework",
        capability="assurance.view",
        done_by="The data quality lead reviews and confirms them.",
        progress=thresholds_reviewed,
    )
)
register_getting_started_step(
    GettingStartedStep(
        code="assurance.first_exports",
        order=40,
        label="Import a first ECM export for each service",
        hint="Upload a month's export from your ECM for every service: the figures are "
        "computed from it.",
        url_name="assurance:import_new",
        capability="ecm.import",
        done_by="A registered manager, the data quality lead or the quality lead imports it.",
        progress=first_exports_imported,
    )
)
register_getting_started_step(
    GettingStartedStep(
        code="assurance.first_audit",
        order=50,
        label="Submit a first record audit",
        hint="Check a sample of care records against the measures, on a tablet or a computer.",
        url_name="assurance:audit_new",
        capability="audits.conduct",
        done_by="A team leader, registered manager, the data quality lead or the quality lead "
        "audits records.",
        progress=first_audit_submitted,
    )
)

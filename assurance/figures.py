"""Figures computed from records, never typed: each service-month's measures from its latest ECM
export and its submitted audits, stored in MeasureResult and AuditAgreement as they change.

`recompute_service_month` is the only writer of those two tables. It is called when an export is
imported and when an audit is submitted, so pages and triggers read a few summary rows instead of
scanning exports and audit checks on every request.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from itertools import combinations

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from assurance.measures import CHECKED, MeasureCode, Source, percentage
from assurance.models import (
    Audit,
    AuditAgreement,
    AuditCheck,
    EcmImport,
    EcmRecord,
    MeasureResult,
)
from caregov.models import Service


def latest_import(service: Service | int, period_start: date) -> EcmImport | None:
    return (
        EcmImport.objects.filter(
            service=service, period_start=period_start, status=EcmImport.Status.IMPORTED
        )
        # NULLS LAST so that PostgreSQL and SQLite agree (PostgreSQL puts nulls first).
        .order_by(F("finished_at").desc(nulls_last=True), "-pk")
        .first()
    )


def current_audits(service: Service | int, period_start: date):
    """Submitted audits that count: a submitted correction replaces the audit it corrects."""
    corrected = Audit.objects.filter(
        service=service,
        period_start=period_start,
        status=Audit.Status.SUBMITTED,
        corrects__isnull=False,
    ).values("corrects_id")
    return Audit.objects.filter(
        service=service, period_start=period_start, status=Audit.Status.SUBMITTED
    ).exclude(pk__in=corrected)


def ecm_counts(ecm_import: EcmImport) -> dict:
    """One aggregate over the export's rows."""
    tolerance = timedelta(minutes=ecm_import.tolerance_minutes)
    recorded = Q(recorded_at__isnull=False)
    return EcmRecord.objects.filter(ecm_import=ecm_import).aggregate(
        due=Count("pk"),
        recorded=Count("pk", filter=recorded),
        on_time=Count("pk", filter=recorded & Q(recorded_at__lte=F("due_at") + tolerance)),
        with_outcome=Count("pk", filter=recorded & Q(outcome_recorded=True)),
        reviews_due=Count("pk", filter=Q(review_due_on__isnull=False)),
        reviews_on_time=Count(
            "pk",
            filter=Q(review_due_on__isnull=False, last_review_on__lte=F("review_due_on")),
        ),
    )


def ecm_results(counts: dict) -> dict[str, tuple[int, int]]:
    return {
        MeasureCode.COMPLETENESS: (counts["recorded"], counts["due"]),
        MeasureCode.TIMELINESS: (counts["on_time"], counts["recorded"]),
        MeasureCode.OUTCOME_EVIDENCE: (counts["with_outcome"], counts["recorded"]),
        MeasureCode.REVIEW_COMPLIANCE: (counts["reviews_on_time"], counts["reviews_due"]),
    }


def audit_results(audit_ids: list[int]) -> dict[str, tuple[int, int]]:
    """Met as a share of met and not met, per measure; not applicable is left out."""
    rows = (
        AuditCheck.objects.filter(record__audit_id__in=audit_ids)
        .exclude(answer=AuditCheck.Answer.NOT_APPLICABLE)
        .values("measure")
        .annotate(
            met=Count("pk", filter=Q(answer=AuditCheck.Answer.MET)),
            answered=Count("pk"),
        )
    )
    return {r["measure"]: (r["met"], r["answered"]) for r in rows}


def reliability(ecm_import: EcmImport | None, audit_ids: list[int]) -> dict | None:
    """Compare what the export says about the audited records with what the auditors found."""
    if ecm_import is None or not audit_ids:
        return None
    # Where two audits checked the same record, the later submission's answer counts.
    audited = dict(
        AuditCheck.objects.filter(record__audit_id__in=audit_ids, measure=MeasureCode.COMPLETENESS)
        .exclude(answer=AuditCheck.Answer.NOT_APPLICABLE)
        .order_by("record__audit__submitted_at", "record__audit_id")
        .values_list("record__reference", "answer")
    )
    if not audited:
        return None
    in_export = dict(
        EcmRecord.objects.filter(ecm_import=ecm_import, reference__in=list(audited)).values_list(
            "reference", "recorded_at"
        )
    )
    matched = [ref for ref in audited if ref in in_export]
    ecm_complete = sum(1 for ref in matched if in_export[ref] is not None)
    audit_complete = sum(1 for ref in matched if audited[ref] == AuditCheck.Answer.MET)
    agree = sum(
        1
        for ref in matched
        if (in_export[ref] is not None) == (audited[ref] == AuditCheck.Answer.MET)
    )
    ecm_rate = percentage(ecm_complete, len(matched))
    audit_rate = percentage(audit_complete, len(matched))
    return {
        "agree": agree,
        "matched": len(matched),
        "detail": {
            "ecm_completion": str(ecm_rate) if ecm_rate is not None else None,
            "audit_completion": str(audit_rate) if audit_rate is not None else None,
            "divergence": str(abs(ecm_rate - audit_rate)) if matched else None,
            "not_in_export": len(audited) - len(matched),
            "ecm_import": ecm_import.pk,
            "audits": audit_ids,
        },
    }


def agreements(audit_ids: list[int]) -> list[dict]:
    """For each pair of audits sharing records: shared checks and how many differ."""
    answers: dict[int, dict[tuple[str, str], str]] = defaultdict(dict)
    for audit_id, reference, measure, answer in (
        AuditCheck.objects.filter(record__audit_id__in=audit_ids)
        .exclude(answer=AuditCheck.Answer.NOT_APPLICABLE)
        .values_list("record__audit_id", "record__reference", "measure", "answer")
    ):
        answers[audit_id][(reference, measure)] = answer
    pairs = []
    for first, second in combinations(sorted(answers), 2):
        shared = answers[first].keys() & answers[second].keys()
        if not shared:
            continue
        pairs.append(
            {
                "first_id": first,
                "second_id": second,
                "shared_records": len({ref for ref, _ in shared}),
                "shared_checks": len(shared),
                "disagreements": sum(1 for k in shared if answers[first][k] != answers[second][k]),
            }
        )
    return pairs


@transaction.atomic
def recompute_service_month(service: Service, period_start: date) -> list[MeasureResult]:
    """Rewrite the figures for one service and month from its latest export and current audits."""
    # One rewrite of a service's figures at a time, each reading what the one before committed:
    # two audits submitted at once would otherwise both insert the same rows, or the later would
    # overwrite the figures with a count that leaves the other audit out.
    Service.objects.select_for_update().filter(pk=getattr(service, "pk", service)).exists()
    now = timezone.now()
    ecm_import = latest_import(service, period_start)
    audit_ids = list(current_audits(service, period_start).values_list("pk", flat=True))
    results: list[MeasureResult] = []

    def add(measure, source, numerator, denominator, detail=None):
        results.append(
            MeasureResult(
                organisation_id=service.organisation_id,
                service=service,
                period_start=period_start,
                measure=measure,
                source=source,
                numerator=numerator,
                denominator=denominator,
                detail=detail or {},
                computed_at=now,
            )
        )

    if ecm_import is not None:
        counts = ecm_counts(ecm_import)
        for measure, (num, den) in ecm_results(counts).items():
            add(measure, Source.ECM, num, den, {"ecm_import": ecm_import.pk})
    if audit_ids:
        checked = audit_results(audit_ids)
        for measure in CHECKED:
            if measure in checked:
                num, den = checked[measure]
                add(measure, Source.AUDIT, num, den, {"audits": audit_ids})
    compared = reliability(ecm_import, audit_ids)
    if compared is not None:
        add(
            MeasureCode.DASHBOARD_RELIABILITY,
            Source.COMPARISON,
            compared["agree"],
            compared["matched"],
            compared["detail"],
        )
    MeasureResult.objects.filter(service=service, period_start=period_start).delete()
    MeasureResult.objects.bulk_create(results)
    AuditAgreement.objects.filter(service=service, period_start=period_start).delete()
    AuditAgreement.objects.bulk_create(
        AuditAgreement(
            organisation_id=service.organisation_id,
            service=service,
            period_start=period_start,
            **pair,
        )
        for pair in agreements(audit_ids)
    )
    return results

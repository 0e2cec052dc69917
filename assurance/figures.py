"""Figures computed from records, never typed: each service-month's measures from its latest ECM
export and its submitted audits, stored in MeasureResult and AuditAgreement as they change.

`recompute_service_month` is the only writer of those two tables, so pages and triggers read a
few summary rows instead of scanning exports and audit checks on every request. It runs on the
worker: at the end of an import (the import is the worker's task), and after an audit is
submitted. A submission does not wait for it: it marks the month as being updated
(`figures_changed`, a FigureRefresh row) and, once committed, queues `refresh` for the worker.
Pages say which figures are being updated until the worker is done; triggers and frozen board
evidence refresh a waiting month before they read it (`FigureTable(..., fresh=True)`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, timedelta
from itertools import combinations

from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from assurance.measures import CHECKED, MeasureCode, Source, percentage
from assurance.models import (
    Audit,
    AuditAgreement,
    AuditCheck,
    EcmImport,
    EcmRecord,
    FigureRefresh,
    MeasureResult,
)
from caregov.models import Service

log = logging.getLogger("caregov.assurance")


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
    """The export's counts: stored on the import as it was imported, so recomputing a month after
    an audit reads one row, not every row of the export. An import made before counts were
    stored is counted from its rows."""
    return ecm_import.counts or count_rows(ecm_import)


def count_rows(ecm_import: EcmImport) -> dict:
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
    # overwrite the figures with a count that leaves the other audit out. NO KEY: rows that only
    # refer to the service (a submission marking its month as being updated) need not wait.
    _lock_service(service)
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
    # Figures that came out as they were stay as they were: recomputing twice writes nothing
    # the second time.
    stored = MeasureResult.objects.filter(service=service, period_start=period_start)
    if _result_keys(stored) != {_result_key(r) for r in results}:
        stored.delete()
        MeasureResult.objects.bulk_create(results)
    pairs = agreements(audit_ids)
    stored_pairs = AuditAgreement.objects.filter(service=service, period_start=period_start)
    if set(stored_pairs.values_list(*AGREEMENT_FIELDS)) != {
        tuple(pair[f] for f in AGREEMENT_FIELDS) for pair in pairs
    }:
        stored_pairs.delete()
        AuditAgreement.objects.bulk_create(
            AuditAgreement(
                organisation_id=service.organisation_id,
                service=service,
                period_start=period_start,
                **pair,
            )
            for pair in pairs
        )
    return results


AGREEMENT_FIELDS = (
    "first_id",
    "second_id",
    "shared_records",
    "shared_checks",
    "disagreements",
)


def _result_key(result: MeasureResult) -> tuple:
    return (
        result.organisation_id,
        result.measure,
        result.source,
        result.numerator,
        result.denominator,
        repr(sorted(result.detail.items())),
    )


def _result_keys(rows) -> set[tuple]:
    return {_result_key(r) for r in rows}


def _lock_service(service: Service | int) -> None:
    Service.objects.select_for_update(no_key=True).filter(
        pk=getattr(service, "pk", service)
    ).exists()


# Figures being updated -------------------------------------------------------------------------


def figures_changed(service: Service, period_start: date) -> None:
    """Something the service-month's figures count has changed, in the transaction under way:
    mark them as being updated and, once it commits, ask the worker to rewrite them.

    However many changes arrive before the worker gets there, the month has one FigureRefresh
    row; each change adds one to its generation. Queuing is robust: if the broker cannot be
    reached the change is still committed, the month still shows as being updated, and the
    sweep (`refresh_waiting`, on the beat) rewrites it."""
    table = FigureRefresh._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (organisation_id, service_id, period_start, generation, "  # noqa: S608
            "requested_at) VALUES (%s, %s, %s, 1, %s) "
            "ON CONFLICT (service_id, period_start) "
            f"DO UPDATE SET generation = {table}.generation + 1",
            [service.organisation_id, service.pk, period_start, timezone.now()],
        )
    service_id = service.pk
    # A function, not a partial: a failing robust callback is logged by its __qualname__.
    transaction.on_commit(lambda: _queue_refresh(service_id, period_start), robust=True)


def _queue_refresh(service_id: int, period_start: date) -> None:
    from assurance.tasks import refresh_figures

    refresh_figures.delay(service_id, period_start.isoformat())


def refresh(service: Service | int, period_start: date) -> bool:
    """Rewrite a service-month's figures if they are waiting to be (the worker's task). Returns
    False when there was nothing to do: an earlier run had already counted every change, so many
    submissions for one month need one rewrite, and running this twice writes nothing twice.

    The service is locked first, so a run that waited for another sees what that one committed.
    The row is removed only at the generation this run read: a change committed while it was
    counting leaves the month waiting, for the run that change queued."""
    service_id = getattr(service, "pk", service)
    with transaction.atomic():
        _lock_service(service_id)
        waiting = FigureRefresh.objects.filter(service_id=service_id, period_start=period_start)
        generation = waiting.values_list("generation", flat=True).first()
        if generation is None:
            return False
        recompute_service_month(Service.objects.get(pk=service_id), period_start)
        waiting.filter(generation=generation).delete()
    return True


def refresh_waiting(
    *, older_than: timedelta = timedelta(0), keep_going: bool = False, **filters
) -> int:
    """Rewrite every month waiting since before `older_than` ago and matching `filters`: the
    sweep (which keeps going past a month that fails, and logs it), and readers that must not
    read a month being updated. Returns how many months were rewritten."""
    cutoff = timezone.now() - older_than
    waiting = list(
        FigureRefresh.objects.filter(requested_at__lte=cutoff, **filters).values_list(
            "service_id", "period_start"
        )
    )
    done = 0
    for service_id, period_start in waiting:
        try:
            done += refresh(service_id, period_start)
        except Exception:
            if not keep_going:
                raise
            log.exception("Figures for service %s, %s were not rewritten", service_id, period_start)
    return done


def sweep(*, at=None) -> str:
    """The scheduler's job: months still waiting a minute after they were marked."""
    done = refresh_waiting(older_than=timedelta(minutes=1), keep_going=True)
    return (
        f"figures rewritten for {done} waiting service-month{'s' if done != 1 else ''}"
        if done
        else ""
    )

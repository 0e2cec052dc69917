import os
from datetime import datetime

import pytest
import time_machine

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

#: The moment the whole suite lives at, whatever the machine's clock says: its worlds are built
#: around October and November 2026 (Tuesday 24 Nov 2026, 11:00 in London, GMT). The clock ticks
#: on from here. CAREGOV_TEST_NOW names another moment (ISO 8601, with its offset).
SUITE_MOMENT = datetime.fromisoformat(
    os.environ.get("CAREGOV_TEST_NOW") or "2026-11-24T11:00:00+00:00"
)
_suite_clock = None


def pytest_configure(config):
    # Every pytest process (the xdist controller and each worker) travels once, before Django
    # or any test module reads the time; tests that need another moment travel from here.
    global _suite_clock
    _suite_clock = time_machine.travel(SUITE_MOMENT, tick=True)
    _suite_clock.start()


def pytest_unconfigure(config):
    if _suite_clock is not None:
        _suite_clock.stop()


def pytest_report_header(config):
    return f"suite clock: {SUITE_MOMENT.isoformat()} (ticking), whatever the machine's date"


from caregov.access import Role  # noqa: E402
from tests.factories import OrganisationFactory, ServiceFactory, person_with_role  # noqa: E402

#: Roles whose membership in the test world names one service; the rest cover the organisation.
SERVICE_SCOPED = {
    Role.REGISTERED_MANAGER,
    Role.TEAM_LEADER,
    Role.DIGITAL_CHAMPION,
    Role.CARE_STAFF,
    Role.COMMISSIONER,
}


def _force_login(self, user, backend=None, *, second_factor=True):
    """`force_login` stands for a whole sign-in, second factor included (it skips the password
    too); `second_factor=False` leaves the session as the password step alone leaves it."""
    _plain_force_login(self, user, backend)
    if second_factor:
        from caregov import mfa

        mfa.pass_test_client(self)


from django.test.client import ClientMixin  # noqa: E402

_plain_force_login = ClientMixin.force_login
ClientMixin.force_login = _force_login


@pytest.fixture(autouse=True)
def _fast_and_eager(settings, tmp_path_factory):
    from caregov.celery import app

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Tests that run the scheduler are about cycles and triggers; the pack schedule has its own
    # tests, which turn this back on (a pack build draws charts in Chromium: seconds each).
    settings.REPORTING_PACKS_ON_SCHEDULE = False
    # Files a test writes (built packs) go to this test process's temporary folder.
    settings.MEDIA_ROOT = tmp_path_factory.getbasetemp() / "media"
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield


class World:
    """Two providers: ours with services A and B, another with C; one person per role."""

    def __init__(self):
        self.org = OrganisationFactory(name="Oakfield Care Group")
        self.other_org = OrganisationFactory(name="Elsewhere Care Ltd")
        self.service_a = ServiceFactory(organisation=self.org, name="Willow House", code="WILLOW")
        self.service_b = ServiceFactory(organisation=self.org, name="Beech Court", code="BEECH")
        self.service_c = ServiceFactory(organisation=self.other_org, name="Far Away", code="FAR")
        self.users = {}
        for role in Role:
            service = self.service_a if role in SERVICE_SCOPED else None
            self.users[role] = person_with_role(
                role, organisation=self.org, service=service, email=f"{role.value}@oakfield.example"
            )
        self.other_admin = person_with_role(
            Role.ORG_ADMIN, organisation=self.other_org, email="admin@elsewhere.example"
        )
        self.colleague = person_with_role(
            Role.CARE_STAFF, service=self.service_a, email="colleague@oakfield.example"
        )
        self.stranger = person_with_role(
            Role.CARE_STAFF, service=self.service_c, email="stranger@elsewhere.example"
        )

        self.records = {
            s.pk: governance_records(s) for s in (self.service_a, self.service_b, self.service_c)
        }
        for service in (self.service_a, self.service_b, self.service_c):
            self.records[service.pk].update(kind_records(service, self.records[service.pk]))

    def record(self, kind: str, service):
        """A kernel record of `kind` (review, escalation, action, meeting, decision) at a service."""
        return self.records[service.pk][kind]

    def user(self, role: Role):
        return self.users[role]

    def own_service(self, role: Role):
        return self.service_a

    def other_service(self, role: Role):
        """A service this role's holder cannot see: B for service-scoped roles, else C."""
        return self.service_b if role in SERVICE_SCOPED else self.service_c


def kind_records(service, held: dict) -> dict:
    """A record of every declared record kind (caregov.records) at the service, by the kind's
    label: the world's own record of that model where it holds one, else one made from the
    model's fields. So the access matrix and the history test reach a new kind unasked."""
    from caregov import records

    made, person = {}, held["action"].owner
    for kind in records.kinds():
        own = [r for r in held.values() if isinstance(r, kind.model)]
        made[kind.label] = own[0] if own else example_record(kind.model, service, person)
    return made


def example_record(model, service, person):
    """A row of `model` at the service, each required field filled by its type: the service and
    its organisation, `person`, the first of a field's choices, a day of October
    2026. A field it cannot fill is named, so the world can be given a record of that kind."""
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from django.db import models

    from caregov.models import Organisation, Service, User

    by_model = {Organisation: service.organisation, Service: service, User: person}
    by_type = [
        (models.DateTimeField, datetime(2026, 10, 5, 10, 0, tzinfo=UTC)),
        (models.DateField, date(2026, 10, 5)),
        (models.DecimalField, Decimal("1")),
        (models.IntegerField, 1),
        (models.BooleanField, True),
        (models.CharField, "Example"),
        (models.TextField, "Example"),
        (models.JSONField, []),
    ]
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.has_default() or field.null or field.blank:
            continue
        if field.is_relation:
            values[field.name] = by_model.get(field.related_model)
        elif field.choices:
            values[field.name] = field.choices[0][0]
        else:
            values[field.name] = next((v for t, v in by_type if isinstance(field, t)), None)
        if values[field.name] is None:
            raise LookupError(
                f"Cannot make an example {model.__name__}: fill {field.name} in the world."
            )
    return model.objects.create(**values)


def governance_records(service) -> dict:
    """One review cycle, escalation, action, meeting and decision at the service."""
    from datetime import date, timedelta

    from caregov.models import Action, Decision, Escalation, Meeting, ReviewCycle

    org = service.organisation
    review = ReviewCycle.objects.create(
        kind="assurance.trend_review",
        organisation=org,
        service=service,
        cadence="monthly",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        body="registered_manager",
        due_on=date(2026, 11, 10),
    )
    escalation = Escalation.objects.create(
        trigger="caregov.review_overdue",
        organisation=org,
        service=service,
        cadence="monthly",
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        subject=f"review:{review.pk}",
        title=f"Review overdue at {service.name}",
        escalated_to="quality_lead",
        evidence={
            "figures": {"days_since_period_end": 20},
            "records": [{"model": "caregov.ReviewCycle", "id": review.pk, "label": str(review)}],
        },
    )
    owner = person_with_role(Role.REGISTERED_MANAGER, service=service)
    action = Action.objects.create(
        organisation=org,
        service=service,
        title="Refresher training on daily notes",
        owner=owner,
        due_on=date.today() + timedelta(days=14),
        source="escalation",
        escalation=escalation,
    )
    meeting = Meeting.objects.create(
        organisation=org,
        service=service,
        body="quality_meeting",
        meeting_date=date(2026, 11, 2),
        title=f"Quality meeting at {service.name}",
        attendees="Quality lead",
    )
    decision = Decision.objects.create(
        meeting=meeting, text="Audit daily notes weekly until December."
    )
    return {
        "review": review,
        "escalation": escalation,
        "action": action,
        "meeting": meeting,
        "decision": decision,
        **assurance_records(service, owner),
        **workflow_records(service, owner),
        **pack_records(service),
    }


def assurance_records(service, person) -> dict:
    """An imported ECM export, a draft audit with one failed check, and a comparison."""
    from datetime import date

    from assurance.models import Audit, AuditCheck, AuditRecord, Comparison, EcmImport

    org = service.organisation
    ecm_import = EcmImport.objects.create(
        organisation=org,
        service=service,
        period_start=date(2026, 10, 1),
        file_name="export.csv",
        sha256="0" * 64,
        status=EcmImport.Status.IMPORTED,
        uploaded_by=person,
    )
    audit = Audit.objects.create(
        organisation=org, service=service, period_start=date(2026, 10, 1), started_by=person
    )
    record = AuditRecord.objects.create(audit=audit, position=1, reference="R00001")
    AuditCheck.objects.create(record=record, measure="completeness", answer="not_met", note="Gap")
    comparison, _ = Comparison.objects.get_or_create(
        organisation=org,
        period_start=date(2026, 10, 1),
        defaults={"recorded_by": person, "themes": "Late notes"},
    )
    from assurance.models import ImportProfile

    profile, _ = ImportProfile.objects.get_or_create(
        organisation=org,
        name="Supplier export",
        defaults={
            "header": ["ref"],
            "column_names": ["Ref"],
            "header_key": "0" * 64,
            "created_by": person,
        },
    )
    return {
        "ecm_import": ecm_import,
        "audit": audit,
        "comparison": comparison,
        "import_profile": profile,
    }


def workflow_records(service, person) -> dict:
    """The organisation's approved medication template; at the service a draft daily notes map,
    a medication map under test with one open gap, and the quarterly workflow review."""
    from datetime import date

    from django.utils import timezone

    from caregov.models import ReviewCycle
    from workflows.models import PracticeGap, WorkflowMap, WorkflowStep, WorkflowVersion

    org = service.organisation
    step = {
        "role": "care_worker",
        "action": "Give the medicines",
        "ecm_location": "eMAR",
        "prompt": "Record each dose.",
        "minutes_expected": 5,
    }
    template_map, made = WorkflowMap.objects.get_or_create(
        organisation=org, service=None, workflow="medication", defaults={"title": "Medication"}
    )
    if made:
        template = WorkflowVersion.objects.create(
            map=template_map, number=1, status="approved", approved_at=timezone.now()
        )
        WorkflowStep.objects.create(version=template, position=1, **step)
    template = template_map.versions.get(number=1)
    draft_map = WorkflowMap.objects.create(
        organisation=org, service=service, workflow="daily_notes", title="Daily notes"
    )
    draft = WorkflowVersion.objects.create(map=draft_map, number=1)
    draft_step = WorkflowStep.objects.create(version=draft, position=1, **step)
    tested_map = WorkflowMap.objects.create(
        organisation=org, service=service, workflow="medication", title="Medication"
    )
    under_test = WorkflowVersion.objects.create(
        map=tested_map, number=1, status="under_test", test_started_at=timezone.now()
    )
    tested_step = WorkflowStep.objects.create(version=under_test, position=1, **step)
    gap = PracticeGap.objects.create(
        organisation=org,
        service=service,
        step=tested_step,
        kind="workaround",
        description="Doses written on paper first",
        frequency="most_shifts",
        risk="medium",
        evidence=["observation"],
        observed_on=date(2026, 10, 5),
        recorded_by=person,
    )
    review, _ = ReviewCycle.objects.get_or_create(
        kind="workflows.quarterly_review",
        organisation=org,
        service=None,
        cadence="quarterly",
        period_start=date(2026, 7, 1),
        defaults={
            "period_end": date(2026, 9, 30),
            "body": "senior_leadership_team",
            "due_on": date(2026, 10, 21),
        },
    )
    return {
        "wf_template": template,
        "wf_draft": draft,
        "wf_draft_step": draft_step,
        "wf_under_test": under_test,
        "wf_gap": gap,
        "wf_review": review,
    }


def pack_records(service) -> dict:
    """The organisation's board pack for Q2 2026, built: a few bytes stand for its PDF, stored
    under MEDIA_ROOT (as it is when the world is made) with their sha256."""
    import hashlib
    import os
    from datetime import date

    from django.utils import timezone

    from reporting.building import packs_root
    from reporting.models import Pack
    from reporting.packs import freeze

    org = service.organisation
    pack = Pack.objects.filter(
        organisation=org, kind="board", period_start=date(2026, 4, 1)
    ).first()
    if pack is None:
        content = b"%PDF-1.4\n% A stand-in for a board pack\n%%EOF\n"
        snapshot, snapshot_sha256 = freeze({"organisation": org.name, "services": []})
        pack = Pack.objects.create(
            organisation=org,
            kind="board",
            period_start=date(2026, 4, 1),
            period_end=date(2026, 6, 30),
            status=Pack.Status.BUILT,
            started_at=timezone.now(),
            built_at=timezone.now(),
            snapshot=snapshot,
            snapshot_sha256=snapshot_sha256,
            sha256=hashlib.sha256(content).hexdigest(),
            size_bytes=len(content),
            pages=1,
            attempts=1,
        )
        pack.file_path = f"{org.pk}/board-2026-04-{pack.pk}.pdf"
        pack.save()
        path = packs_root() / pack.file_path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Whole or not at all: parallel test processes may write the same name (same bytes).
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_bytes(content)
        os.replace(partial, path)
    return {"pack": pack}


@pytest.fixture
def world(db):
    return World()


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login

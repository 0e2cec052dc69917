"""Every URL x every role x (own service, other service, anonymous): the answers the access table
promises. A URL with no access declaration fails the meta-test; a new URL with object ids in its
path needs an entry in OBJECTS below, or the matrix fails to build and says so."""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from caregov import access, records
from caregov.access import PUBLIC, Role
from caregov.models import Membership, Service, User

Which = str  # "own" or "other"


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(
                entry.url_patterns, prefix + (entry.namespace + ":" if entry.namespace else "")
            )
        elif isinstance(entry, URLPattern):
            yield prefix + (entry.name or ""), entry


ALL_PATTERNS = list(_walk(get_resolver().url_patterns))


def _service(world, role, which):
    """ "own": a service the role's holder works at; "other": one they cannot see (B for a
    service-scoped role, else C); "other_org": another organisation's service, C, for every role."""
    if which == "own":
        return world.own_service(role)
    if which == "other_org":
        return world.service_c
    return world.other_service(role)


def _person(world, role, which):
    return world.colleague if which == "own" else world.stranger


def _record(kind):
    def build(w, r, which):
        return {"pk": w.record(kind, _service(w, r, which)).pk}

    return build


def _profile(world, role, which):
    """An import profile of the role's organisation (own), or of another organisation (other,
    other_org); a service-scoped role's other service is in its own organisation, so it has no
    other."""
    service = _service(world, role, which)
    if which == "other" and service.organisation_id == world.org.pk:
        return None
    return {"pk": world.record("import_profile", service).pk}


def _wf(world, role, which):
    return world.record("wf_under_test", _service(world, role, which))


#: How to fill each URL's path arguments with an object the role should (own) or should not
#: (other) reach. Functions receive the world, the role and which.
OBJECTS: dict[str, Callable[..., dict]] = {
    "service_detail": lambda w, r, which: {"pk": _service(w, r, which).pk},
    "service_edit": lambda w, r, which: {"pk": _service(w, r, which).pk},
    "service_history": lambda w, r, which: {"pk": _service(w, r, which).pk},
    "person_detail": lambda w, r, which: {"pk": _person(w, r, which).pk},
    "person_edit": lambda w, r, which: {"pk": _person(w, r, which).pk},
    "person_history": lambda w, r, which: {"pk": _person(w, r, which).pk},
    "person_deactivate": lambda w, r, which: {"pk": _person(w, r, which).pk},
    "person_reactivate": lambda w, r, which: {"pk": _person(w, r, which).pk},
    "membership_add": lambda w, r, which: {"pk": _person(w, r, which).pk},
    "person_second_factor_reset": lambda w, r, which: {"pk": _person(w, r, which).pk},
    **{
        name: _record("review")
        for name in (
            "review_detail",
            "review_start",
            "review_sign_off",
            "review_action_raise",
            "review_history",
        )
    },
    **{
        name: _record("escalation")
        for name in (
            "escalation_detail",
            "escalation_acknowledge",
            "escalation_assign",
            "escalation_resolve",
            "escalation_action_raise",
            "escalation_history",
        )
    },
    **{
        name: _record("action")
        for name in ("action_detail", "action_complete", "action_effect", "action_history")
    },
    **{
        name: _record("meeting")
        for name in (
            "meeting_detail",
            "meeting_edit",
            "decision_add",
            "meeting_sign_off",
            "meeting_history",
        )
    },
    "decision_action_raise": _record("decision"),
    # Thresholds belong to the person's own organisation: there is no other one to address.
    "trigger_edit": lambda w, r, which: (
        {"code": "caregov.review_overdue"} if which == "own" else None
    ),
    # Data assurance
    **{
        f"assurance:{name}": _record("audit")
        for name in (
            "audit_detail",
            "audit_history",
            "audit_submit",
            "audit_correct",
            "audit_discard",
        )
    },
    **{
        f"assurance:{name}": lambda w, r, which: {**_record("audit")(w, r, which), "position": 1}
        for name in ("audit_record", "audit_check_action")
    },
    "assurance:import_detail": _record("ecm_import"),
    "assurance:import_progress": _record("ecm_import"),
    "assurance:import_retry": _record("ecm_import"),
    # A waiting upload lives in its uploader's session: another token is simply not waiting.
    "assurance:import_map": lambda w, r, which: {"token": "0" * 32} if which == "own" else None,
    "assurance:import_example": lambda w, r, which: (
        {"name": "visit-notes-day-first.csv"} if which == "own" else None
    ),
    "assurance:profile_detail": _profile,
    "assurance:profile_history": _profile,
    "assurance:profile_edit": _profile,
    "assurance:trend_review": _record("review"),
    "assurance:compare_action": _record("comparison"),
    "assurance:service_month": lambda w, r, which: {
        "pk": _service(w, r, which).pk,
        "period": "2026-10",
    },
    "assurance:threshold_edit": lambda w, r, which: (
        {"code": "completeness"} if which == "own" else None
    ),
    "assurance:reliance_detail": lambda w, r, which: (
        {"quarter": "2026-Q3"} if which == "own" else None
    ),
    # Workflow governance
    "workflows:map_detail": lambda w, r, which: {"pk": _wf(w, r, which).map_id},
    "workflows:map_revise": lambda w, r, which: {"pk": _wf(w, r, which).map_id},
    **{
        f"workflows:{name}": _record("wf_under_test")
        for name in (
            "version_detail",
            "version_history",
            "version_tests",
            "gap_new",
            "test_new",
            "finding_new",
            "version_approve",
        )
    },
    **{
        f"workflows:{name}": _record("wf_draft")
        for name in ("version_summary", "step_new", "version_start_test", "version_discard")
    },
    **{
        f"workflows:{name}": lambda w, r, which: {
            **_record("wf_draft")(w, r, which),
            "step": _record("wf_draft_step")(w, r, which)["pk"],
        }
        for name in ("step_edit", "step_move", "step_delete")
    },
    # Templates are the organisation's: the other one is another organisation's.
    "workflows:version_adopt": lambda w, r, which: {
        "pk": w.record("wf_template", w.service_a if which == "own" else w.service_c).pk
    },
    "workflows:gap_detail": _record("wf_gap"),
    "workflows:gap_history": _record("wf_gap"),
    # The quarterly review is the organisation's: the other one is another organisation's.
    "workflows:quarterly_review": lambda w, r, which: {
        "pk": w.record("wf_review", w.service_a if which == "own" else w.service_c).pk
    },
    # Board packs cover the whole organisation: the other one is another organisation's.
    **{
        f"reporting:{name}": lambda w, r, which: {
            "pk": w.record("pack", w.service_a if which == "own" else w.service_c).pk
        }
        for name in ("pack_detail", "pack_progress", "pack_download", "pack_retry", "pack_rebuild")
    },
    "membership_remove": lambda w, r, which: {
        "pk": _person(w, r, which).pk,
        "membership_pk": _person(w, r, which).memberships.first().pk,
    },
}

# Every declared record kind's pages with an id reach the kind's record in the world.
OBJECTS.update(
    {
        f"{kind.app}:{page}": _record(kind.label)
        for kind in records.kinds()
        for page in (f"{kind.name}_{p}" for p in ("detail", "history", "edit"))
    }
)

PROTECTED = [
    (name, pattern)
    for name, pattern in ALL_PATTERNS
    if access.declared_capability(pattern.callback) != PUBLIC
]


def test_every_url_declares_its_access():
    undeclared = [name for name, p in ALL_PATTERNS if not access.declared_capability(p.callback)]
    assert undeclared == [], f"URL patterns with no access declaration: {undeclared}"


def test_every_declared_capability_is_in_the_table():
    unknown = {
        access.declared_capability(p.callback)
        for _, p in PROTECTED
        if access.declared_capability(p.callback) not in access.CAPABILITIES
    }
    assert unknown == set()


def test_every_protected_url_with_arguments_has_objects_for_the_matrix():
    missing = [name for name, p in PROTECTED if p.pattern.converters and name not in OBJECTS]
    assert missing == [], f"Add these URL names to OBJECTS in {__file__}: {missing}"


def _url(world, name, pattern, role, which):
    kwargs = OBJECTS[name](world, role, which) if pattern.pattern.converters else {}
    return None if kwargs is None else reverse(name, kwargs=kwargs)


@pytest.mark.parametrize("name,pattern", PROTECTED, ids=[n for n, _ in PROTECTED])
def test_anonymous_visitors_are_sent_to_sign_in(client, world, name, pattern):
    url = _url(world, name, pattern, Role.ORG_ADMIN, "own")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_each_role_gets_what_the_table_promises(client, world, role):
    user = world.user(role)
    client.force_login(user)
    failures = []
    for name, pattern in PROTECTED:
        capability = access.declared_capability(pattern.callback)
        allowed = role in access.CAPABILITIES[capability]
        cases = ["own", "other"] if pattern.pattern.converters else ["own"]
        for which in cases:
            url = _url(world, name, pattern, role, which)
            if url is None:
                continue
            status = client.get(url).status_code
            expected = 403 if not allowed else (200 if which == "own" else 404)
            if status != expected:
                failures.append(f"{name} ({which}) -> {status}, expected {expected}")
    assert failures == [], f"{role.label}: " + "; ".join(failures)


def _row_counts():
    from django.apps import apps

    counted = {}
    for model in apps.get_models():
        if model._meta.app_label in {
            "caregov",
            "workflows",
            "assurance",
            "champions",
            "roadmap",
            "reporting",
        } | {kind.model._meta.app_label for kind in records.kinds()}:
            if model.__name__ == "SecurityEvent":
                continue
            counted[model._meta.label] = model._default_manager.count()
    return counted


#: A person's own second factor changes no record: a commissioner may set one up like anyone.
OWN_SIGN_IN = {
    "second_factor",
    "second_factor_set_up",
    "second_factor_check",
    "second_factor_recovery_codes",
    "passkey_add",
    "passkey_check",
}


def test_a_commissioner_can_change_nothing(client, world):
    commissioner = world.user(Role.COMMISSIONER)
    client.force_login(commissioner)
    before = _row_counts()
    for name, pattern in ALL_PATTERNS:
        if name in {"logout"} | OWN_SIGN_IN:
            continue
        kwargs = OBJECTS[name](world, Role.COMMISSIONER, "own") if name in OBJECTS else {}
        if pattern.pattern.converters and name not in OBJECTS:
            continue
        response = client.post(
            reverse(name, kwargs=kwargs), {"name": "Changed", "role": "org_admin"}
        )
        assert response.status_code == 403, f"POST {name} answered {response.status_code}"
    assert _row_counts() == before
    assert commissioner.security_events.filter(kind="read_only_write_refused").count() >= len(
        PROTECTED
    ) - len(OWN_SIGN_IN)


def test_a_commissioner_can_set_up_their_own_second_factor(client, world):
    commissioner = world.user(Role.COMMISSIONER)
    client.force_login(commissioner)
    response = client.post(reverse("second_factor_set_up"), {"code": "000000"})
    assert response.status_code == 200
    assert "That code is not right" in response.content.decode()
    assert not commissioner.security_events.filter(kind="read_only_write_refused").exists()


#: Every page a commissioner may open: their work and notices, the services they commission,
#: how those services work (the maps), and the assurance figures. Not the audits, staff tests
#: or practice gaps behind the figures: those are staff-level records (issue 13, section 6).
COMMISSIONER_READS = {
    "home",
    "notice_list",
    "notices_read",
    "reminders_choose",
    "service_list",
    "service_detail",
    "workflows:overview",
    "workflows:map_detail",
    "workflows:version_detail",
    "assurance:overview",
    "assurance:framework",
    "assurance:threshold_history",
    "assurance:service_month",
}


def test_a_commissioner_reaches_only_the_pages_meant_for_them():
    reached = {
        name
        for name, pattern in PROTECTED
        if Role.COMMISSIONER in access.CAPABILITIES[access.declared_capability(pattern.callback)]
    }
    # Their own sign-in (a second factor, recovery codes) is theirs to look after, like anyone's.
    assert reached == COMMISSIONER_READS | OWN_SIGN_IN


def test_a_commissioner_sees_only_the_services_named_on_their_membership(client, world):
    commissioner = world.user(Role.COMMISSIONER)
    client.force_login(commissioner)
    page = client.get(reverse("service_list")).content.decode()
    assert "Willow House" in page
    assert "Beech Court" not in page
    assert "Far Away" not in page


def test_a_team_leader_cannot_open_another_services_page(client, world):
    client.force_login(world.user(Role.TEAM_LEADER))
    assert client.get(reverse("service_detail", args=[world.service_b.pk])).status_code == 404
    assert client.get(reverse("service_detail", args=[world.service_a.pk])).status_code == 200


def test_a_refusal_is_written_to_the_security_log(client, world):
    team_leader = world.user(Role.TEAM_LEADER)
    client.force_login(team_leader)
    assert client.get(reverse("person_list")).status_code == 403
    event = team_leader.security_events.get(kind="permission_denied")
    assert event.path == reverse("person_list")
    assert "people.view" in event.detail


def test_a_role_held_at_one_service_grants_nothing_at_another(db, world):
    user = world.user(Role.REGISTERED_MANAGER)
    Membership.objects.create(
        user=user, organisation=world.org, role=Role.CARE_STAFF, service=world.service_b
    )
    user = User.objects.get(pk=user.pk)
    assert access.has_capability(user, "services.history", world.service_a)
    assert access.has_capability(user, "services.view", world.service_b)
    assert set(access.services_where(user, "services.view")) == {world.service_a, world.service_b}
    assert (
        not Service.objects.filter(pk=world.service_c.pk)
        .filter(pk__in=access.services_where(user, "services.view"))
        .exists()
    )


# Another organisation in the same caregov ------------------------------------------------------
#
# One caregov holds many providers. The world's second provider, Elsewhere Care Ltd (service Far
# Away, code FAR), gets a holder of every role and records of every kind; none of it may reach
# anyone of Oakfield, whatever their role: its pages answer 404 and no list, CSV or page of
# Oakfield's own records names any of it.

#: A word every person and free-text record of the second provider carries.
MARK = "Farrow"


@pytest.fixture
def other_organisation(world, django_capture_on_commit_callbacks):
    """The second provider with a person in every role and, besides the world's records at Far
    Away, a submitted audit, an imported export, an action with its notice, thresholds, trigger
    settings and a security event of its own."""
    from caregov.models import SecurityEvent
    from caregov.security import record_event
    from caregov.services import governance
    from tests.assurance.builders import import_rows, month, rows, submitted_audit
    from tests.conftest import SERVICE_SCOPED
    from tests.factories import person_with_role

    org, far = world.other_org, world.service_c
    people = {
        role: person_with_role(
            role,
            organisation=org,
            service=far if role in SERVICE_SCOPED else None,
            email=f"{role.value}@elsewhere.example",
            full_name=f"{MARK} {role.label}",
        )
        for role in Role
    }
    records = dict(world.records[far.pk])
    with django_capture_on_commit_callbacks(execute=True):
        records["action_farrow"] = governance.action_raise(
            actor=people[Role.QUALITY_LEAD],
            title=f"{MARK}: retrain the night staff on daily notes",
            owner=people[Role.REGISTERED_MANAGER],
            due_on=date(2026, 11, 20),
            escalation=records["escalation"],
            # Raised before the suite's moment, so it is overdue now.
            created_at=datetime(2026, 11, 5, 10, 0, tzinfo=UTC),
        )
    records["submitted_audit"] = submitted_audit(
        people[Role.TEAM_LEADER], far, month(2026, 9), {"completeness": ["met", "not_met"]}
    )
    records["import_farrow"] = import_rows(
        people[Role.DATA_QUALITY_LEAD],
        far,
        rows(3, recorded=2),
        period=month(2026, 9),
        name=f"{MARK.lower()}-september.csv",
    )
    from assurance import services as assurance_services

    assurance_services.threshold_version_save(
        actor=people[Role.DATA_QUALITY_LEAD],
        organisation=org,
        measure="completeness",
        effective_from=date(2026, 12, 1),
        target=Decimal("97"),
        green_from=Decimal("95"),
        amber_from=Decimal("93"),
        reason=f"{MARK} board asked for more",
    )
    governance.trigger_setting_save(
        actor=people[Role.QUALITY_LEAD],
        organisation=org,
        trigger_code="caregov.review_overdue",
        thresholds={},
        enabled=False,
    )
    record_event(
        SecurityEvent.Kind.LOGIN_FAILED,
        email=people[Role.BOARD_MEMBER].email,
        detail=f"{MARK} typed the wrong password",
    )
    world.other_people = people
    world.other_records = records
    return world


def _own_urls(records: dict) -> dict[str, str]:
    return {
        name: record.get_absolute_url()
        for name, record in records.items()
        if hasattr(record, "get_absolute_url")
    }


def _leaks(world, text: str) -> list[str]:
    """What of the second provider a page shows: its names, codes, people and links to its
    records (not a link every provider shares, like the comparison of a month)."""
    import re

    found = [
        m
        for m in (MARK, "Far Away", "Elsewhere Care", "elsewhere.example")
        if m.lower() in text.lower()
    ]
    if re.search(r"\bFAR\b", text):
        found.append("the code FAR")
    for name, url in _own_urls(world.other_records).items():
        if url not in _own_urls(world.records[world.service_a.pk]).values() and re.search(
            rf'["\']{re.escape(url)}["\'?#]', text
        ):
            found.append(f"a link to its {name} ({url})")
    return found


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", errors="replace")


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_no_role_opens_another_organisations_records(client, other_organisation, role):
    """Every page about one of the second provider's records: 404 for a role that may open such
    pages, 403 for one that may not. Nothing of it is in the answer."""
    world = other_organisation
    client.force_login(world.user(role))
    failures, asked = [], 0
    for name, pattern in PROTECTED:
        if not pattern.pattern.converters:
            continue
        url = _url(world, name, pattern, role, "other_org")
        if url is None:
            continue
        asked += 1
        response = client.get(url)
        allowed = role in access.CAPABILITIES[access.declared_capability(pattern.callback)]
        expected = 404 if allowed else 403
        if response.status_code != expected:
            failures.append(f"{name} -> {response.status_code}, expected {expected}")
        if leaks := _leaks(world, _body(response)):
            failures.append(f"{name} shows {leaks}")
    assert asked >= 60, f"only {asked} pages about the other provider's records were asked for"
    assert failures == [], f"{role.label}: " + "; ".join(failures)


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_no_list_csv_or_page_shows_another_organisations_rows(client, other_organisation, role):
    """Every list (and its CSV), dashboard and overview, and every page about Oakfield's own
    records (owner pickers, evidence, history), for every role: none names the second provider,
    its services, people or records."""
    world = other_organisation
    client.force_login(world.user(role))
    failures, read = [], 0
    csv_link = re.compile(r'href="(\?[^"]*format=csv[^"]*)"')
    for name, pattern in PROTECTED:
        url = _url(world, name, pattern, role, "own")
        if url is None:
            continue
        response = client.get(url)
        if response.status_code != 200:
            continue
        read += 1
        body = _body(response)
        pages = [(name, body)]
        if link := csv_link.search(body):
            download = client.get(url + link.group(1).replace("&amp;", "&"))
            assert download["Content-Type"].startswith("text/csv"), name
            pages.append((f"{name} (CSV)", _body(download)))
        for label, text in pages:
            if leaks := _leaks(world, text):
                failures.append(f"{label} shows {leaks}")
    assert read >= 5, f"{role.label} read only {read} pages"
    assert failures == [], f"{role.label}: " + "; ".join(failures)


@pytest.mark.parametrize("role", [Role.ORG_ADMIN, Role.QUALITY_LEAD, Role.BOARD_MEMBER])
def test_the_second_provider_reads_its_own_records(client, other_organisation, role):
    """The same pages, read by the second provider's own people, do show their records: the
    checks above look for words that are really there."""
    world = other_organisation
    client.force_login(world.other_people[role])
    seen = set()
    for name in ("person_list", "security_event_list", "action_list", "escalation_list"):
        response = client.get(reverse(name))
        if response.status_code == 200:
            seen.update(_leaks(world, _body(response)))
    assert seen, f"{role.label} of the second provider sees none of its own records"


def test_a_membership_naming_another_organisation_grants_nothing_there(client, world):
    """The services never give a role at another provider; a row made behind their back (by
    hand in the database) still opens none of that provider's pages or rows."""
    manager = world.user(Role.REGISTERED_MANAGER)
    Membership.objects.create(user=manager, organisation=world.other_org, role=Role.SENIOR_LEADER)
    Membership.objects.create(
        user=manager, organisation=world.org, role=Role.TEAM_LEADER, service=world.service_c
    )
    manager = User.objects.get(pk=manager.pk)
    assert world.service_c not in access.services_where(manager, "services.view")
    assert world.other_org.pk not in access.organisation_ids_where(manager, "reviews.view")
    assert not access.has_capability(manager, "actions.view", world.service_c)
    client.force_login(manager)
    far_action = world.record("action", world.service_c)
    assert client.get(reverse("action_detail", args=[far_action.pk])).status_code == 404
    assert "Far Away" not in client.get(reverse("service_list")).content.decode()
    assert "Far Away" not in client.get(reverse("escalation_list")).content.decode()

"""Every URL x every role x (own service, other service, anonymous): the answers the access table
promises. A URL with no access declaration fails the meta-test; a new URL with object ids in its
path needs an entry in OBJECTS below, or the matrix fails to build and says so."""

from collections.abc import Callable

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from caregov import access
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


def _person(world, role, which):
    return world.colleague if which == "own" else world.stranger


def _record(kind):
    def build(w, r, which):
        service = w.own_service(r) if which == "own" else w.other_service(r)
        return {"pk": w.record(kind, service).pk}

    return build


def _profile(world, role, which):
    """An import profile of the role's organisation (own), or of the other one (other); a
    service-scoped role's other service is in its own organisation, so it has no other."""
    service = world.own_service(role) if which == "own" else world.other_service(role)
    if which == "other" and service.organisation_id == world.org.pk:
        return None
    return {"pk": world.record("import_profile", service).pk}


def _wf(world, role, which):
    service = world.own_service(role) if which == "own" else world.other_service(role)
    return world.record("wf_under_test", service)


#: How to fill each URL's path arguments with an object the role should (own) or should not
#: (other) reach. Functions receive the world, the role and which.
OBJECTS: dict[str, Callable[..., dict]] = {
    "service_detail": lambda w, r, which: {
        "pk": (w.own_service(r) if which == "own" else w.other_service(r)).pk
    },
    "service_edit": lambda w, r, which: {
        "pk": (w.own_service(r) if which == "own" else w.other_service(r)).pk
    },
    "service_history": lambda w, r, which: {
        "pk": (w.own_service(r) if which == "own" else w.other_service(r)).pk
    },
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
    "assurance:trend_review": _record("review"),
    "assurance:compare_action": _record("comparison"),
    "assurance:service_month": lambda w, r, which: {
        "pk": (w.own_service(r) if which == "own" else w.other_service(r)).pk,
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
        }:
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
    assert reached == COMMISSIONER_READS


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

"""Health check, production settings and the demo provider."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from caregov.access import Role
from caregov.models import Membership, Organisation, Service, User

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_reports_database_and_broker(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "status": "ok"}


def test_healthz_answers_503_when_the_broker_is_down(client, db, settings):
    # Nothing listens on port 1: this is a broker that is down, not a mock of one.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"] == "down"


def _manage(*args, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY="x" * 20 + "a-long-random-production-secret-0123456789",
        ALLOWED_HOSTS="caregov.example.org",
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_debug_off_refuses_to_start_without_a_secret_key():
    result = _manage("check", DEBUG="false", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


@pytest.mark.django_db
def test_the_demo_provider_has_every_role_and_is_deterministic():
    call_command("seed_demo", services=3, months=6, seed=7, stdout=StringIO())
    org = Organisation.objects.get(slug="oakfield")
    assert set(Membership.objects.filter(organisation=org).values_list("role", flat=True)) == set(
        Role.values
    )
    assert set(Service.objects.values_list("service_type", flat=True)) == {
        "care_home",
        "domiciliary_care",
        "nursing_home",
    }
    assert len(set(Service.objects.values_list("phase", flat=True))) >= 2
    first = sorted(User.objects.values_list("email", "full_name"))
    call_command("seed_demo", services=3, months=6, seed=7, stdout=StringIO())
    assert sorted(User.objects.values_list("email", "full_name")) == first
    call_command("seed_demo", services=3, months=6, seed=7, reset=True, stdout=StringIO())
    assert sorted(User.objects.values_list("email", "full_name")) == first


@pytest.mark.django_db
def test_every_demo_login_signs_in_and_sees_only_its_services(client):
    from caregov.management.commands.seed_demo import DEMO_LOGINS
    from caregov.roles import SECOND_FACTOR_ROLES_DEFAULT

    call_command("seed_demo", services=4, months=3, seed=1, stdout=StringIO())
    for login in DEMO_LOGINS:
        client.logout()
        response = client.post(
            reverse("login"), {"username": login.email, "password": "Caregov-demo-2026"}
        )
        assert response.status_code == 302, login.email
        if login.role in SECOND_FACTOR_ROLES_DEFAULT:
            # Their role needs a second factor: set-up comes before anything else.
            held = client.get(reverse("service_list"))
            assert held["Location"].startswith(reverse("second_factor_set_up")), login.email
            continue
        page = client.get(reverse("service_list")).content.decode()
        if login.role in {
            Role.TEAM_LEADER,
            Role.CARE_STAFF,
            Role.DIGITAL_CHAMPION,
            Role.REGISTERED_MANAGER,
        }:
            assert "Willow House" in page and "Beech Court" not in page, login.email
        if login.role == Role.COMMISSIONER:
            assert "Riverside Home Care" in page and "Beech Court" not in page

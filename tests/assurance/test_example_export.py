"""The worked example in docs/ecm-export.md holds, through the management command."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from assurance.models import EcmImport, MeasureResult
from caregov.access import Role

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "ecm-export-example.csv"


def test_the_documented_example_gives_the_documented_figures(world):
    manager = world.user(Role.REGISTERED_MANAGER)
    out = StringIO()
    call_command(
        "import_ecm", str(EXAMPLE), "--service", "WILLOW", "--as", manager.email, stdout=out
    )
    assert "Imported 8 rows for Willow House, October 2026" in out.getvalue()
    figures = {
        r.measure: str(r.value)
        for r in MeasureResult.objects.filter(service=world.service_a, source="ecm")
    }
    assert figures == {
        "completeness": "87.5",
        "timeliness": "71.4",
        "outcome_evidence": "85.7",
        "review_compliance": "50.0",
    }


def test_importing_the_example_twice_changes_nothing(world):
    manager = world.user(Role.REGISTERED_MANAGER)
    call_command(
        "import_ecm", str(EXAMPLE), "--service", "WILLOW", "--as", manager.email, stdout=StringIO()
    )
    out = StringIO()
    call_command(
        "import_ecm",
        str(EXAMPLE),
        "--service",
        "WILLOW",
        "--period",
        "2026-10",
        "--as",
        manager.email,
        stdout=out,
    )
    assert "Nothing changed" in out.getvalue()
    assert EcmImport.objects.filter(file_name=EXAMPLE.name, status="imported").count() == 1


def test_the_command_refuses_a_service_the_person_cannot_import_for(world):
    manager = world.user(Role.REGISTERED_MANAGER)
    with pytest.raises(CommandError, match="Refused"):
        call_command(
            "import_ecm",
            str(EXAMPLE),
            "--service",
            "BEECH",
            "--as",
            manager.email,
            stdout=StringIO(),
        )
    assert not EcmImport.objects.filter(file_name=EXAMPLE.name).exists()

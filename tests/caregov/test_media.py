"""Files under MEDIA_ROOT are named relative to it, and a name never leads out of it."""

import pytest
from django.core.exceptions import SuspiciousFileOperation
from django.test import override_settings

from caregov.media import media_name, media_path
from reporting import building as reporting
from tests.conftest import pack_records


def test_a_stored_name_means_the_same_file_wherever_media_root_is_mounted(tmp_path):
    with override_settings(MEDIA_ROOT=tmp_path / "web"):
        name = media_name(tmp_path / "web" / "ecm-imports" / "import-1.csv")
    assert name == "ecm-imports/import-1.csv"
    with override_settings(MEDIA_ROOT=tmp_path / "worker"):
        assert media_path(name) == (tmp_path / "worker" / "ecm-imports" / "import-1.csv").resolve()


@pytest.mark.parametrize(
    "name", ["", "/etc/passwd", "../secret.csv", "ecm-imports/../../secret.csv", "packs/../../x"]
)
def test_a_name_that_is_absolute_or_leads_out_of_media_root_is_refused(tmp_path, name):
    with override_settings(MEDIA_ROOT=tmp_path / "media"), pytest.raises(SuspiciousFileOperation):
        media_path(name)


def test_a_link_inside_media_root_pointing_out_of_it_is_refused(tmp_path):
    (tmp_path / "media").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "media" / "ecm-imports").symlink_to(tmp_path / "elsewhere")
    with override_settings(MEDIA_ROOT=tmp_path / "media"), pytest.raises(SuspiciousFileOperation):
        media_path("ecm-imports/import-1.csv")


def test_a_pack_whose_file_name_leads_out_of_the_packs_folder_is_not_served(world, tmp_path):
    pack = pack_records(world.service_a)["pack"]
    assert reporting.pack_file(pack) is not None
    # Beside the packs folder, under MEDIA_ROOT (shared by this process's tests: a name of its own).
    secret = reporting.packs_root().parent / f"secret-{tmp_path.name}.pdf"
    secret.write_bytes(b"%PDF-1.4 not a pack")
    for name in (f"../{secret.name}", str(secret)):
        pack.file_path = name
        assert reporting.pack_file(pack) is None

"""The test suite's settings: the product's, with the record kit's worked example installed
(tests/recordkit, docs/adding-a-record-type.md)."""

from caregov.settings import *  # noqa: F403
from caregov.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.recordkit.apps.RecordKitExampleConfig"]
ROOT_URLCONF = "tests.urls"

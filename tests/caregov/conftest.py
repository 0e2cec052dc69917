import dataclasses

import pytest

from caregov.registry import review_kinds

#: Review kinds whose apps do not keep their logs yet, so they open nothing on their own.
NOT_YET_KEPT = (
    "champions.adoption_review",
    "champions.improvement_review",
    "roadmap.quarterly_review",
)


@pytest.fixture
def logs_kept_for_every_kind():
    """Open the review kinds whose logs are not kept yet as if they were: the scheduler's tests use
    the champions' phase-dependent weekly and fortnightly reviews to exercise the calendar."""
    saved = {code: review_kinds.get(code) for code in NOT_YET_KEPT}
    for code, kind in saved.items():
        review_kinds.items[code] = dataclasses.replace(kind, opens_when=None)
    yield
    review_kinds.items.update(saved)

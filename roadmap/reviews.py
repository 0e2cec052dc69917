from caregov.cadence import Cadence
from caregov.models import Body
from caregov.registry import ReviewKind, ScopeKind, register_review_kind

OUTCOME_REVIEW = register_review_kind(
    ReviewKind(
        code="roadmap.quarterly_review",
        name="Quarterly digital maturity and roadmap review",
        body=Body.BOARD,
        scope=ScopeKind.ORGANISATION,
        cadence=Cadence.QUARTERLY,
        due_days=30,
        description="Board assurance reports, development roadmaps, manager testing records and "
        "outcome reviews are reviewed quarterly.",
    )
)

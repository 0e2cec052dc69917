from caregov.cadence import Cadence
from caregov.models import Body
from caregov.registry import ReviewKind, ScopeKind, register_review_kind


def _logs_kept(scope, period) -> bool:
    """Nothing to review yet: the board assurance report, roadmap, manager testing records and
    outcome reviews this review reads are not kept in caregov until the roadmap is built. Until
    then no cycle opens (it would only become overdue and escalate to the board)."""
    return False


OUTCOME_REVIEW = register_review_kind(
    ReviewKind(
        code="roadmap.quarterly_review",
        name="Quarterly digital maturity and roadmap review",
        body=Body.BOARD,
        scope=ScopeKind.ORGANISATION,
        cadence=Cadence.QUARTERLY,
        opens_when=_logs_kept,
        due_days=30,
        description="Board assurance reports, development roadmaps, manager testing records and "
        "outcome reviews are reviewed quarterly.",
    )
)

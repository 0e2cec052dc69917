from caregov.cadence import Cadence
from caregov.models import Body, Service
from caregov.registry import ReviewKind, ScopeKind, register_review_kind


def _logs_kept(scope, period) -> bool:
    """Nothing to review yet: the adoption support and implementation improvement logs these
    reviews read are not kept in caregov until the champions programme is built. Until then no
    cycle opens (they would only pile up as overdue and escalate to the board)."""
    return False


ADOPTION_REVIEW = register_review_kind(
    ReviewKind(
        code="champions.adoption_review",
        name="Weekly adoption support review",
        body=Body.REGISTERED_MANAGER,
        scope=ScopeKind.SERVICE,
        cadence={Service.Phase.ROLLOUT: Cadence.WEEKLY},
        opens_when=_logs_kept,
        due_days=3,
        description="Adoption support logs, staff feedback, team leader reviews and manager "
        "oversight records are reviewed weekly during early implementation.",
    )
)

IMPROVEMENT_REVIEW = register_review_kind(
    ReviewKind(
        code="champions.improvement_review",
        name="Implementation improvement review",
        body=Body.PROJECT_BOARD,
        scope=ScopeKind.SERVICE,
        cadence={
            Service.Phase.ROLLOUT: Cadence.FORTNIGHTLY,
            Service.Phase.STABILISED: Cadence.MONTHLY,
        },
        opens_when=_logs_kept,
        due_days=7,
        description="Improvement logs, issue categorisation, governance reviews and project board "
        "actions are reviewed fortnightly during rollout and monthly after stabilisation.",
    )
)

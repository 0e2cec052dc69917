from caregov.cadence import Cadence
from caregov.models import Body
from caregov.registry import ReviewKind, ScopeKind, register_review_kind

QUARTERLY_REVIEW = register_review_kind(
    ReviewKind(
        code="workflows.quarterly_review",
        name="Quarterly workflow governance review",
        body=Body.SENIOR_LEADERSHIP_TEAM,
        scope=ScopeKind.ORGANISATION,
        cadence=Cadence.QUARTERLY,
        due_days=21,
        workspace="workflows:quarterly_review",
        workspace_label="Open the quarter's workflow evidence",
        description="Workflow maps, service review logs, staff testing records and quality "
        "findings are reviewed quarterly by senior leadership.",
    )
)

from assurance.selectors import gap_causes_recorded
from caregov.cadence import Cadence
from caregov.models import Body
from caregov.registry import ReviewKind, ScopeKind, register_review_kind

TREND_REVIEW = register_review_kind(
    ReviewKind(
        code="assurance.trend_review",
        name="Monthly data quality trend review",
        body=Body.REGISTERED_MANAGER,
        scope=ScopeKind.SERVICE,
        cadence=Cadence.MONTHLY,
        due_days=10,
        workspace="assurance:trend_review",
        workspace_label="Open the trends and record causes",
        recorded=gap_causes_recorded,
        recorded_heading="Causes recorded in this review",
        recorded_empty="No causes are recorded yet. Open the trends and record, for each measure "
        "that fell short, whether the gap relates to training, workload, system configuration or "
        "local practice.",
        description="Registered managers review data quality trends and record whether gaps "
        "relate to training, workload, system configuration or local practice. Data assurance "
        "frameworks, audit findings, manager reviews and governance dashboards are reviewed monthly.",
    )
)

RELIANCE_REVIEW = register_review_kind(
    ReviewKind(
        code="assurance.board_reliance",
        name="Board review of data assurance evidence",
        body=Body.BOARD,
        scope=ScopeKind.ORGANISATION,
        cadence=Cadence.QUARTERLY,
        due_days=30,
        description="The provider board reviews data assurance evidence and records whether "
        "leaders can rely on ECM information for decision-making.",
    )
)

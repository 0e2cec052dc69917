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
        description="Registered managers review data quality trends and record whether gaps "
        "relate to training, workload, system configuration or local practice. Data assurance "
        "frameworks, audit findings, manager reviews and governance dashboards are reviewed monthly.",
    )
)

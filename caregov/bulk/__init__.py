"""Services and people from a spreadsheet: read a CSV, check every row, plan what would change.

Nothing here writes. `read_csv` turns the uploaded bytes into rows (or problems), `services_plan`
and `people_plan` compare the rows with the organisation as it stands and say what confirming
would create, change, give, remove and offer to deactivate, and `services_apply` and
`people_apply` write a plan through the organisation's services in one transaction. A plan is
worked out again from the same rows on confirm, so what is written is what the page showed, or the
page is shown again. Rows are numbered as a spreadsheet shows them: the header is row 1.
"""

from caregov.bulk.people_file import (
    PEOPLE_COLUMNS,
    PEOPLE_EXAMPLE,
    PEOPLE_OPTIONAL,
    PeoplePlan,
    describe_people_plan,
    people_apply,
    people_plan,
    read_people,
)
from caregov.bulk.reading import (
    MAX_BYTES,
    MAX_PROBLEMS_SHOWN,
    MAX_ROWS,
    Problem,
    Reading,
    read_csv,
    sha256,
    template_csv,
)
from caregov.bulk.service_file import (
    SERVICE_COLUMNS,
    SERVICE_EXAMPLE,
    SERVICE_OPTIONAL,
    ServicesPlan,
    describe_services_plan,
    read_services,
    services_apply,
    services_plan,
)

__all__ = [
    "MAX_BYTES",
    "MAX_PROBLEMS_SHOWN",
    "MAX_ROWS",
    "PEOPLE_COLUMNS",
    "PEOPLE_EXAMPLE",
    "PEOPLE_OPTIONAL",
    "SERVICE_COLUMNS",
    "SERVICE_EXAMPLE",
    "SERVICE_OPTIONAL",
    "PeoplePlan",
    "Problem",
    "Reading",
    "ServicesPlan",
    "describe_people_plan",
    "describe_services_plan",
    "people_apply",
    "people_plan",
    "read_csv",
    "read_people",
    "read_services",
    "services_apply",
    "services_plan",
    "sha256",
    "template_csv",
]

"""Who is who in the kernel, with nothing beneath it: the roles a person holds, the governance
bodies that review and decide, which roles act for each body, and the body above. Every other
module of the kernel and every app may import it; it imports only Django."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    BOARD_MEMBER = "board_member", "Board member"
    SENIOR_LEADER = "senior_leader", "Senior leader"
    OPERATIONS_DIRECTOR = "operations_director", "Operations director"
    QUALITY_LEAD = "quality_lead", "Quality lead"
    DATA_QUALITY_LEAD = "data_quality_lead", "Data quality lead"
    PROJECT_LEAD = "project_lead", "Project lead"
    REGISTERED_MANAGER = "registered_manager", "Registered manager"
    TEAM_LEADER = "team_leader", "Team leader"
    DIGITAL_CHAMPION = "digital_champion", "Digital champion"
    CARE_STAFF = "care_staff", "Care staff"
    COMMISSIONER = "commissioner", "Commissioner"
    ORG_ADMIN = "org_admin", "Organisation admin"


#: Roles that must sign in with a second factor unless their organisation chooses otherwise:
#: those who change who may do what, and those who sign off the board's and the leaders' decisions.
SECOND_FACTOR_ROLES_DEFAULT = (
    Role.ORG_ADMIN,
    Role.BOARD_MEMBER,
    Role.SENIOR_LEADER,
    Role.QUALITY_LEAD,
    Role.DATA_QUALITY_LEAD,
)


class Body(models.TextChoices):
    """Who reviews and decides, in the seeds' words. The order of ESCALATION_CHAIN is 'the body above'."""

    REGISTERED_MANAGER = "registered_manager", "Registered manager"
    QUALITY_LEAD = "quality_lead", "Quality lead"
    SENIOR_LEADERSHIP_TEAM = "senior_leadership_team", "Senior leadership team"
    BOARD = "board", "Provider board"
    PROJECT_BOARD = "project_board", "Project board"
    DIGITAL_GOVERNANCE_GROUP = "digital_governance_group", "Digital governance group"
    QUALITY_MEETING = "quality_meeting", "Quality meeting"
    PROJECT_LEAD = "project_lead", "Project lead"
    TEAM_LEADER = "team_leader", "Team leader"


#: The body above: where an escalation goes when the body below has not acted.
ESCALATION_CHAIN = [
    Body.REGISTERED_MANAGER,
    Body.QUALITY_LEAD,
    Body.SENIOR_LEADERSHIP_TEAM,
    Body.BOARD,
]

#: Which roles act for each body: they conduct and sign off its reviews and own its escalations.
BODY_ROLES: dict[str, frozenset[Role]] = {
    Body.REGISTERED_MANAGER: frozenset({Role.REGISTERED_MANAGER}),
    Body.TEAM_LEADER: frozenset({Role.TEAM_LEADER, Role.REGISTERED_MANAGER}),
    Body.QUALITY_LEAD: frozenset({Role.QUALITY_LEAD}),
    Body.QUALITY_MEETING: frozenset({Role.QUALITY_LEAD, Role.DATA_QUALITY_LEAD}),
    Body.SENIOR_LEADERSHIP_TEAM: frozenset({Role.SENIOR_LEADER, Role.OPERATIONS_DIRECTOR}),
    Body.BOARD: frozenset({Role.BOARD_MEMBER, Role.SENIOR_LEADER}),
    Body.PROJECT_BOARD: frozenset({Role.PROJECT_LEAD, Role.SENIOR_LEADER}),
    Body.PROJECT_LEAD: frozenset({Role.PROJECT_LEAD}),
    Body.DIGITAL_GOVERNANCE_GROUP: frozenset(
        {Role.PROJECT_LEAD, Role.DATA_QUALITY_LEAD, Role.QUALITY_LEAD, Role.SENIOR_LEADER}
    ),
}


def body_above(body: str) -> str:
    """The next body up the chain; the board is the top. Bodies off the chain go to the SLT."""
    if body not in ESCALATION_CHAIN:
        return Body.SENIOR_LEADERSHIP_TEAM
    index = ESCALATION_CHAIN.index(body)
    return ESCALATION_CHAIN[min(index + 1, len(ESCALATION_CHAIN) - 1)]

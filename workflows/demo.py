"""Eighteen months of workflow governance for the demo provider (seed 000, example 1).

The operations director maps the six core care workflows as the organisation's templates and the
senior leadership team approves them early on. Services adopt copies in waves, adapt them to how
their care is delivered, test them with staff and bring them back for approval; registered
managers log gaps, duplication and workarounds; team leaders test revisions on shift; the quality
lead records findings. Everything goes through the same services the screens use, back-dated to
when it would have happened. Each service has a part in the story:

- Willow House (the story service): night notes are copied from the night before, tasks are
  ticked in a batch at the end of the shift and a paper handover sheet lives on: three workarounds
  on the daily notes workflow in a quarter (repeated workarounds). A revision is under test now,
  and the record audits still find thin night notes (poor record quality after the change).
- Riverside Home Care: no signal on the rural rounds, so doses go on paper and are typed up later
  (workarounds at one step). The offline revision's staff test found a time-critical alert that
  did not show offline (not supporting safe care); it was withdrawn by a third version, approved,
  while the ECM export still shows late notes (poor record quality after the change).
- Beech Court Nursing: fluid totals and turns recorded twice (workflow duplication); night turns
  missing from the handhelds, still open (not supporting safe care); a revision under test now.
- Hawthorn Supported Living: goals kept in two places (workflow duplication); a medication
  revision approved with an override after a failed staff test.
- Ashgrove Nursing Home: the review reminder revision that fixed overdue reviews; a controlled
  drugs gap that affected safe care, resolved.
- Meadow View Extra Care is still planning: drafts being adapted.
- Elm Lodge, Northside Home Care and any further services adopt in a third wave, once the
  templates are revised and their record audits are steady, and stay quiet.

`build_workflow_history` runs before the governance replay, so the replayed scheduler raises the
workflow escalations; `build_workflow_findings` runs after it, when the assurance audits the
findings cite exist. Story days are written for the default 18 months (554 days) and scaled to
the demo's length. Care records are referred to by ECM reference only, and staff by their role.
"""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from caregov.access import Role
from caregov.cadence import LONDON, Cadence, period_containing
from caregov.models import Decision, Meeting, Membership, Service
from caregov.services import governance as gov
from workflows import services
from workflows.models import (
    PracticeGap,
    QualityFinding,
    StaffTest,
    WorkflowMap,
    WorkflowStep,
    WorkflowVersion,
)
from workflows.selectors import audits_for_evidence

#: Days in the default demo (18 months); story days are written in this frame.
FRAME = 18 * 30 + 14
#: Senior leadership team meetings that approve workflows, as story days. The last one's minutes
#: are still in draft.
MEETINGS = (40, 122, 208, 252, 418, 505)
ATTENDEES = "Chief executive (chair)\nOperations director\nHead of quality\nDigital project lead"

PREFIXES = {
    "WILLOW": "WH",
    "RIVER": "RH",
    "BEECH": "BC",
    "HAWTH": "HS",
    "MEADOW": "MV",
    "ELM": "EL",
    "NORTH": "NH",
    "ASH": "AG",
    "LARCH": "LS",
    "OAKG": "OG",
}

Y, P, N = "yes", "partly", "no"


def _step(role, action, ecm_location, recorded_item, prompt, minutes) -> dict:
    return {
        "role": role,
        "action": action,
        "ecm_location": ecm_location,
        "recorded_item": recorded_item,
        "prompt": prompt,
        "minutes_expected": minutes,
    }


# The organisation's templates ------------------------------------------------------------------
# Each piece of information is recorded in one place only, across all six workflows: the same item
# in two places is what the duplication trigger looks for.

TEMPLATES = {
    "care_planning": {
        "title": "Care planning: from assessment to an agreed care plan",
        "purpose": "Turns the pre-admission assessment into a person-centred care plan, agreed "
        "with the person and on staff handhelds before the first shift of care.",
        "steps": [
            _step(
                "registered_manager",
                "Complete the pre-admission assessment with the person and those close to them",
                "Pre-admission assessment",
                "Assessed needs and preferences",
                "All domains completed: health, medicines, mobility, eating and drinking, "
                "communication and what matters to the person. Consent recorded.",
                90,
            ),
            _step(
                "team_leader",
                "Complete the falls, skin and nutrition risk assessments",
                "Risk assessments",
                "Falls, skin and nutrition risk scores",
                "The ECM asks for the falls, Waterlow and MUST assessments within 24 hours of "
                "admission: score, what it means for this person and the actions agreed.",
                45,
            ),
            _step(
                "team_leader",
                "Write the care plan with the person, section by section",
                "Care plan",
                "Care plan goals and support needs",
                "Each section says what the person can do, the support they want and how staff "
                "will know it is working. In the person's words where possible.",
                120,
            ),
            _step(
                "team_leader",
                "Set up care tasks and charts from the plan",
                "Care task schedule",
                "Scheduled care tasks",
                "Every need in the plan has a scheduled task or chart (fluids, checks, "
                "repositioning) so it shows on the handhelds at the right time.",
                30,
            ),
            _step(
                "registered_manager",
                "Agree the care plan with the person or their representative",
                "Care plan sign-off",
                "Consent to the care plan",
                "Record who agreed the plan and how. Link the mental capacity assessment where "
                "the person lacks capacity for this decision.",
                20,
            ),
            _step(
                "care_worker",
                "Read the care plan before the first shift of care",
                "Care plan read receipt",
                "Care plan read by staff",
                "The ECM asks each carer to confirm they have read the plan before the person's "
                "tasks unlock on their handheld.",
                10,
            ),
            _step(
                "deputy_manager",
                "Check the plan is complete within 72 hours of admission",
                "Care plan audit",
                "Care plan completeness check",
                "Checklist in the ECM audit function; missing sections go back to the team "
                "leader with a date.",
                20,
            ),
        ],
    },
    "daily_notes": {
        "title": "Daily notes and handover",
        "purpose": "How the care given on each shift is recorded at the point of care, checked "
        "by the senior and handed over, so the next carer knows how the person is.",
        "steps": [
            _step(
                "care_worker",
                "Record each care task when it is done, at the point of care",
                "Care task record",
                "Care tasks completed",
                "Tick the task on the handheld and add how the person responded. Recorded within "
                "two hours of the task.",
                2,
            ),
            _step(
                "care_worker",
                "Record food and fluid intake against the person's daily target",
                "Fluid chart",
                "Fluid intake",
                "Amount in ml at each drink. The ECM totals the day and alerts the senior when "
                "the person is below target by 14:00.",
                2,
            ),
            _step(
                "care_worker",
                "Check skin during personal care and record any marks on a body map",
                "Body map",
                "Skin integrity",
                "Open the body map from the personal care task; describe and photograph new "
                "marks (with consent) and tell the senior on shift.",
                5,
            ),
            _step(
                "care_worker",
                "Write the shift's daily note for each person",
                "Daily note",
                "Wellbeing and mood",
                "Describe the person's shift in their words where possible: mood, what they "
                "enjoyed, anything that changed. Not a list of tasks.",
                8,
            ),
            _step(
                "senior_care_worker",
                "Review the shift's entries and alerts before handover",
                "Shift summary",
                "Missed or late care tasks",
                "The shift summary lists missed, late and out-of-range entries; follow up each "
                "one before handover.",
                15,
            ),
            _step(
                "senior_care_worker",
                "Hand over to the next shift from the ECM",
                "Handover",
                "Handover points",
                "The handover screen pulls flagged entries; add what the next shift must do "
                "and for whom.",
                15,
            ),
        ],
    },
    "incidents": {
        "title": "Incidents, accidents and near misses",
        "purpose": "From the moment something goes wrong to the learning: the person made safe, "
        "the facts recorded, the right people told and the care plan updated.",
        "steps": [
            _step(
                "care_worker",
                "Make the person safe, get help and record the immediate actions",
                "Incident form",
                "Immediate actions taken",
                "Open the incident form from the person's record: what was done straight away "
                "and who was called.",
                10,
            ),
            _step(
                "care_worker",
                "Record what happened, factually, before the end of the shift",
                "Incident form",
                "Incident description",
                "What was seen and heard, where and when; no opinions. Witnesses by role.",
                15,
            ),
            _step(
                "senior_care_worker",
                "Check for injury and record it on a body map",
                "Body map",
                "Injury found",
                "Body map opened from the incident form; each injury described and linked to "
                "the incident.",
                10,
            ),
            _step(
                "team_leader",
                "Start post-incident observations where needed",
                "Observation chart",
                "Post-incident observations",
                "After an unwitnessed fall or head injury the ECM schedules neurological "
                "observations for 24 hours; each is recorded when done.",
                10,
            ),
            _step(
                "registered_manager",
                "Decide on notifications: family, GP, safeguarding and CQC",
                "Notifications log",
                "Notifications made",
                "The ECM asks whether each notification is needed and records when and to whom "
                "it was made, including CQC statutory notifications.",
                20,
            ),
            _step(
                "registered_manager",
                "Review the incident and record the cause and the learning",
                "Incident review",
                "Cause and learning",
                "Within 72 hours: what led to it, what will change, and who was told.",
                30,
            ),
            _step(
                "team_leader",
                "Update the care plan and risk assessment after the incident",
                "Care plan review",
                "Care plan changes after an incident",
                "The incident review opens the sections to check; record what changed or why "
                "nothing needed to.",
                20,
            ),
            _step(
                "quality_lead",
                "Review incident trends across the service each month",
                "Incident trend report",
                "Incident themes",
                "Themes by type, time of day and person; actions raised for repeated patterns.",
                45,
            ),
        ],
    },
    "medication": {
        "title": "Medication administration and checks",
        "purpose": "Giving, recording and checking medicines on the eMAR, including PRN and "
        "controlled drugs, so every dose is accounted for.",
        "steps": [
            _step(
                "senior_care_worker",
                "Check the eMAR for the medicines due and any changes",
                "eMAR",
                "Medicines due",
                "The round list shows what is due, with alerts for new, stopped and "
                "time-critical medicines.",
                5,
            ),
            _step(
                "senior_care_worker",
                "Give medicines and record each one at the time it is given",
                "eMAR",
                "Medicines administered",
                "Given, refused or not given, with the reason code, recorded with the person; "
                "never before or after the round.",
                3,
            ),
            _step(
                "senior_care_worker",
                "Record PRN medicine with the reason it was given and its effect",
                "PRN record",
                "PRN reason and effect",
                "The eMAR asks why the PRN dose was given; the effect is recorded later in the "
                "shift.",
                4,
            ),
            _step(
                "senior_care_worker",
                "Apply creams and patches and record where on the topical MAR",
                "Topical MAR",
                "Topical application site",
                "Body outline on the topical MAR: where it was applied; patch sites rotated as "
                "the chart shows.",
                4,
            ),
            _step(
                "team_leader",
                "Count controlled drugs and record the balance",
                "Controlled drugs register",
                "Controlled drug balance",
                "Two staff count at each administration and at handover; the balance recorded "
                "and witnessed in the ECM register.",
                15,
            ),
            _step(
                "senior_care_worker",
                "Check the round for omissions before the end of the shift",
                "Missed doses report",
                "Missed doses",
                "The report lists doses not recorded; each one checked and explained before "
                "handover.",
                10,
            ),
            _step(
                "deputy_manager",
                "Record medicines received and returned to the pharmacy",
                "Medicines stock record",
                "Stock received and returned",
                "Booked in against the order on the day it arrives; returns recorded with the "
                "pharmacy's receipt.",
                20,
            ),
            _step(
                "team_leader",
                "Audit medicines weekly",
                "Medication audit",
                "Medication audit findings",
                "Ten eMAR records and the stock of three people checked; findings and actions "
                "recorded.",
                40,
            ),
        ],
    },
    "audits": {
        "title": "Routine audits of care records",
        "purpose": "The monthly record audit in the ECM audit function: sample, check, correct "
        "and act on what it finds.",
        "steps": [
            _step(
                "team_leader",
                "Draw the month's sample of care records",
                "ECM audit function",
                "Audit sample",
                "A random sample of ten records from the month's ECM export.",
                10,
            ),
            _step(
                "team_leader",
                "Check each record for completeness, timeliness, outcomes and narrative",
                "Record audit",
                "Audit answers",
                "Open the record in the ECM; answer each check as met, not met or not "
                "applicable, with a note for each not met.",
                40,
            ),
            _step(
                "team_leader",
                "Correct what can be corrected and record who needs support",
                "Audit corrections",
                "Corrections and support needs",
                "Late entries marked as written after the event; support needs recorded by "
                "role, never by name.",
                20,
            ),
            _step(
                "registered_manager",
                "Review the month's results and the causes of any gaps",
                "Trend review",
                "Causes of data gaps",
                "For each measure amber or red: training, workload, system configuration or "
                "local practice.",
                30,
            ),
            _step(
                "registered_manager",
                "Raise actions for repeated gaps and check they worked",
                "Action log",
                "Audit actions",
                "Owner and date for each action; the effect checked against the next month's "
                "audit.",
                15,
            ),
            _step(
                "quality_lead",
                "Compare audit results across services",
                "Governance dashboard",
                "Cross-service themes",
                "Themes, risks and improvement actions recorded for the monthly quality meeting.",
                60,
            ),
        ],
    },
    "reviews": {
        "title": "Care plan and risk reviews",
        "purpose": "Monthly care plan reviews, and six-monthly reviews with the person and those "
        "close to them, scheduled and evidenced in the ECM.",
        "steps": [
            _step(
                "administrator",
                "Schedule each person's monthly review",
                "Review calendar",
                "Review due dates",
                "Review dates set for the next twelve months when the care plan is agreed.",
                5,
            ),
            _step(
                "team_leader",
                "Gather the month's evidence before the review",
                "Review evidence summary",
                "Month's evidence for review",
                "The ECM pulls the month's notes, charts, incidents and weights into one page.",
                20,
            ),
            _step(
                "team_leader",
                "Review each section of the plan with the person",
                "Care plan review",
                "Review outcome for each section",
                "For each section: still right, changed, or no longer needed, and what the "
                "person said.",
                45,
            ),
            _step(
                "team_leader",
                "Update risk assessments where anything has changed",
                "Risk assessments",
                "Risk assessment review",
                "Each risk assessment reviewed: score, change since last month, actions.",
                20,
            ),
            _step(
                "registered_manager",
                "Hold the six-monthly review with family and professionals",
                "Review meeting record",
                "Review attendees and views",
                "Who was invited and who came (by role), and each person's views.",
                45,
            ),
            _step(
                "registered_manager",
                "Sign off the review and confirm the next review date",
                "Review sign-off",
                "Review signed off",
                "Sign off only when every section has an outcome; the next date is confirmed in "
                "the review calendar.",
                5,
            ),
        ],
    },
}
ORDER = ("care_planning", "daily_notes", "incidents", "medication", "audits", "reviews")

TEMPLATE_EXPECTATIONS = {
    "care_planning": "Every new admission follows this workflow from adoption. Registered "
    "managers adopt and adapt it within the quarter; the quality lead checks five new care plans "
    "a quarter against it.",
    "daily_notes": "Services adopt it and test it on early, late and night shifts before coming "
    "back for approval. Team leaders spot-check five daily notes a week for the first month.",
    "incidents": "Services adopt it within the quarter. Registered managers confirm that "
    "notifications are recorded in the ECM, not on paper, and the quality lead reviews incident "
    "themes monthly.",
    "medication": "Services adopt it with their eMAR set-up. No paper MAR sheets except the "
    "agreed contingency; the weekly medication audit starts from adoption.",
    "audits": "Monthly record audits through the ECM audit function at every service from "
    "adoption; registered managers review the results within two weeks of the month end.",
    "reviews": "Every service schedules reviews in the ECM calendar at adoption; overdue "
    "reviews are reported at the monthly quality meeting.",
}

#: Revisions of the templates, approved at the fourth meeting: (story day, change summary,
#: {position: changed fields}).
TEMPLATE_REVISIONS = {
    "daily_notes": (
        215,
        "Night notes: the prompt asks how the person's night was, not whether checks were "
        "done, and the senior's shift review covers night notes before the 07:00 handover. "
        "From services' feedback on version 1.",
        {
            4: {
                "prompt": "Describe the person's shift in their words where possible: mood, what "
                "they enjoyed, anything that changed. At night: how they slept, what woke them, "
                "how they were in the morning. Not a list of checks."
            },
            5: {
                "prompt": "The shift summary lists missed, late and out-of-range entries, and "
                "night notes shorter than two lines; follow up each one before handover."
            },
        },
    ),
    "medication": (
        220,
        "PRN: the eMAR prompts for the effect 60 minutes after the dose, and unanswered prompts "
        "show on the missed doses report. Time-critical medicines flagged on the round list.",
        {
            3: {
                "prompt": "The eMAR asks why the PRN dose was given and prompts for its effect 60 "
                "minutes later; an unanswered prompt shows on the missed doses report."
            },
            6: {
                "prompt": "The report lists doses not recorded and PRN effects not recorded; each "
                "one checked and explained before handover."
            },
        },
    ),
}

# How each type of service adapts the templates: {workflow: {position: changed fields}}, and
# steps added at the end.

ADAPTATIONS = {
    Service.Type.DOMICILIARY_CARE: {
        "care_planning": {
            6: {
                "action": "Read the care plan before the first visit",
                "prompt": "The care app asks each home care worker to confirm they have read "
                "the plan before the first visit's tasks unlock.",
            },
        },
        "daily_notes": {
            1: {
                "action": "Record each care task during the visit",
                "ecm_location": "Visit task list",
                "prompt": "Tick each task on the care app during the visit, with how the person "
                "responded; recorded before leaving the home.",
            },
            2: {
                "action": "Record drinks offered and taken during the visit",
                "prompt": "Amount in ml offered and taken during the visit; the care app alerts "
                "the office when the person is below target at the lunchtime call.",
            },
            4: {
                "action": "Write the visit note before leaving the person's home",
                "ecm_location": "Visit note",
                "prompt": "How the person was, what they said and anything that changed since "
                "the last visit. Not a list of tasks.",
            },
            5: {
                "role": "team_leader",
                "action": "Review missed, late and short visits",
                "ecm_location": "Call monitoring",
                "prompt": "The care coordinator checks call monitoring alerts morning and "
                "afternoon and follows up each missed, late or short visit.",
            },
            6: {
                "role": "care_worker",
                "action": "Flag concerns for the office and the next home care worker",
                "ecm_location": "Visit note alerts",
                "prompt": "Flag a concern on the visit note so the office and the next home "
                "care worker see it before the next call.",
            },
        },
        "medication": {
            1: {"role": "care_worker"},
            2: {
                "role": "care_worker",
                "action": "Give medicines during the visit and record each one on the eMAR",
                "prompt": "Given, refused or not given, with the reason code, recorded in the "
                "person's home before leaving.",
            },
            3: {"role": "care_worker"},
            4: {"role": "care_worker"},
            5: {
                "role": "care_worker",
                "action": "Record the controlled drug balance held in the home",
                "prompt": "Where staff give the person's controlled drugs, count and record the "
                "balance at each administration.",
            },
            6: {"role": "team_leader"},
        },
    },
    Service.Type.NURSING_HOME: {
        "care_planning": {3: {"role": "nurse"}},
        "medication": {
            1: {"role": "nurse"},
            2: {"role": "nurse"},
            3: {"role": "nurse"},
            4: {"role": "nurse"},
            5: {"role": "nurse"},
            6: {"role": "nurse"},
        },
        "reviews": {3: {"role": "nurse"}, 4: {"role": "nurse"}},
        "add": {
            "daily_notes": [
                _step(
                    "care_worker",
                    "Record repositioning against the person's turning schedule",
                    "Repositioning chart",
                    "Repositioning",
                    "The handheld shows turns due for people at risk of pressure damage; record "
                    "the position and a skin check at each turn.",
                    3,
                )
            ]
        },
    },
    Service.Type.SUPPORTED_LIVING: {
        "care_planning": {
            3: {
                "action": "Write the support plan with the person, goal by goal",
                "ecm_location": "Support plan",
                "prompt": "Each goal says what the person wants to achieve, the support they "
                "want and how progress will be recorded.",
            },
        },
        "daily_notes": {
            4: {
                "action": "Write the daily note with the person, where they want to",
                "prompt": "What the person did, what went well and anything that changed, in "
                "their words where possible.",
            },
        },
        "reviews": {
            3: {
                "action": "Review progress against each goal with the person",
                "ecm_location": "Support plan review",
                "prompt": "For each goal: progress, what helped, what gets in the way, and what "
                "the person wants next.",
            },
        },
    },
    Service.Type.EXTRA_CARE: {
        "daily_notes": {
            4: {
                "action": "Record the wellbeing check at each call",
                "ecm_location": "Wellbeing check",
                "prompt": "How the person is, whether they have eaten and drunk, and anything "
                "they asked for.",
            },
            5: {
                "role": "team_leader",
                "action": "Review missed and late calls",
                "ecm_location": "Call monitoring",
                "prompt": "Check call monitoring alerts at the end of each shift and follow up "
                "each missed or late call.",
            },
        },
    },
}

#: Staff tests when a service tries its adopted copies: (workflow, position, shift, answers,
#: minutes over or under the expected time, comments).
ADOPTION_TESTS = [
    (
        "daily_notes",
        1,
        "early",
        (Y, Y, Y),
        0,
        "Tasks ticked on the handheld as they were done; no problems on a full early shift.",
    ),
    (
        "daily_notes",
        4,
        "late",
        (Y, P, Y),
        3,
        "The prompt is long on the handheld screen; staff scrolled past the second half.",
    ),
    (
        "medication",
        2,
        "early",
        (Y, Y, P),
        1,
        "Recording with the person works; the refusal reason list needs scrolling, which slows "
        "the round.",
    ),
    (
        "incidents",
        2,
        "night",
        (Y, Y, Y),
        -3,
        "Incident form opened from the person's record and completed before the end of the shift.",
    ),
    (
        "care_planning",
        6,
        "long_day",
        (Y, Y, Y),
        2,
        "Read receipt works; staff asked for a one-page summary for agency staff.",
    ),
    (
        "reviews",
        3,
        "early",
        (P, Y, Y),
        20,
        "Reviewing with the person took longer than planned; split across two sessions.",
    ),
    (
        "audits",
        2,
        "late",
        (Y, Y, Y),
        -5,
        "Ten records checked in the ECM audit function in about 35 minutes.",
    ),
    (
        "medication",
        6,
        "late",
        (Y, P, Y),
        4,
        "The missed doses report opens slowly on the office tablet; fine on the desktop.",
    ),
]

#: What the quality lead finds on the revisions still under test, recorded after the replay with
#: the assurance audits of the same service: {service code: (effects, summary)}.
OPEN_FINDINGS = {
    "WILLOW": (
        ("improves", "no_change", "improves"),
        "Night notes written in the test weeks are more specific (see the linked tests), and "
        "the handover from the ECM works on most nights. But the record audits since the test "
        "began still find thin, copied night notes, and one night team still keeps the paper "
        "sheet. Record quality has not changed yet: keep testing on nights before approval.",
    ),
    "BEECH": (
        ("improves", "no_change", "improves"),
        "Night turns now show on the handhelds and fluid totals are in one place, so "
        "duplicated recording has stopped on the tested shifts. The handover template still "
        "stamps entries complete when opened: the audits since the test began find empty "
        "handover entries marked complete. Risk visibility is better; record quality is not, "
        "until the supplier changes the template.",
    ),
}
DEFAULT_FINDING = (
    ("improves", "no_change", "improves"),
    "Staff find the revised steps practical on most shifts; the audits do not show a change in "
    "record quality yet.",
)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _derived(rng: random.Random, salt: str) -> random.Random:
    """A generator of our own, fixed by the one we are given, which is left untouched: the other
    apps' demo data does not change because this one draws numbers."""
    return random.Random(f"{salt}:{rng.getstate()}")


def _person(organisation, role: str, service: Service | None = None):
    membership = (
        Membership.objects.filter(organisation=organisation, role=role, service=service)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    return membership.user if membership else None


class _Demo:
    """Each part of the story is a generator that yields the moment it wants to act at; the
    runner resumes them in time order, so templates are approved before services adopt them and
    meetings are signed off after their last decision."""

    def __init__(self, organisation, *, rng: random.Random, start: date, end: date, people: dict):
        self.organisation = organisation
        self.rng = rng
        self.start = start
        self.end = end
        self.now = min(timezone.now(), _at(end, 0))
        self.scale = max(1, (end - start).days) / FRAME
        self.people = people
        self.director = _person(organisation, Role.OPERATIONS_DIRECTOR)
        self.senior = _person(organisation, Role.SENIOR_LEADER)
        self.quality = people["quality_lead"]
        self.templates: dict[str, WorkflowMap] = {}
        self.meetings: dict[int, Meeting] = {}
        self.approved_at: dict[int, list[str]] = defaultdict(list)
        self.queue: list = []
        self.counter = itertools.count()

    # Time ------------------------------------------------------------------------------------

    def day(self, story_day: float, hour: int = 10, minute: int = 0) -> datetime:
        """A story day (in the 18-month frame) as a moment in this demo's span."""
        offset = int(story_day * self.scale)
        return _at(self.start + timedelta(days=offset), hour, minute)

    def in_one_quarter(self, first: datetime, offsets: list[int]) -> list[datetime]:
        """Moments `offsets` days after `first`, moved if needed so they fall in one calendar
        quarter: quarterly triggers count what was logged in a quarter."""
        factor = min(1.0, self.scale)
        spread = timedelta(days=max(offsets) * factor)
        quarter = period_containing(Cadence.QUARTERLY, first.date())
        if (first + spread).date() > quarter.end:
            later = _at(quarter.next().start + timedelta(days=2), first.hour, first.minute)
            if (later + spread).date() < self.end - timedelta(days=1):
                first = later
            else:
                first = _at(max(quarter.start, self.start), first.hour, first.minute)
        return [first + timedelta(days=o * factor) for o in offsets]

    def meeting_day(self, story_day: int) -> date:
        return _weekday(self.day(story_day).date())

    def run(self, stories) -> None:
        for story in stories:
            self._resume(story, None, None)
        while self.queue:
            at, _, story = heapq.heappop(self.queue)
            self._resume(story, at, at)

    def _resume(self, story, value, last) -> None:
        try:
            wanted = story.send(value)
        except StopIteration:
            return
        if last is not None and wanted <= last:
            wanted = last + timedelta(minutes=1)
        wanted = min(wanted, self.now - timedelta(hours=1))
        heapq.heappush(self.queue, (wanted, next(self.counter), story))

    # People ------------------------------------------------------------------------------------

    def manager(self, service: Service):
        return self.people["services"][service.pk]["manager"]

    def team_leader(self, service: Service):
        return self.people["services"][service.pk]["team_leader"]

    def tester(self, service: Service):
        """Team leaders test most revisions; the digital champion helps now and then."""
        champion = _person(self.organisation, Role.DIGITAL_CHAMPION, service)
        if champion is not None and self.rng.random() < 0.3:
            return champion
        return self.team_leader(service)

    def ref(self, service: Service, code: str) -> str:
        prefix = PREFIXES.get(service.code, service.code[:2])
        return f"{prefix}-{code}-{self.rng.randint(1200, 9000):06d}"

    # Writing through the services ------------------------------------------------------------

    def change_steps(self, version, changes: dict, *, actor, at: datetime) -> None:
        steps = {s.position: s for s in version.steps.all()}
        for position, fields in changes.items():
            step = steps[position]
            current = {name: getattr(step, name) for name in services.STEP_FIELDS}
            services.step_save(actor=actor, version=version, step=step, at=at, **(current | fields))

    def add_steps(self, version, added: list[dict], *, actor, at: datetime) -> None:
        for fields in added:
            services.step_save(actor=actor, version=version, at=at, **fields)

    def approve(self, version, meeting: int, expectations: str, override: str = ""):
        at = yield _at(self.meeting_day(meeting), 14, 30)
        existing = self.meetings.get(meeting)
        where = (
            {"meeting": existing}
            if existing is not None and not existing.is_frozen
            else {"meeting_date": at.date(), "attendees": ATTENDEES}
        )
        version = services.version_approve(
            actor=self.senior,
            version=version,
            implementation_expectations=expectations,
            override_reason=override,
            at=at,
            **where,
        )
        self.meetings[meeting] = version.decision.meeting
        workflow_map = version.map
        where = (
            "the organisation's template" if workflow_map.is_template else workflow_map.scope_label
        )
        self.approved_at[meeting].append(
            f"{workflow_map.get_workflow_display().lower()} workflow for {where}, "
            f"version {version.number}" + (" (with an override)" if override else "")
        )
        return version

    def gap(
        self,
        service: Service,
        version,
        position: int,
        at: datetime,
        kind: str,
        description: str,
        *,
        frequency: str,
        risk: str,
        evidence: list[str],
        detail: str = "",
        safe: bool = False,
    ) -> PracticeGap:
        return services.gap_record(
            actor=self.manager(service),
            step=version.steps.get(position=position),
            kind=kind,
            description=description,
            frequency=frequency,
            risk=risk,
            affects_safe_care=safe,
            evidence=evidence,
            evidence_detail=detail,
            observed_on=at.date(),
            at=at + timedelta(hours=2),
        )

    def staff_test(
        self,
        service: Service,
        version,
        position: int,
        at: datetime,
        shift: str,
        answers: tuple[str, str, str],
        comments: str,
        *,
        extra_minutes: int = 0,
        safe: bool = False,
        role: str | None = None,
    ) -> StaffTest:
        step = version.steps.get(position=position)
        test, _ = services.staff_test_record(
            actor=self.tester(service),
            step=step,
            staff_role=role or step.role,
            shift=shift,
            task_practical=answers[0],
            prompt_practical=answers[1],
            recording_practical=answers[2],
            minutes_taken=max(1, step.minutes_expected + extra_minutes),
            comments=comments,
            affects_safe_care=safe,
            tested_on=at.date(),
            idempotency_key=uuid.UUID(int=self.rng.getrandbits(128)),
            at=at,
        )
        return test

    # The templates ---------------------------------------------------------------------------

    def template_story(self):
        versions = {}
        for index, workflow in enumerate(ORDER):
            at = yield self.day(6 + index, 10)
            spec = TEMPLATES[workflow]
            version = services.template_create(
                actor=self.director,
                organisation=self.organisation,
                workflow=workflow,
                title=spec["title"],
                purpose=spec["purpose"],
                at=at,
            )
            self.add_steps(version, spec["steps"], actor=self.director, at=at)
            self.templates[workflow] = version.map
            versions[workflow] = version
        # Piloted with two services' team leaders before the leadership team sees it.
        at = yield self.day(24, 9)
        for version in versions.values():
            services.version_start_test(actor=self.director, version=version, at=at)
        for workflow, version in versions.items():
            yield from self.approve(version, MEETINGS[0], TEMPLATE_EXPECTATIONS[workflow])

        # Revised once, from the services' feedback.
        revised = {}
        for workflow, (story_day, summary, changes) in TEMPLATE_REVISIONS.items():
            at = yield self.day(story_day, 11)
            version = services.version_revise(
                actor=self.director,
                workflow_map=self.templates[workflow],
                change_summary=summary,
                at=at,
            )
            self.change_steps(version, changes, actor=self.director, at=at)
            at = yield at + timedelta(days=10 * min(1.0, self.scale))
            services.version_start_test(actor=self.director, version=version, at=at)
            revised[workflow] = version
        for workflow, version in revised.items():
            yield from self.approve(
                version,
                MEETINGS[3],
                "Services that adopted version 1 bring the change into their own copy at their "
                "next revision; services adopting from now use version 2. "
                + TEMPLATE_EXPECTATIONS[workflow],
            )

    def sign_offs(self):
        """The approval meetings' minutes, signed off a few days later; the latest stays a draft
        until the next meeting agrees it."""
        for index, story_day in enumerate(MEETINGS):
            at = yield _at(self.meeting_day(story_day) + timedelta(days=3), 16)
            meeting = self.meetings.get(story_day)
            if meeting is None or meeting.is_frozen:
                continue
            approved = self.approved_at[story_day]
            minutes = (
                "The senior leadership team reviewed the workflow maps, the service review log "
                "entries, staff testing records and the quality lead's findings for the "
                f"versions put forward, and approved: {'; '.join(approved)}. Implementation "
                "expectations are recorded with each decision; the quality lead reports on "
                "adoption, gaps and staff feedback at the quarterly workflow review."
            )
            meeting = gov.meeting_update(actor=self.senior, meeting=meeting, minutes=minutes)
            if index < len(MEETINGS) - 1:
                meeting = gov.meeting_sign_off(actor=self.senior, meeting=meeting, at=at)
            self.meetings[story_day] = meeting

    # Services ----------------------------------------------------------------------------------

    def template_version(self, workflow: str) -> WorkflowVersion | None:
        workflow_map = self.templates.get(workflow)
        if workflow_map is None:
            return None
        return workflow_map.versions.filter(status=WorkflowVersion.Status.APPROVED).first()

    def adopt(self, service: Service, story_day: int, meeting: int, *, tests: int = 3):
        """Adopt, adapt, test and approve all six workflows; returns {workflow: version}."""
        manager = self.manager(service)
        adaptations = ADAPTATIONS.get(service.service_type, {})
        versions = {}
        for index, workflow in enumerate(ORDER):
            at = yield self.day(story_day + index * 0.5, 10, 30)
            template = self.template_version(workflow)
            if template is None:
                continue
            version = services.map_adopt(actor=manager, service=service, template=template, at=at)
            changes = adaptations.get(workflow, {})
            added = adaptations.get("add", {}).get(workflow, [])
            if changes or added:
                at = yield at + timedelta(hours=3)
                self.change_steps(version, changes, actor=manager, at=at)
                self.add_steps(version, added, actor=manager, at=at)
                what = []
                if changes:
                    numbers = ", ".join(str(p) for p in sorted(changes))
                    what.append(f"step{'s' if len(changes) > 1 else ''} {numbers} changed")
                if added:
                    what.append("a step added")
                services.version_update(
                    actor=manager,
                    version=version,
                    change_summary=f"{version.change_summary} Adapted for "
                    f"{service.get_service_type_display().lower()}: {' and '.join(what)}.",
                    at=at,
                )
            versions[workflow] = version
        at = yield self.day(story_day + 12, 9, 30)
        for version in versions.values():
            services.version_start_test(actor=manager, version=version, at=at)
        pool = [t for t in ADOPTION_TESTS if t[0] in versions]
        for number, (workflow, position, shift, answers, extra, comments) in enumerate(
            self.rng.sample(pool, min(tests, len(pool)))
        ):
            at = yield self.day(story_day + 15 + 5 * number, 11 + number % 5)
            self.staff_test(
                service,
                versions[workflow],
                position,
                at,
                shift,
                answers,
                comments,
                extra_minutes=extra,
            )
        for workflow, version in versions.items():
            versions[workflow] = yield from self.approve(
                version,
                meeting,
                f"Live at {service.name} from the week after approval. The registered manager "
                "briefs every shift in the first week; the team leader spot-checks five "
                f"{version.map.get_workflow_display().lower()} records a week for a month and "
                "logs any gap, duplication or workaround in the service review log.",
            )
        return versions

    # Willow House: workarounds on the daily notes, a revision under test -----------------------

    def willow(self, service: Service):
        versions = yield from self.adopt(service, 62, MEETINGS[1])
        notes = versions.get("daily_notes")
        if notes is None:
            return
        planning = versions["care_planning"]
        at = yield self.day(175, 14)
        gap = self.gap(
            service,
            planning,
            6,
            at,
            PracticeGap.Kind.GAP,
            "Agency staff cannot open the read receipt on the handhelds, so they start shifts "
            "without confirming they have read the care plan.",
            frequency=PracticeGap.Frequency.SOME_SHIFTS,
            risk="medium",
            evidence=["observation", "staff_feedback"],
            detail="Seen on two weekend late shifts; agency carers told the senior they had no "
            "ECM login that showed care plans.",
        )
        at = yield self.day(196, 15)
        services.gap_resolve(
            actor=self.manager(service),
            gap=gap,
            resolution="Agency staff now get a temporary ECM login at the start of each shift, "
            "with the read receipt.",
            at=at,
        )

        first = yield self.day(412, 15)
        days = self.in_one_quarter(first, [0, 11, 24])
        at = yield days[0]
        copied = self.gap(
            service,
            notes,
            4,
            at,
            PracticeGap.Kind.WORKAROUND,
            "Night staff copy the previous night's note and change the date, so notes say the "
            "same thing night after night.",
            frequency=PracticeGap.Frequency.MOST_SHIFTS,
            risk="medium",
            evidence=["record_sample", "observation"],
            detail=f"{self.ref(service, 'DN')} and {self.ref(service, 'DN')} are word for word "
            "the note of the night before; seen being done at 06:30.",
        )
        at = yield days[1]
        self.gap(
            service,
            notes,
            1,
            at,
            PracticeGap.Kind.WORKAROUND,
            "Night tasks are ticked in one go at the end of the shift, not when they are done, "
            "so the times on the ECM are the time of ticking.",
            frequency=PracticeGap.Frequency.MOST_SHIFTS,
            risk="medium",
            evidence=["record_sample"],
            detail=f"Care task records for {self.ref(service, 'DN')} show eleven tasks ticked "
            "between 06:20 and 06:40.",
        )
        at = yield days[2]
        self.gap(
            service,
            notes,
            6,
            at,
            PracticeGap.Kind.WORKAROUND,
            "A paper handover sheet is still filled in alongside the ECM, because the office "
            "tablet is slow at 07:00; the morning shift reads the paper, not the ECM.",
            frequency=PracticeGap.Frequency.EVERY_SHIFT,
            risk="low",
            evidence=["observation", "staff_feedback"],
            detail="Seen at three morning handovers; the night senior said the handover screen "
            "takes five minutes to load.",
        )

        at = yield self.day(452, 11)
        revision = services.version_revise(
            actor=self.manager(service),
            workflow_map=notes.map,
            change_summary="Night notes without copying: the ECM no longer offers the previous "
            "note to copy and the prompt asks about the person's night. Tasks ticked more than "
            "two hours late ask for a reason. Handover from the ECM on the office tablet, no "
            "paper sheet.",
            at=at,
        )
        self.change_steps(
            revision,
            {
                1: {
                    "prompt": "Tick each task when it is done; the handheld asks for a reason "
                    "when a task is ticked more than two hours after it was due."
                },
                4: {
                    "prompt": "At night: how the person slept, what woke them and how they were "
                    "in the morning, in your own words. The previous night's note is not "
                    "offered to copy."
                },
                6: {
                    "prompt": "Hand over from the handover screen on the office tablet; no paper "
                    "sheet. Add what the next shift must do and for whom."
                },
            },
            actor=self.manager(service),
            at=at,
        )
        at = yield self.day(460, 9)
        services.version_start_test(actor=self.manager(service), version=revision, at=at)
        for story_day, position, shift, answers, extra, comments in (
            (
                463,
                4,
                "night",
                (Y, P, Y),
                4,
                "Night notes took longer without the copy button; the prompt helped, but two "
                "carers wrote one line and moved on.",
            ),
            (
                468,
                1,
                "night",
                (Y, Y, P),
                0,
                "The late-tick reason box appeared for 2-hourly checks done on time; it counts "
                "from the start of the window, not the end.",
            ),
            (
                476,
                6,
                "night",
                (Y, Y, N),
                10,
                "Handover screen still took four minutes to load at 07:00; the night senior "
                "wrote the paper sheet again.",
            ),
            (
                489,
                4,
                "night",
                (Y, Y, Y),
                2,
                "Notes specific to each person on this shift; the prompt is now familiar.",
            ),
            (
                497,
                6,
                "early",
                (Y, P, Y),
                5,
                "Handover from the tablet worked once the supplier cached the screen; prompt "
                "wording could be shorter.",
            ),
        ):
            at = yield self.day(story_day, 7 if shift == "night" else 14, 15)
            self.staff_test(
                service, revision, position, at, shift, answers, comments, extra_minutes=extra
            )
        at = yield self.day(500, 16)
        services.gap_resolve(
            actor=self.manager(service),
            gap=copied,
            resolution="The copy button is gone in version 2 under test; night notes checked in "
            "the tests are written fresh.",
            at=at,
        )

    # Riverside Home Care: paper doses on the rural rounds --------------------------------------

    def riverside(self, service: Service):
        versions = yield from self.adopt(service, 64, MEETINGS[1])
        meds = versions.get("medication")
        if meds is None:
            return
        notes = versions["daily_notes"]
        first = yield self.day(262, 16)
        days = self.in_one_quarter(first, [0, 9, 18])
        at = yield days[0]
        paper = self.gap(
            service,
            meds,
            2,
            at,
            PracticeGap.Kind.WORKAROUND,
            "No signal on the rural rounds: the eMAR will not open, so doses are written on a "
            "paper sheet in the person's home and typed in at the office at the end of the day.",
            frequency=PracticeGap.Frequency.MOST_SHIFTS,
            risk="high",
            evidence=["observation", "record_sample"],
            detail=f"{self.ref(service, 'MA')} and {self.ref(service, 'MA')} recorded five to "
            "seven hours after the visit; paper sheets seen in the office tray.",
        )
        at = yield days[1]
        self.gap(
            service,
            notes,
            4,
            at,
            PracticeGap.Kind.WORKAROUND,
            "Visit notes are written in the car after the next call, from memory.",
            frequency=PracticeGap.Frequency.SOME_SHIFTS,
            risk="low",
            evidence=["staff_feedback"],
            detail="Three home care workers on the rural round said so at the team meeting.",
        )
        at = yield days[2]
        phoned = self.gap(
            service,
            meds,
            2,
            at,
            PracticeGap.Kind.WORKAROUND,
            "Home care workers phone the office so the coordinator records the dose on the "
            "eMAR for them; the entry shows the coordinator, not who gave it.",
            frequency=PracticeGap.Frequency.SOME_SHIFTS,
            risk="medium",
            evidence=["record_sample", "staff_feedback"],
            detail=f"{self.ref(service, 'MA')} recorded by the office login at the time of a "
            "home visit.",
        )

        manager = self.manager(service)
        at = yield self.day(292, 11)
        offline = services.version_revise(
            actor=manager,
            workflow_map=meds.map,
            change_summary="Offline eMAR: doses recorded on the care app at the door, with or "
            "without signal, and synced when the signal returns with the time given kept.",
            at=at,
        )
        self.change_steps(
            offline,
            {
                2: {
                    "prompt": "Record on the care app at the time of the dose, even without "
                    "signal; the entry syncs later and keeps the time it was given."
                }
            },
            actor=manager,
            at=at,
        )
        at = yield self.day(300, 9)
        services.version_start_test(actor=manager, version=offline, at=at)
        at = yield self.day(303, 8, 40)
        self.staff_test(
            service,
            offline,
            2,
            at,
            "early",
            (Y, Y, Y),
            "Recorded at the door with no signal; synced at the next village with the right time.",
        )
        at = yield self.day(306, 17, 50)
        self.staff_test(
            service,
            offline,
            1,
            at,
            "late",
            (N, N, P),
            f"Offline, the time-critical alert for Parkinson's medicine did not show: the dose "
            f"for {self.ref(service, 'MA')} was given 50 minutes late. The alert only comes from "
            "the server.",
            extra_minutes=4,
            safe=True,
        )
        at = yield self.day(330, 10)
        fixed = services.version_revise(
            actor=manager,
            workflow_map=meds.map,
            change_summary="Version 2 withdrawn: offline, time-critical alerts did not show. "
            "Time-critical medicines are now marked on the visit schedule itself, so they show "
            "without signal, and the app warns 30 minutes before the dose is due.",
            at=at,
        )
        self.change_steps(
            fixed,
            {
                1: {
                    "prompt": "Time-critical medicines are marked on the visit schedule itself, "
                    "so they show offline; the app warns 30 minutes before the dose is due."
                }
            },
            actor=manager,
            at=at,
        )
        at = yield self.day(338, 9)
        services.version_start_test(actor=manager, version=fixed, at=at)
        tests = []
        for story_day, position, shift, answers, comments in (
            (
                341,
                1,
                "early",
                (Y, Y, Y),
                "Time-critical dose showed on the schedule with no signal; warning came on time.",
            ),
            (
                347,
                2,
                "late",
                (Y, Y, P),
                "Offline recording fine; one entry took twenty minutes to sync after signal "
                "returned.",
            ),
            (
                356,
                1,
                "late",
                (Y, Y, Y),
                "Parkinson's medicine given within 10 minutes of the time on all four visits.",
            ),
        ):
            at = yield self.day(story_day, 12)
            tests.append(self.staff_test(service, fixed, position, at, shift, answers, comments))
        at = yield self.day(372, 11)
        services.finding_record(
            actor=self.quality,
            version=fixed,
            consistency="improves",
            record_quality="no_change",
            risk_visibility="improves",
            summary="Doses are now recorded at the time they are given, and time-critical "
            "medicines show offline, so omissions are visible on the day. Visit notes are still "
            "written late on the rural rounds: the ECM export's timeliness is still red, so "
            "record quality has not improved yet.",
            tests=tests,
            gaps=[paper, phoned],
            at=at,
        )
        # Resolved before the leadership team sees it: an open high-risk gap blocks approval.
        at = yield self.day(400, 15)
        for gap in (paper, phoned):
            services.gap_resolve(
                actor=manager,
                gap=gap,
                resolution="Fixed by version 3 under test: doses recorded offline at the time "
                "given; no paper sheets or office entries in six weeks of tests.",
                at=at,
            )
        yield from self.approve(
            fixed,
            MEETINGS[4],
            "Offline eMAR live on all rounds from the week after approval. No paper MAR sheets; "
            "the care coordinator checks the missed doses report each afternoon and the "
            "registered manager reports time-critical doses given late at the monthly review.",
        )

    # Beech Court Nursing: recorded twice, night turns missing ------------------------------------

    def beech(self, service: Service):
        versions = yield from self.adopt(service, 66, MEETINGS[1])
        notes = versions.get("daily_notes")
        if notes is None:
            return
        repositioning = notes.steps.filter(recorded_item="Repositioning").first()
        turns = repositioning.position if repositioning else 6
        first = yield self.day(418, 15)
        days = self.in_one_quarter(first, [0, 16])
        at = yield days[0]
        fluids = self.gap(
            service,
            notes,
            2,
            at,
            PracticeGap.Kind.DUPLICATION,
            "Fluid intake is recorded on the fluid chart, again as a total in the daily note, "
            "and on a paper chart by the bed; the three often disagree.",
            frequency=PracticeGap.Frequency.MOST_SHIFTS,
            risk="medium",
            evidence=["record_sample"],
            detail=f"{self.ref(service, 'FN')} and {self.ref(service, 'DN')} give different "
            "totals for the same day.",
        )
        at = yield days[1]
        self.gap(
            service,
            notes,
            turns,
            at,
            PracticeGap.Kind.DUPLICATION,
            "Each turn is recorded on the repositioning chart and written again in the handover "
            "entry.",
            frequency=PracticeGap.Frequency.EVERY_SHIFT,
            risk="low",
            evidence=["observation", "record_sample"],
            detail=f"{self.ref(service, 'RC')} and the handover entry for the same night list "
            "the same turns.",
        )
        at = yield self.day(446, 16)
        self.gap(
            service,
            notes,
            turns,
            at,
            PracticeGap.Kind.GAP,
            "Night turns for people on two-hourly repositioning do not appear on the night "
            "handhelds after the 22:00 sync, so staff turn from memory and record at 06:00.",
            frequency=PracticeGap.Frequency.EVERY_SHIFT,
            risk="high",
            evidence=["observation", "record_sample"],
            detail=f"{self.ref(service, 'RC')} and {self.ref(service, 'RC')} show no entries "
            "between 22:00 and 06:00 on three nights.",
            safe=True,
        )

        manager = self.manager(service)
        at = yield self.day(466, 11)
        revision = services.version_revise(
            actor=manager,
            workflow_map=notes.map,
            change_summary="Record once: fluid intake only on the fluid chart, turns only on "
            "the repositioning chart; the handover screen pulls both. Night turns scheduled "
            "after the 22:00 sync.",
            at=at,
        )
        self.change_steps(
            revision,
            {
                2: {
                    "prompt": "Amount in ml at each drink, on the fluid chart only: the daily "
                    "note no longer asks for a total and the paper bed chart is withdrawn."
                },
                6: {
                    "prompt": "The handover screen pulls the fluid and repositioning charts; "
                    "the nurse in charge adds only what is new."
                },
                turns: {
                    "prompt": "Turns due show on the night handhelds after the 22:00 sync; a "
                    "missed turn alerts the nurse in charge after 30 minutes."
                },
            },
            actor=manager,
            at=at,
        )
        at = yield self.day(474, 9)
        services.version_start_test(actor=manager, version=revision, at=at)
        for story_day, position, shift, answers, extra, comments in (
            (
                477,
                turns,
                "night",
                (Y, Y, Y),
                0,
                "All two-hourly turns showed after the 22:00 sync; alert reached the nurse "
                "once, for a turn done late.",
            ),
            (
                481,
                2,
                "long_day",
                (Y, Y, Y),
                -1,
                "Fluids recorded once; the day total is right on the handover screen.",
            ),
            (
                488,
                6,
                "night",
                (P, N, P),
                6,
                "The handover entry is still marked complete as soon as it is opened, whether "
                "or not anything is written.",
            ),
            (
                495,
                turns,
                "night",
                (Y, P, Y),
                1,
                "Turns showed, but the alert fired for a person asleep on a pressure mattress "
                "whose plan says four-hourly.",
            ),
        ):
            at = yield self.day(story_day, 7 if shift == "night" else 15, 30)
            self.staff_test(
                service, revision, position, at, shift, answers, comments, extra_minutes=extra
            )
        at = yield self.day(502, 15)
        services.gap_resolve(
            actor=manager,
            gap=fluids,
            resolution="Paper bed charts withdrawn and the daily note's fluid total removed "
            "(version 2 under test); fluids recorded once on the chart.",
            at=at,
        )

    # Hawthorn Supported Living: goals in two places, an override -------------------------------

    def hawthorn(self, service: Service):
        versions = yield from self.adopt(service, 150, MEETINGS[2])
        planning, reviews, meds = (
            versions.get("care_planning"),
            versions.get("reviews"),
            versions.get("medication"),
        )
        if planning is None or reviews is None or meds is None:
            return
        manager = self.manager(service)
        first = yield self.day(300, 15)
        days = self.in_one_quarter(first, [0, 9])
        at = yield days[0]
        goals = self.gap(
            service,
            planning,
            3,
            at,
            PracticeGap.Kind.DUPLICATION,
            "Goals are written in the support plan and again in the activity and goals record; "
            "the two drift apart within weeks.",
            frequency=PracticeGap.Frequency.SOME_SHIFTS,
            risk="low",
            evidence=["record_sample"],
            detail=f"The goal in {self.ref(service, 'AG')} differs from the support plan it "
            "comes from.",
        )
        at = yield days[1]
        self.gap(
            service,
            reviews,
            3,
            at,
            PracticeGap.Kind.DUPLICATION,
            "At review, the team leader copies goal progress from the activity records into the "
            "review by hand.",
            frequency=PracticeGap.Frequency.SOME_SHIFTS,
            risk="low",
            evidence=["observation", "staff_feedback"],
            detail=f"Review of {self.ref(service, 'SP')}: 40 minutes spent retyping progress.",
        )
        at = yield self.day(360, 14)
        services.gap_resolve(
            actor=manager,
            gap=goals,
            resolution="Goals now live in the support plan only; the activity record links to "
            "them.",
            at=at,
        )

        at = yield self.day(400, 11)
        revision = services.version_revise(
            actor=manager,
            workflow_map=meds.map,
            change_summary="PRN: the care app prompts for the effect 60 minutes after the dose, "
            "because the audits found PRN effects missing.",
            at=at,
        )
        self.change_steps(
            revision,
            {
                3: {
                    "prompt": "The care app asks why the PRN dose was given and prompts for its "
                    "effect 60 minutes later, in the person's words where possible."
                }
            },
            actor=manager,
            at=at,
        )
        at = yield self.day(410, 9)
        services.version_start_test(actor=manager, version=revision, at=at)
        tests = []
        for story_day, position, shift, answers, comments in (
            (
                413,
                3,
                "long_day",
                (Y, N, P),
                "The effect prompt fires while the support worker is out with the person at "
                "the day centre; the effect was recorded on return, three hours later.",
            ),
            (
                418,
                3,
                "late",
                (Y, Y, Y),
                "At home the prompt came on time and the effect was recorded in the person's "
                "words.",
            ),
            (424, 2, "early", (Y, Y, Y), "No change to the round; fine."),
        ):
            at = yield self.day(story_day, 16)
            tests.append(self.staff_test(service, revision, position, at, shift, answers, comments))
        at = yield self.day(440, 11)
        services.finding_record(
            actor=self.quality,
            version=revision,
            consistency="improves",
            record_quality="improves",
            risk_visibility="no_change",
            summary="PRN effects are recorded for doses given at home; outcome evidence in the "
            "audits of PRN records improved. The prompt fails on community activities (the "
            "linked failed test), so effects of doses given out are still late.",
            tests=tests,
            at=at,
        )
        yield from self.approve(
            revision,
            MEETINGS[5],
            "Live from the week after approval. The team leader checks PRN effect entries "
            "weekly until the supplier's change is in.",
            override="The failed test is the effect prompt during community activities. The "
            "revision fixes missing PRN effects at home, which is most doses; the supplier is "
            "changing the prompt to allow a later entry, and the weekly check covers the rest.",
        )

    # Ashgrove Nursing Home: reviews on time at last ----------------------------------------------

    def ashgrove(self, service: Service):
        versions = yield from self.adopt(service, 156, MEETINGS[2])
        meds, reviews, notes = (
            versions.get("medication"),
            versions.get("reviews"),
            versions.get("daily_notes"),
        )
        if meds is None or reviews is None or notes is None:
            return
        manager = self.manager(service)
        at = yield self.day(250, 15)
        cd = self.gap(
            service,
            meds,
            5,
            at,
            PracticeGap.Kind.GAP,
            "Night controlled drug checks are written in the paper register only; the ECM "
            "balance is not updated, so the morning count looks wrong and a real discrepancy "
            "could be missed.",
            frequency=PracticeGap.Frequency.SOME_SHIFTS,
            risk="high",
            evidence=["record_sample", "observation"],
            detail="ECM balance and paper register differed on three mornings in a fortnight.",
            safe=True,
        )
        at = yield self.day(268, 10)
        services.gap_resolve(
            actor=manager,
            gap=cd,
            resolution="Night nurses briefed to record every count in the ECM register at the "
            "time; the deputy manager checks the balance weekly. Paper register kept only as "
            "the legal record.",
            at=at,
        )
        at = yield self.day(290, 15)
        diary = self.gap(
            service,
            reviews,
            1,
            at,
            PracticeGap.Kind.GAP,
            "Review dates are kept in the nurses' desk diary, not the ECM calendar, so nobody "
            "is reminded when a nurse is off.",
            frequency=PracticeGap.Frequency.ONCE,
            risk="medium",
            evidence=["observation"],
            detail="Seven reviews overdue in the month; all were in the diary.",
        )
        at = yield self.day(305, 15)
        totals = self.gap(
            service,
            notes,
            2,
            at,
            PracticeGap.Kind.DUPLICATION,
            "Fluid totals are copied from the chart into the nurse's handover notes.",
            frequency=PracticeGap.Frequency.SOME_SHIFTS,
            risk="low",
            evidence=["observation"],
        )

        at = yield self.day(370, 11)
        revision = services.version_revise(
            actor=manager,
            workflow_map=reviews.map,
            change_summary="Review dates entered in the ECM calendar with a 14-day reminder to "
            "the named nurse and the deputy manager, after reminders at handover did not work.",
            at=at,
        )
        self.change_steps(
            revision,
            {
                1: {
                    "role": "deputy_manager",
                    "action": "Enter every review date in the ECM calendar with a 14-day reminder",
                    "prompt": "The ECM reminds the named nurse and the deputy manager 14 days "
                    "before each review is due, and again on the day.",
                }
            },
            actor=manager,
            at=at,
        )
        at = yield self.day(378, 9)
        services.version_start_test(actor=manager, version=revision, at=at)
        tests = []
        for story_day, position, shift, answers, comments in (
            (382, 1, "early", (Y, Y, Y), "All reviews for the month entered in 40 minutes."),
            (
                396,
                3,
                "long_day",
                (Y, P, Y),
                "Reminder arrived; the review screen's prompt repeats the reminder text.",
            ),
        ):
            at = yield self.day(story_day, 13)
            tests.append(self.staff_test(service, revision, position, at, shift, answers, comments))
        at = yield self.day(402, 11)
        services.finding_record(
            actor=self.quality,
            version=revision,
            consistency="improves",
            record_quality="improves",
            risk_visibility="improves",
            summary="Reviews are done on time since the reminder started; the month's review "
            "compliance is green again, and overdue reviews show on the calendar before they "
            "are late.",
            tests=tests,
            gaps=[diary],
            at=at,
        )
        yield from self.approve(
            revision,
            MEETINGS[4],
            "The deputy manager keeps the calendar; overdue reviews reported at the monthly "
            "quality meeting.",
        )
        at = yield self.day(425, 11)
        for gap, resolution in (
            (diary, "Fixed in version 2: review dates in the ECM calendar with reminders."),
            (totals, "Handover screen shows the chart total; nurses no longer copy it."),
        ):
            services.gap_resolve(actor=manager, gap=gap, resolution=resolution, at=at)

    # Meadow View Extra Care: still planning ------------------------------------------------------

    def meadow(self, service: Service):
        manager = self.manager(service)
        adaptations = ADAPTATIONS.get(service.service_type, {})
        for story_day, workflow in ((470, "care_planning"), (476, "daily_notes")):
            at = yield self.day(story_day, 10)
            template = self.template_version(workflow)
            if template is None:
                continue
            version = services.map_adopt(actor=manager, service=service, template=template, at=at)
            at = yield self.day(story_day + 20, 15)
            if adaptations.get(workflow):
                self.change_steps(version, adaptations[workflow], actor=manager, at=at)
            services.version_update(
                actor=manager,
                version=version,
                change_summary=f"{version.change_summary} Being adapted before the ECM rollout: "
                "wellbeing checks at each call, and call monitoring in place of the shift "
                "summary.",
                at=at,
            )

    # Quiet services: Elm Lodge, Northside and any others ---------------------------------------

    def quiet(self, service: Service, index: int):
        versions = yield from self.adopt(service, 340 + 3 * (index % 4), MEETINGS[4])
        notes, incidents = versions.get("daily_notes"), versions.get("incidents")
        if notes is None or incidents is None:
            return
        manager = self.manager(service)
        at = yield self.day(432 + 4 * (index % 3), 15)
        if service.service_type == Service.Type.DOMICILIARY_CARE:
            gap = self.gap(
                service,
                notes,
                3,
                at,
                PracticeGap.Kind.GAP,
                "The body map is not used on home visits: new marks are described in the visit "
                "note instead, so they are not on the person's skin record.",
                frequency=PracticeGap.Frequency.SOME_SHIFTS,
                risk="low",
                evidence=["staff_feedback"],
                detail="Raised by two home care workers at supervision.",
            )
            resolution = "Body map added to the personal care task on the care app."
        else:
            gap = self.gap(
                service,
                notes,
                6,
                at,
                PracticeGap.Kind.WORKAROUND,
                "On one night the handover was given from a printed list because the office "
                "tablet was flat.",
                frequency=PracticeGap.Frequency.ONCE,
                risk="low",
                evidence=["observation"],
            )
            resolution = "Second charger in the office; handover from the ECM since."
        at = yield at + timedelta(days=12 * min(1.0, self.scale))
        services.gap_resolve(actor=manager, gap=gap, resolution=resolution, at=at)
        if service.code == "ELM":
            # A revision being drafted: nothing changes for staff until it is tested.
            at = yield self.day(530, 11)
            draft = services.version_revise(
                actor=manager,
                workflow_map=incidents.map,
                change_summary="Falls: the post-fall observation schedule to follow the "
                "falls policy's 24-hour checks, and the family told the same day.",
                at=at,
            )
            self.change_steps(
                draft,
                {
                    4: {
                        "prompt": "After any unwitnessed fall, observations at 15 minutes, 1, "
                        "2, 4, 8, 12 and 24 hours, each recorded when done."
                    }
                },
                actor=manager,
                at=at,
            )

    def story_for(self, service: Service, index: int):
        stories = {
            "WILLOW": self.willow,
            "RIVER": self.riverside,
            "BEECH": self.beech,
            "HAWTH": self.hawthorn,
            "ASH": self.ashgrove,
            "MEADOW": self.meadow,
        }
        if service.code in stories:
            return stories[service.code](service)
        if service.phase == Service.Phase.PLANNING:
            return self.meadow(service)
        return self.quiet(service, index)


def build_workflow_history(
    organisation, *, rng: random.Random, start: date, end: date, people: dict
) -> None:
    """Templates, service copies, the service review log, staff tests, findings and approvals,
    back-dated. Run it before the governance replay, which raises the escalations."""
    demo = _Demo(organisation, rng=_derived(rng, "workflows"), start=start, end=end, people=people)
    if demo.director is None or demo.senior is None:
        return
    service_list = list(Service.objects.filter(organisation=organisation).order_by("pk"))
    demo.run(
        [demo.template_story(), demo.sign_offs()]
        + [demo.story_for(service, index) for index, service in enumerate(service_list)]
    )


def _audit_evidence(quality_lead, service: Service, since: date) -> list[dict]:
    """Submitted record audits of the service since the test began, as the finding form links
    them."""
    return audits_for_evidence(user=quality_lead, service=service, since=since, limit=4)


def build_workflow_findings(organisation, *, rng: random.Random, today: date, people: dict) -> None:
    """The quality lead's findings on the revisions still under test, citing the record audits
    of the same service. Run it after the assurance history exists."""
    rng = _derived(rng, "workflows-findings")
    quality_lead = people["quality_lead"]
    under_test = (
        WorkflowVersion.objects.filter(
            map__organisation=organisation,
            map__service__isnull=False,
            status=WorkflowVersion.Status.UNDER_TEST,
            findings__isnull=True,
        )
        .select_related("map__service")
        .order_by("pk")
    )
    for version in under_test:
        tests = list(version.tests.order_by("tested_on", "pk"))
        if not tests:
            continue
        service = version.map.service
        at = _at(today - timedelta(days=rng.randint(3, 6)), 11, rng.choice((0, 15, 30)))
        if at <= version.test_started_at or at <= tests[-1].recorded_at:
            at = max(version.test_started_at, tests[-1].recorded_at) + timedelta(hours=2)
        if at >= timezone.now():
            continue
        gaps = list(
            PracticeGap.objects.filter(
                service=service,
                step__version__map=version.map,
                observed_on__gte=timezone.localdate(version.test_started_at) - timedelta(days=92),
            ).order_by("observed_on", "pk")
        )
        (consistency, record_quality, risk_visibility), summary = OPEN_FINDINGS.get(
            service.code, DEFAULT_FINDING
        )
        services.finding_record(
            actor=quality_lead,
            version=version,
            consistency=consistency,
            record_quality=record_quality,
            risk_visibility=risk_visibility,
            summary=summary,
            tests=tests,
            gaps=gaps,
            audit_evidence=_audit_evidence(
                quality_lead, service, timezone.localdate(version.test_started_at)
            ),
            at=at,
        )


def delete_workflow_history(organisation) -> None:
    """Remove the demo's workflow records, and the approval decisions and meetings they made
    (the records protect the people, services and decisions they cite)."""
    versions = WorkflowVersion.objects.filter(map__organisation=organisation)
    decision_ids = list(versions.exclude(decision=None).values_list("decision_id", flat=True))
    meeting_ids = set(
        Decision.objects.filter(pk__in=decision_ids).values_list("meeting_id", flat=True)
    )
    QualityFinding.objects.filter(version__map__organisation=organisation).delete()
    StaffTest.objects.filter(organisation=organisation).delete()
    PracticeGap.objects.filter(organisation=organisation).delete()
    # Service copies first: each protects the template version it was adopted from. Within a
    # map, newest first: a revision protects the version it is based on.
    for templates in (False, True):
        maps = WorkflowMap.objects.filter(organisation=organisation, service__isnull=templates)
        WorkflowStep.objects.filter(version__map__in=maps).delete()
        for version in WorkflowVersion.objects.filter(map__in=maps).order_by("-number", "-pk"):
            version.delete()
        maps.delete()
    Decision.objects.filter(pk__in=decision_ids).delete()
    Meeting.objects.filter(pk__in=meeting_ids, decisions__isnull=True).delete()

"""What apps plug into the kernel: review kinds, triggers, menu entries and the getting-started
checklist's steps. Each takes a few lines to add.

register_review_kind(ReviewKind(
    code="assurance.trend_review", name="Monthly data quality trend review",
    body=Body.REGISTERED_MANAGER, scope=Scope.SERVICE, cadence=Cadence.MONTHLY,
    description="Registered managers review data quality trends ..."))

@register_trigger
class RepeatedDataGaps(Trigger):
    code = "assurance.repeated_data_gaps"
    ...
    def evaluate(self, scope, period, thresholds, at): return [Finding(...)]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from caregov.cadence import Cadence, Period
from caregov.roles import Body

if TYPE_CHECKING:
    from caregov.models import Organisation, Service


class ScopeKind:
    SERVICE = "service"
    ORGANISATION = "organisation"
    #: Evaluated for each service and for the organisation as a whole.
    EVERY = "every"


@dataclass(frozen=True)
class Scope:
    organisation: Organisation
    service: Service | None = None

    @property
    def label(self) -> str:
        return self.service.name if self.service else self.organisation.name


# Review kinds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordedEntry:
    """One judgement recorded in a review, like "Record completeness: Workload"."""

    subject: str
    judgement: str
    note: str = ""
    recorded_by: str = ""
    recorded_at: datetime | None = None


PhaseCadence = Callable[[str], str | None]


@dataclass(frozen=True)
class ReviewKind:
    code: str
    name: str
    body: str
    scope: str
    description: str
    #: A cadence, or a mapping from the service's implementation phase to a cadence (or None:
    #: no review in that phase).
    cadence: str | dict[str, str | None]
    #: Days after the period ends by which sign-off is due.
    due_days: int = 7
    #: The app's page for working through a cycle of this kind: a URL name taking the cycle's id.
    workspace: str | None = None
    workspace_label: str = ""
    #: Whether there is anything to review for a scope and period: an app whose logs are not yet
    #: kept opens no cycles for them (None: always).
    opens_when: Callable[[Scope, Period], bool] | None = None
    #: What people record in the app while working through a cycle (a trend review's causes),
    #: shown on the review and sign-off pages so the minutes are written from it: takes the
    #: cycle and returns RecordedEntry rows (None: the kind records nothing of its own).
    recorded: Callable[..., list[RecordedEntry]] | None = None
    #: The heading over them, and what the page says when none is recorded yet.
    recorded_heading: str = "Recorded in this review"
    recorded_empty: str = "Nothing is recorded in this review yet."

    def cadence_for(self, phase: str | None) -> str | None:
        if isinstance(self.cadence, str):
            return self.cadence
        return self.cadence.get(phase or "")

    @property
    def cadence_words(self) -> str:
        if isinstance(self.cadence, str):
            return Cadence(self.cadence).label
        parts = [
            f"{Cadence(c).label.lower()} during {phase}" for phase, c in self.cadence.items() if c
        ]
        return "; ".join(parts).capitalize()


@dataclass
class Registry:
    """Things apps plug in, by code: review kinds, triggers, demo builders, scheduled jobs, and
    reporting's pack kinds. A code is registered once."""

    items: dict = field(default_factory=dict)

    def add(self, code: str, item) -> None:
        if code in self.items and self.items[code] is not item:
            raise ValueError(f"{code} is registered twice")
        self.items[code] = item

    def get(self, code: str):
        return self.items.get(code)

    def all(self) -> list:
        return list(self.items.values())

    def choices(self) -> list[tuple[str, str]]:
        return [
            (code, item.name)
            for code, item in sorted(self.items.items(), key=lambda kv: kv[1].name)
        ]


review_kinds = Registry()
triggers = Registry()
#: Menu entries apps add from their AppConfig: (label, url name, capability, whether the
#: capability must be held across the organisation rather than at one service).
menu_items: list[tuple[str, str, str, bool]] = []


@dataclass(frozen=True)
class DemoBuilder:
    """How an app adds to the demo provider, without the kernel importing it.

    before_replay(organisation, rng=, start=, end=, people=) runs before the scheduler is replayed
    (records the replayed triggers should see); after_replay(organisation, rng=, today=, people=)
    after it (work inside the review cycles the replay opened); delete(organisation) on --reset.
    """

    code: str
    before_replay: Callable | None = None
    after_replay: Callable | None = None
    delete: Callable | None = None


demo_builders = Registry()


def register_demo_builder(builder: DemoBuilder) -> DemoBuilder:
    demo_builders.add(builder.code, builder)
    return builder


#: Functions apps add to name what a decision in the minutes was about: each takes a list of
#: decisions and returns {decision id: [(label, url), ...]} for those that concern its records.
decision_subjects: list[Callable] = []


def register_decision_subjects(finder: Callable) -> Callable:
    if finder not in decision_subjects:
        decision_subjects.append(finder)
    return finder


def subjects_of(decisions: list) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for finder in decision_subjects:
        for decision_id, links in finder(decisions).items():
            found.setdefault(decision_id, []).extend(links)
    return found


#: Work apps add to the one scheduler run, after cycles are opened and triggers evaluated: each
#: takes `at=` and returns a short sentence for the run's summary, or "" when it did nothing.
#: Like the rest of the run it must be idempotent for a moment.
scheduled_jobs = Registry()


def register_scheduled_job(code: str, job: Callable[..., str]) -> Callable[..., str]:
    scheduled_jobs.add(code, job)
    return job


# The getting-started checklist ---------------------------------------------------------------


@dataclass(frozen=True)
class StepProgress:
    """How far an organisation is with one getting-started step, read from its records."""

    done: bool
    #: What is done or still to do, in words: "Still to import: Willow House, Elm Lodge."
    detail: str = ""


@dataclass(frozen=True)
class GettingStartedStep:
    """One step of the home page's getting-started checklist, ticked from the records alone.

    progress(organisation, services) reads in a bounded number of queries, whatever the number of
    services; `services` are the organisation's active services, read once for every step.
    """

    code: str
    #: Where it comes in the list: the kernel's steps are 10, 20, ...; apps fit in between.
    order: int
    label: str
    #: Why it matters and how it is done, in one sentence.
    hint: str
    #: The page where it is done, and the capability (across the organisation) that opens it.
    url_name: str
    capability: str
    #: Who does it, shown under a step still to do: "A registered manager signs it off."
    done_by: str
    progress: Callable[[Organisation, list[Service]], StepProgress]


getting_started_steps = Registry()


def register_getting_started_step(step: GettingStartedStep) -> GettingStartedStep:
    getting_started_steps.add(step.code, step)
    return step


def register_menu_item(
    label: str, url_name: str, capability: str, *, organisation_wide: bool = False
) -> None:
    item = (label, url_name, capability, organisation_wide)
    if item not in menu_items:
        menu_items.append(item)


def register_review_kind(kind: ReviewKind) -> ReviewKind:
    review_kinds.add(kind.code, kind)
    return kind


# Triggers -------------------------------------------------------------------------------------


@dataclass
class EvidenceRecord:
    """A record a person can open to check the finding: a model label and a primary key."""

    model: str
    id: int
    label: str

    def as_dict(self) -> dict:
        return {"model": self.model, "id": self.id, "label": self.label}


@dataclass
class Finding:
    title: str
    severity: str
    figures: dict
    records: list[EvidenceRecord]
    subject: str = ""
    escalate_to: str | None = None
    #: The period the finding belongs to, when it is not the period evaluated.
    period: Period | None = None

    def evidence(self) -> dict:
        return {"figures": self.figures, "records": [r.as_dict() for r in self.records]}


@dataclass(frozen=True)
class Threshold:
    name: str
    label: str
    default: float | int
    minimum: float | int = 0
    maximum: float | int | None = None


class Trigger(ABC):
    """A condition over the records that raises escalations with the evidence that fired it."""

    code: str = ""
    name: str = ""
    #: The seed's words for what triggers action.
    description: str = ""
    scope: str = ScopeKind.SERVICE
    #: The period the engine evaluates at each run: the one containing the moment of the run.
    cadence: str = Cadence.MONTHLY
    thresholds: tuple[Threshold, ...] = ()
    #: Resolve the escalation automatically once the condition no longer holds.
    auto_resolve: bool = False
    default_body: str = Body.REGISTERED_MANAGER

    #: The rule with this organisation's numbers filled in, e.g. "... {days_overdue} days ...".
    rule: str = ""

    def defaults(self) -> dict:
        return {t.name: t.default for t in self.thresholds}

    def describe(self, thresholds: dict) -> str:
        """The rule in plain words with the thresholds in force, or the seed's words."""
        return self.rule.format(**thresholds) if self.rule else self.description

    def evaluate_all(
        self, scopes: list[Scope], period: Period, thresholds: dict, at: datetime
    ) -> list[tuple[Scope, list[Finding]]]:
        """Findings for many scopes at once. Override to read all scopes in one query."""
        return [(scope, self.evaluate(scope, period, thresholds, at)) for scope in scopes]

    @abstractmethod
    def evaluate(
        self, scope: Scope, period: Period, thresholds: dict, at: datetime
    ) -> list[Finding]: ...


def register_trigger(cls: type[Trigger]) -> type[Trigger]:
    instance = cls()
    if not instance.code or not instance.name or not instance.description:
        raise ValueError(f"{cls.__name__} needs a code, a name and the seed's words as description")
    triggers.add(instance.code, instance)
    return cls

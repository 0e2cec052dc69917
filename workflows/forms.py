"""Forms for workflow governance pages. They check shape; the services check the rules."""

from __future__ import annotations

import uuid

from django import forms
from django.utils import timezone

from caregov.forms import PlainMessagesMixin
from workflows.models import (
    CareRole,
    CoreWorkflow,
    Practical,
    PracticeGap,
    QualityFinding,
    Risk,
    StaffTest,
    WorkflowStep,
)

DATE_INPUT = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


class TemplateForm(PlainMessagesMixin, forms.Form):
    workflow = forms.ChoiceField(label="Which core workflow", choices=CoreWorkflow.choices)
    title = forms.CharField(
        label="Title", max_length=200, help_text="What staff call it, like “Medication round”."
    )
    purpose = forms.CharField(
        label="What it is for",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A sentence or two on the care it supports.",
    )

    def __init__(self, *args, taken: set[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workflow"].choices = [
            (code, label) for code, label in CoreWorkflow.choices if code not in taken
        ]


class StepForm(PlainMessagesMixin, forms.ModelForm):
    insert_at = forms.TypedChoiceField(
        label="Where does it go?", coerce=int, required=False, widget=forms.Select
    )

    class Meta:
        model = WorkflowStep
        fields = ["role", "action", "ecm_location", "recorded_item", "prompt", "minutes_expected"]
        widgets = {"prompt": forms.Textarea(attrs={"rows": 3})}
        error_messages = {
            "action": {"required": "Say what is done in this step."},
            "ecm_location": {"required": "Say where in the ECM it is recorded, like “Daily note”."},
            "prompt": {
                "required": "Say what the ECM prompts, or what staff are expected to record."
            },
            "minutes_expected": {"required": "Enter the time expected in whole minutes."},
            "role": {"required": "Choose who does this step."},
        }

    def __init__(self, *args, steps=(), **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk or not steps:
            del self.fields["insert_at"]
        else:
            self.fields["insert_at"].choices = [
                (len(steps) + 1, "At the end"),
                *[(s.position, f"Before step {s.position}: {s.action[:60]}") for s in steps],
            ]
            self.fields["insert_at"].initial = len(steps) + 1
        self.fields["role"].choices = [("", "Choose a role"), *CareRole.choices]
        minutes = self.fields["minutes_expected"]
        minutes.min_value, minutes.max_value = 1, 480
        minutes.widget.attrs.update({"inputmode": "numeric", "min": 1, "max": 480})
        minutes.validators = [v for v in minutes.validators if not hasattr(v, "limit_value")]
        between = "Enter the time expected in whole minutes, from 1 to 480."
        minutes.error_messages.update({"invalid": between})
        self.minutes_message = between

    def clean_minutes_expected(self):
        minutes = self.cleaned_data["minutes_expected"]
        if minutes is not None and not 1 <= minutes <= 480:
            raise forms.ValidationError(self.minutes_message)
        return minutes


class ReviseForm(PlainMessagesMixin, forms.Form):
    change_summary = forms.CharField(
        label="What will change, and why?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="You can finish this before testing starts.",
    )


class ChangeSummaryForm(PlainMessagesMixin, forms.Form):
    change_summary = forms.CharField(
        label="What changed from the version before, and why?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class AdoptForm(PlainMessagesMixin, forms.Form):
    service = forms.ModelChoiceField(
        label="Which service adopts it",
        queryset=None,
        empty_label="Choose a service",
        error_messages={"required": "Choose the service that adopts it."},
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        if services.count() == 1 and not self.initial.get("service"):
            self.initial["service"] = services.first().pk


class GapForm(PlainMessagesMixin, forms.Form):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    step = forms.ModelChoiceField(
        label="Which step does it concern?",
        queryset=None,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the step it concerns."},
    )
    kind = forms.ChoiceField(
        label="What did you find?",
        error_messages={"required": "Choose a gap, duplication or workaround."},
        choices=PracticeGap.Kind.choices,
        widget=forms.RadioSelect,
        help_text="A gap: the step is not done as mapped. Duplication: the same thing is "
        "recorded twice. Workaround: staff do it another way, like paper or a message.",
    )
    description = forms.CharField(
        label="What staff actually do",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Use ECM record references, not people's names.",
    )
    frequency = forms.ChoiceField(
        label="How often it happens",
        error_messages={"required": "Choose how often it happens."},
        choices=PracticeGap.Frequency.choices,
        widget=forms.RadioSelect,
    )
    risk = forms.ChoiceField(
        label="Risk to care",
        choices=Risk.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the risk to care: none, low, medium or high."},
    )
    affects_safe_care = forms.BooleanField(
        label="This affects safe care",
        required=False,
        help_text="Escalated at once to the senior leadership team.",
    )
    evidence = forms.MultipleChoiceField(
        label="Evidence",
        choices=PracticeGap.Evidence.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one kind of evidence."},
    )
    evidence_detail = forms.CharField(
        label="What was seen or said",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Record references like R-20431, not names.",
    )
    observed_on = forms.DateField(label="Seen on", widget=DATE_INPUT)

    def __init__(self, *args, steps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["step"].queryset = steps
        self.fields["step"].label_from_instance = lambda s: f"{s.position}. {s.action}"
        self.fields["observed_on"].initial = timezone.localdate()
        self.fields["idempotency_key"].initial = uuid.uuid4()


class ResolveGapForm(PlainMessagesMixin, forms.Form):
    resolution = forms.CharField(
        label="How was it resolved?",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Like “Fixed in version 3: one fluid chart only”.",
        error_messages={"required": "Say how it was resolved."},
    )


class StaffTestForm(PlainMessagesMixin, forms.Form):
    """One test on one screen, in under a minute: big tiles, today's date, the last choices kept."""

    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    step = forms.ModelChoiceField(
        label="Which step was tested?",
        queryset=None,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the step that was tested."},
    )
    staff_role = forms.ChoiceField(
        label="Staff role",
        choices=CareRole.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the role of the staff member who tested it."},
    )
    shift = forms.ChoiceField(
        label="Shift",
        choices=StaffTest.Shift.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the shift."},
    )
    task_practical = forms.ChoiceField(
        label="Was the task practical during care?",
        error_messages={"required": "Choose yes, partly or no: was the task practical?"},
        choices=Practical.choices,
        widget=forms.RadioSelect,
    )
    prompt_practical = forms.ChoiceField(
        label="Was the ECM prompt practical?",
        error_messages={"required": "Choose yes, partly or no: was the ECM prompt practical?"},
        choices=Practical.choices,
        widget=forms.RadioSelect,
    )
    recording_practical = forms.ChoiceField(
        label="Was the recording expectation practical?",
        error_messages={
            "required": "Choose yes, partly or no: was the recording expectation practical?"
        },
        choices=Practical.choices,
        widget=forms.RadioSelect,
    )
    minutes_taken = forms.IntegerField(label="Time taken (minutes)", min_value=1, max_value=480)
    comments = forms.CharField(
        label="Comments",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What got in the way, in staff's words. No names.",
    )
    affects_safe_care = forms.BooleanField(
        label="This affects safe care",
        required=False,
        help_text="Escalated at once to the senior leadership team.",
    )
    tested_on = forms.DateField(label="Tested on", widget=DATE_INPUT)

    def __init__(self, *args, steps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["step"].queryset = steps
        self.fields["step"].label_from_instance = lambda s: f"{s.position}. {s.action}"
        self.fields["minutes_taken"].widget.attrs.update(
            {"inputmode": "numeric", "class": "input--short"}
        )
        self.fields["tested_on"].initial = timezone.localdate()
        self.fields["idempotency_key"].initial = uuid.uuid4()


class FindingForm(PlainMessagesMixin, forms.Form):
    consistency = forms.ChoiceField(
        label="Does it improve consistency of practice?",
        error_messages={"required": "Choose whether it improves consistency of practice."},
        choices=QualityFinding.Effect.choices,
        widget=forms.RadioSelect,
    )
    record_quality = forms.ChoiceField(
        label="Does it improve record quality?",
        error_messages={"required": "Choose whether it improves record quality."},
        choices=QualityFinding.Effect.choices,
        widget=forms.RadioSelect,
    )
    risk_visibility = forms.ChoiceField(
        label="Does it improve risk visibility?",
        error_messages={"required": "Choose whether it improves risk visibility."},
        choices=QualityFinding.Effect.choices,
        widget=forms.RadioSelect,
    )
    summary = forms.CharField(
        label="What the evidence shows",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Say what the evidence shows."},
    )
    tests = forms.ModelMultipleChoiceField(
        label="Staff tests", queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    gaps = forms.ModelMultipleChoiceField(
        label="Gaps from the service review log",
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    audits = forms.MultipleChoiceField(
        label="Record audits of this service",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, tests, gaps, audits: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.audits = {str(a["id"]): a for a in audits}
        self.fields["tests"].queryset = tests
        self.fields["tests"].label_from_instance = lambda t: (
            f"Step {t.step.position}, {t.get_shift_display().lower()} shift, "
            f"{t.tested_on:%-d %b %Y}: {t.result}"
        )
        self.fields["gaps"].queryset = gaps
        self.fields["gaps"].label_from_instance = lambda g: (
            f"{g.get_kind_display()} at step {g.step.position}, "
            f"{g.observed_on:%-d %b %Y}: {g.description[:80]}"
        )
        if audits:
            self.fields["audits"].choices = [(str(a["id"]), a["label"]) for a in audits]
        else:
            del self.fields["audits"]

    def audit_evidence(self) -> list[dict]:
        return [self.audits[key] for key in self.cleaned_data.get("audits", [])]


class ApproveForm(PlainMessagesMixin, forms.Form):
    NEW = "new"

    meeting = forms.ChoiceField(
        label="In which senior leadership team meeting?",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the meeting, or a new one."},
    )
    meeting_date = forms.DateField(
        label="Date of the new meeting", required=False, widget=DATE_INPUT
    )
    attendees = forms.CharField(
        label="Attendees of the new meeting",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One name and role per line.",
    )
    implementation_expectations = forms.CharField(
        label="Implementation expectations",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Who does what, by when, and how it will be checked. Recorded in the minutes.",
        error_messages={"required": "Enter the implementation expectations."},
    )
    override_reason = forms.CharField(
        label="Why approve it with open high-risk gaps or failed tests?",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, meetings, blocked: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.meetings = {str(m.pk): m for m in meetings}
        self.fields["meeting"].choices = [
            *[(str(m.pk), f"{m.title}, {m.meeting_date:%-d %b %Y}") for m in meetings],
            (self.NEW, "A new meeting"),
        ]
        # An unsigned meeting of the last fortnight is probably this one; older ones are not.
        recent = [m for m in meetings if (timezone.localdate() - m.meeting_date).days <= 14]
        self.fields["meeting"].initial = str(recent[0].pk) if recent else self.NEW
        self.fields["meeting_date"].initial = timezone.localdate()
        if blocked:
            self.fields["override_reason"].required = True
            self.fields["override_reason"].error_messages["required"] = (
                "Say why the senior leadership team approves it while these are open, or resolve "
                "them first."
            )
        else:
            del self.fields["override_reason"]

    def chosen_meeting(self):
        return self.meetings.get(self.cleaned_data.get("meeting"))

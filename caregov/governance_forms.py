"""Forms for the governance kernel's screens. They convert what was typed; services validate."""

from __future__ import annotations

from django import forms

from caregov.access import Role
from caregov.forms import PlainMessagesMixin
from caregov.models import Action, Body, Escalation, ReviewCycle


class PersonChoiceField(forms.ModelChoiceField):
    """People listed with the role they would act in and where, so the right owner is easy to
    find: "Asha Patel — Registered manager, Willow House". Give it the people from
    `selectors.people_who_can_act`, which says which role to show."""

    default_error_messages = {
        "invalid_choice": "Choose someone from the list: it offers only the people who can act "
        "on this here.",
    }

    def label_from_instance(self, obj) -> str:
        role = getattr(obj, "acting_role", None)
        if role is None:
            return f"{obj.full_name} ({obj.job_title})" if obj.job_title else obj.full_name
        where = getattr(obj, "acting_service", None) or "whole organisation"
        return f"{obj.full_name} — {Role(role).label}, {where}"


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class SignOffForm(PlainMessagesMixin, forms.Form):
    decision = forms.CharField(
        label="Decision",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the review concluded, in a sentence or two. It appears in packs.",
    )
    minutes = forms.CharField(
        label="Minutes",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Who reviewed what, what was found, and why the decision was reached. "
        "Refer to care records by their ECM reference, never by a person's name.",
    )
    confirm = forms.BooleanField(
        label="I understand that signing off freezes this review: nobody can change it afterwards.",
        error_messages={
            "required": "Tick the box to confirm you want to sign off and freeze this review."
        },
    )


class NotesForm(PlainMessagesMixin, forms.Form):
    decision = forms.CharField(
        label="Decision (draft)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    minutes = forms.CharField(
        label="Minutes (draft)", required=False, widget=forms.Textarea(attrs={"rows": 6})
    )


class ActionForm(PlainMessagesMixin, forms.Form):
    title = forms.CharField(label="What needs to be done", max_length=250)
    detail = forms.CharField(
        label="More detail", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    owner = PersonChoiceField(queryset=None, label="Owner", empty_label="Choose a person")
    due_on = forms.DateField(
        label="Due date",
        widget=DATE_WIDGET,
        error_messages={"invalid": "Enter the due date as a real date, like 14 12 2026."},
    )

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people


class AssignForm(PlainMessagesMixin, forms.Form):
    owner = PersonChoiceField(queryset=None, label="Owner", empty_label="Choose a person")

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people


class ResolveForm(PlainMessagesMixin, forms.Form):
    note = forms.CharField(
        label="How was it resolved?",
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Say how it was resolved."},
        help_text="Say what was done and where the evidence is, so a reviewer can check.",
    )


class CompleteForm(PlainMessagesMixin, forms.Form):
    evidence = forms.CharField(
        label="Evidence that it was done",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What changed and where it can be seen: a record reference, a document, a date.",
    )
    effectiveness_due_on = forms.DateField(
        label="Check whether it worked by",
        required=False,
        widget=DATE_WIDGET,
        help_text="Leave empty for four weeks from today.",
    )


class EffectForm(PlainMessagesMixin, forms.Form):
    result = forms.ChoiceField(
        label="Did it improve things?",
        choices=Action.Effect.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether it improved things or not."},
    )
    note = forms.CharField(
        label="What did you look at to decide?",
        error_messages={"required": "Say what you looked at to decide."},
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class MeetingForm(PlainMessagesMixin, forms.Form):
    body = forms.ChoiceField(
        label="Governance body",
        choices=[
            (Body.BOARD, Body.BOARD.label),
            (Body.SENIOR_LEADERSHIP_TEAM, Body.SENIOR_LEADERSHIP_TEAM.label),
            (Body.PROJECT_BOARD, Body.PROJECT_BOARD.label),
            (Body.DIGITAL_GOVERNANCE_GROUP, Body.DIGITAL_GOVERNANCE_GROUP.label),
            (Body.QUALITY_MEETING, Body.QUALITY_MEETING.label),
        ],
    )
    meeting_date = forms.DateField(label="Meeting date", widget=DATE_WIDGET)
    title = forms.CharField(
        label="Title", max_length=200, help_text="For example, Quarterly assurance meeting."
    )
    service = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Service",
        empty_label="Whole organisation",
    )
    attendees = forms.CharField(
        label="Attendees",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One name and role per line.",
    )
    minutes = forms.CharField(
        label="Minutes", required=False, widget=forms.Textarea(attrs={"rows": 8})
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services


class DecisionForm(PlainMessagesMixin, forms.Form):
    text = forms.CharField(label="Decision", widget=forms.Textarea(attrs={"rows": 4}))
    review_cycles = forms.ModelMultipleChoiceField(
        queryset=ReviewCycle.objects.none(),
        required=False,
        label="Reviews it concerns",
        widget=forms.CheckboxSelectMultiple,
    )
    escalations = forms.ModelMultipleChoiceField(
        queryset=Escalation.objects.none(),
        required=False,
        label="Escalations it concerns",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, reviews, escalations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["review_cycles"].queryset = reviews
        self.fields["escalations"].queryset = escalations


class TriggerSettingForm(PlainMessagesMixin, forms.Form):
    enabled = forms.BooleanField(label="Raise escalations from this trigger", required=False)

    def __init__(self, *args, trigger, **kwargs):
        super().__init__(*args, **kwargs)
        for threshold in trigger.thresholds:
            field_class = (
                forms.FloatField if isinstance(threshold.default, float) else forms.IntegerField
            )
            self.fields[threshold.name] = field_class(
                label=threshold.label,
                min_value=threshold.minimum,
                max_value=threshold.maximum,
                help_text=f"Default {threshold.default}.",
                widget=forms.NumberInput(attrs={"size": 6}),
                error_messages=dict.fromkeys(
                    ("required", "invalid", "min_value", "max_value"),
                    f"Enter a number between {threshold.minimum} and {threshold.maximum}.",
                ),
            )

"""Forms for data assurance pages. They check shape; the services check the rules."""

from __future__ import annotations

import uuid
from datetime import date

from django import forms
from django.utils import timezone

from assurance.ecm import COLUMNS
from assurance.measures import CHECKED, MEASURES
from assurance.models import AuditCheck, AuditRecord, GapCause, Verdict
from assurance.services import MAX_AUDIT_RECORDS, RECORD_MESSAGES
from caregov.cadence import Cadence, parse_month, period_containing
from caregov.forms import PlainMessagesMixin
from caregov.governance_forms import PersonChoiceField


class MonthField(forms.CharField):
    """A month typed as 2026-10, or chosen from a month picker."""

    widget = forms.TextInput(
        attrs={"type": "month", "inputmode": "numeric", "class": "input--month"}
    )

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            return parse_month(value.strip())
        except (ValueError, TypeError):
            raise forms.ValidationError("Enter a month like 2026-10.") from None

    def prepare_value(self, value):
        return value.start.strftime("%Y-%m") if hasattr(value, "start") else value


def last_complete_month():
    return period_containing(Cadence.MONTHLY, timezone.localdate()).previous()


def recent_months(count: int = 18) -> list[tuple[str, str]]:
    month = period_containing(Cadence.MONTHLY, timezone.localdate())
    choices = []
    for _ in range(count):
        choices.append((month.start.strftime("%Y-%m"), month.label))
        month = month.previous()
    return choices


class ThresholdForm(PlainMessagesMixin, forms.Form):
    effective_from = MonthField(
        label="From which month", help_text="This month or a later one. Past months keep theirs."
    )
    target = forms.DecimalField(label="Target (%)", min_value=0, max_value=100, decimal_places=1)
    green_from = forms.DecimalField(
        label="Green from (%)",
        min_value=0,
        max_value=100,
        decimal_places=1,
        help_text="A figure at or above this is green.",
    )
    amber_from = forms.DecimalField(
        label="Amber from (%)",
        min_value=0,
        max_value=100,
        decimal_places=1,
        help_text="A figure at or above this, and below green, is amber. Below it is red.",
    )
    reason = forms.CharField(
        label="Why are the thresholds changing?",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why the thresholds are changing."},
    )


class ImportForm(PlainMessagesMixin, forms.Form):
    service = forms.ModelChoiceField(queryset=None, label="Service", empty_label="Choose a service")
    period = forms.ChoiceField(label="Month the export covers", choices=())
    tolerance_minutes = forms.IntegerField(
        label="Timeliness tolerance (minutes)",
        initial=120,
        min_value=0,
        max_value=24 * 60,
        help_text="A record counts as on time if written no later than this after it was due.",
    )
    file = forms.FileField(
        label="ECM export (CSV)",
        help_text="The care-record metadata export described in the guide: record references only, "
        "never names.",
    )

    replace = forms.BooleanField(
        label="Replace the export already imported for this service and month",
        required=False,
        help_text="Its figures are replaced by this file's; both stay listed.",
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        self.fields["period"].choices = recent_months()
        self.fields["period"].initial = last_complete_month().start.strftime("%Y-%m")

    def clean_period(self):
        return parse_month(self.cleaned_data["period"])

    def clean_file(self):
        from django.conf import settings

        upload = self.cleaned_data["file"]
        if upload.size > settings.ECM_IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {settings.ECM_IMPORT_MAX_BYTES // (1024 * 1024)} MB. "
                "Export one month for one service at a time."
            )
        if not upload.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError("Choose the CSV file the ECM exported (a .csv file).")
        return upload


class AuditStartForm(PlainMessagesMixin, forms.Form):
    HOW = [
        ("sample", "Draw a random sample from the latest ECM export"),
        ("typed", "Type the record references"),
    ]
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    service = forms.ModelChoiceField(queryset=None, label="Service", empty_label="Choose a service")
    period = forms.ChoiceField(label="Month", choices=())
    how = forms.ChoiceField(
        label="How to choose the records", choices=HOW, widget=forms.RadioSelect, initial="sample"
    )
    sample_size = forms.IntegerField(
        label="How many records to sample",
        min_value=1,
        max_value=MAX_AUDIT_RECORDS,
        initial=10,
        required=False,
    )
    references = forms.CharField(
        label="ECM record references",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 5, "autocapitalize": "characters", "spellcheck": "false"}
        ),
        help_text="One per line. Use the ECM reference, never a person's name.",
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        if services.count() == 1:
            self.fields["service"].initial = services.first().pk
        self.fields["period"].choices = recent_months(12)
        # The last complete month: the one whose ECM export has usually been imported.
        self.fields["period"].initial = last_complete_month().start.strftime("%Y-%m")
        self.fields["idempotency_key"].initial = uuid.uuid4()

    def clean_period(self):
        return parse_month(self.cleaned_data["period"])

    def clean(self):
        data = super().clean()
        if data.get("how") == "sample" and not data.get("sample_size"):
            self.add_error("sample_size", "Enter how many records to sample, from 1 to 50.")
        if data.get("how") == "typed" and not (data.get("references") or "").strip():
            self.add_error("references", "Enter at least one ECM record reference, one per line.")
        return data


class DayMonthYearWidget(forms.MultiWidget):
    """A date typed as three numbers, day, month and year, as the hint says ("like 14 10 2026"):
    the same on every tablet, whatever its browser makes of a date picker."""

    parts = (("day", "Day", 2), ("month", "Month", 2), ("year", "Year", 4))

    def __init__(self, attrs=None):
        widgets = {
            name: forms.TextInput(
                attrs={
                    "inputmode": "numeric",
                    "maxlength": str(width),
                    "autocomplete": "off",
                    "class": f"input input--{width}",
                }
            )
            for name, _, width in self.parts
        }
        super().__init__(widgets, attrs)

    def decompress(self, value):
        if value:
            return [value.day, value.month, value.year]
        return [None, None, None]

    def id_for_label(self, id_):
        # The error summary links to the first box, the day.
        return f"{id_}_0" if id_ else id_

    def boxes(self, bound_field) -> list[dict]:
        """Each box's name, id, label, width and what it holds, for the page to lay out."""
        if bound_field.form.is_bound:
            values = self.value_from_datadict(
                bound_field.form.data, bound_field.form.files, bound_field.html_name
            )
        else:
            values = self.decompress(bound_field.value())
        return [
            {
                "name": f"{bound_field.html_name}_{part}",
                "id": f"{bound_field.auto_id}_{i}",
                "label": label,
                "width": width,
                "value": "" if value is None else value,
            }
            for i, ((part, label, width), value) in enumerate(zip(self.parts, values, strict=True))
        ]


class DayMonthYearField(forms.MultiValueField):
    widget = DayMonthYearWidget

    def __init__(self, *, invalid_message: str, **kwargs):
        fields = tuple(forms.CharField(required=False) for _ in range(3))
        super().__init__(fields, require_all_fields=False, **kwargs)
        self.invalid_message = invalid_message

    def compress(self, data_list):
        if not data_list or not any((part or "").strip() for part in data_list):
            return None
        try:
            day, month, year = (int((part or "").strip()) for part in data_list)
            if year < 1000:
                raise ValueError
            return date(year, month, day)
        except (TypeError, ValueError):
            raise forms.ValidationError(self.invalid_message) from None


class RecordForm(PlainMessagesMixin, forms.Form):
    """One record's checks on one screen: a radio group and a short note per measure."""

    #: The key this save carries: sent twice (a double tap, a device's queue replaying it), the
    #: record changes once.
    save_key = forms.UUIDField(widget=forms.HiddenInput, required=False)
    correction_made = forms.CharField(
        label="Correction made in the ECM",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What was put right in the ECM record, if anything.",
    )
    corrected_by = forms.CharField(
        label="Corrected by", required=False, max_length=100, help_text="A role or staff reference."
    )
    corrected_on = DayMonthYearField(
        label="Corrected on",
        required=False,
        help_text="For example, 14 10 2026",
        invalid_message=RECORD_MESSAGES["corrected_on_invalid"],
    )
    support_need = forms.ChoiceField(
        label="Staff support needed",
        required=False,
        choices=[("", "Not recorded"), *AuditRecord.Need.choices],
        widget=forms.RadioSelect,
    )
    support_staff = forms.CharField(
        label="Whose support need",
        required=False,
        max_length=100,
        help_text="A role or staff reference, like Night care worker or S-1042. Not a name.",
    )
    #: Fields that are needed only once another is filled in: their labels say when, instead of
    #: "(optional)".
    needed_when = {
        "corrected_by": "needed with a correction",
        "corrected_on": "needed with a correction",
        "support_staff": "needed with training, supervision or coaching",
    }

    def __init__(self, *args, record: AuditRecord, **kwargs):
        super().__init__(*args, **kwargs)
        for name, when in self.needed_when.items():
            self.fields[name].needed_when = when
        if not self.is_bound:
            self.initial["save_key"] = uuid.uuid4()
        self.check_fields = []
        existing = {c.measure: c for c in record.checks.all()}
        for measure in CHECKED:
            answer = forms.ChoiceField(
                label=MEASURES[measure].question,
                choices=AuditCheck.Answer.choices,
                widget=forms.RadioSelect(attrs={"class": "radios--inline"}),
                required=False,
                help_text=MEASURES[measure].name,
            )
            note = forms.CharField(
                label="Note",
                required=False,
                max_length=300,
                help_text="Say briefly what was wrong (needed for Not met).",
            )
            self.fields[f"check_{measure}"] = answer
            self.fields[f"note_{measure}"] = note
            if measure in existing and not self.is_bound:
                self.initial[f"check_{measure}"] = existing[measure].answer
                self.initial[f"note_{measure}"] = existing[measure].note
            self.check_fields.append((measure, f"check_{measure}", f"note_{measure}"))
        # The error summary lists problems in the order the screen shows the fields.
        self.order_fields([name for _, a, n in self.check_fields for name in (a, n)])
        if not self.is_bound:
            self.initial.update(
                correction_made=record.correction_made,
                corrected_by=record.corrected_by,
                corrected_on=record.corrected_on,
                support_need=record.support_need,
                support_staff=record.support_staff,
            )

    def answers(self) -> dict[str, tuple[str, str]]:
        return {
            measure: (self.cleaned_data.get(a) or "", self.cleaned_data.get(n) or "")
            for measure, a, n in self.check_fields
        }

    def check_rows(self):
        return [(MEASURES[m], self[a], self[n]) for m, a, n in self.check_fields]

    def date_boxes(self) -> list[dict]:
        return self.fields["corrected_on"].widget.boxes(self["corrected_on"])

    def device_values(self, record: AuditRecord) -> dict[str, str]:
        """What the record holds on the server, by form field name, as the page hands it to the
        device: a record opened while offline shows these unless the device has newer ones."""
        values = {}
        answers = {c.measure: c for c in record.checks.all()}
        for measure, a, n in self.check_fields:
            check = answers.get(measure)
            values[a] = check.answer if check else ""
            values[n] = check.note if check else ""
        on = record.corrected_on
        values.update(
            correction_made=record.correction_made,
            corrected_by=record.corrected_by,
            corrected_on_day=str(on.day) if on else "",
            corrected_on_month=str(on.month) if on else "",
            corrected_on_year=str(on.year) if on else "",
            support_need=record.support_need,
            support_staff=record.support_staff,
        )
        return values


class SubmitAuditForm(forms.Form):
    submission_key = forms.UUIDField(widget=forms.HiddenInput)


class DiscardAuditForm(PlainMessagesMixin, forms.Form):
    reason = forms.CharField(
        label="Why are you discarding this audit?",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example, started for the wrong month or the wrong records.",
        error_messages={"required": "Say why the audit is being discarded."},
    )


class CorrectAuditForm(PlainMessagesMixin, forms.Form):
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label="What needs correcting?",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say what needs correcting."},
    )


class CheckActionForm(PlainMessagesMixin, forms.Form):
    owner = PersonChoiceField(
        queryset=None,
        label="Owner",
        empty_label="Choose a person",
        error_messages={"required": "Choose who owns the action."},
    )
    due_on = forms.DateField(
        label="Due",
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        error_messages={
            "required": "Enter the date the action is due, like 7 12 2026.",
            "invalid": "Enter a real date, like 7 12 2026.",
        },
    )

    def __init__(self, *args, people, default_owner=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people
        self.fields["owner"].initial = default_owner
        self.fields["due_on"].initial = date.fromordinal(timezone.localdate().toordinal() + 14)


class GapCauseForm(PlainMessagesMixin, forms.Form):
    cause = forms.ChoiceField(
        label="What does the gap relate to?",
        choices=GapCause.Cause.choices,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="What you found", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ComparisonForm(PlainMessagesMixin, forms.Form):
    themes = forms.CharField(
        label="Themes across services", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    risks = forms.CharField(label="Risks", required=False, widget=forms.Textarea(attrs={"rows": 4}))


class ComparisonActionForm(PlainMessagesMixin, forms.Form):
    title = forms.CharField(
        label="Improvement action",
        max_length=250,
        error_messages={"required": "Say what the improvement action is."},
    )
    service = forms.ModelChoiceField(
        queryset=None, label="Service", required=False, empty_label="Whole organisation"
    )
    measure = forms.ChoiceField(label="Measure it should improve", required=False)
    owner = PersonChoiceField(
        queryset=None,
        label="Owner",
        empty_label="Choose a person",
        error_messages={"required": "Choose who owns the action."},
    )
    due_on = forms.DateField(
        label="Due",
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        error_messages={
            "required": "Enter the date the action is due, like 7 12 2026.",
            "invalid": "Enter a real date, like 7 12 2026.",
        },
    )

    def __init__(self, *args, services, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        self.fields["owner"].queryset = people
        self.fields["measure"].choices = [("", "None in particular")] + [
            (code, m.name) for code, m in MEASURES.items()
        ]


class RelianceForm(PlainMessagesMixin, forms.Form):
    verdict = forms.ChoiceField(
        label="Overall, can leaders rely on ECM information for decisions?",
        choices=Verdict.choices,
        widget=forms.RadioSelect,
    )
    reasons = forms.CharField(
        label="The board's reasons and caveats",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        self.service_fields = []
        for service in services:
            self.fields[f"verdict_{service['id']}"] = forms.ChoiceField(
                label=f"{service['name']}: can leaders rely on its ECM information?",
                choices=Verdict.choices,
                widget=forms.RadioSelect(attrs={"class": "radios--inline"}),
                error_messages={
                    "required": f"Choose yes, yes with caveats or no for {service['name']}."
                },
            )
            self.fields[f"reasons_{service['id']}"] = forms.CharField(
                label="Reasons or caveats", required=False, widget=forms.Textarea(attrs={"rows": 2})
            )
            self.service_fields.append(
                (service, f"verdict_{service['id']}", f"reasons_{service['id']}")
            )

    def service_verdicts(self) -> dict[int, tuple[str, str]]:
        return {
            s["id"]: (self.cleaned_data.get(v) or "", self.cleaned_data.get(r) or "")
            for s, v, r in self.service_fields
        }

    def service_rows(self):
        return [(s, self[v], self[r]) for s, v, r in self.service_fields]


class MappingForm(PlainMessagesMixin, forms.Form):
    """Map a supplier's export to caregov's nine fields: a column, a fixed value, or (for an
    optional field) not in this export; the date format; the words for yes and no."""

    name = forms.CharField(
        label="Name for this mapping",
        max_length=120,
        help_text="Say whose export it is, like the ECM supplier and the report's name. Later "
        "files with the same columns use it without asking.",
    )
    date_format = forms.ChoiceField(
        label="How the export writes dates and times",
        choices=(),
        widget=forms.RadioSelect,
    )
    yes_values = forms.CharField(
        label="Values that mean yes",
        help_text="Separated by commas, like Y, Yes, Completed. Capitals do not matter.",
        max_length=400,
    )
    no_values = forms.CharField(
        label="Values that mean no",
        help_text="Separated by commas, like N, No, Not completed.",
        max_length=400,
    )

    def __init__(self, *args, columns, **kwargs):
        from assurance.mapping import FIELD_HELP, LABELS, OPTIONAL
        from assurance.models import ImportProfile

        super().__init__(*args, **kwargs)
        self.columns = columns
        self.fields["date_format"].choices = ImportProfile.DateFormat.choices
        choices = [("", "Choose where this comes from")]
        for name, header, samples, personal in zip(
            columns.names, columns.header, columns.samples, columns.personal, strict=True
        ):
            if personal:
                continue
            if samples:
                shown = f" (like {', '.join(samples)})"
            else:
                shown = " (empty in the first rows)" if columns.sampled else ""
            choices.append((f"column:{header}", f"Column {name}{shown}"[:160]))
        choices.append(("fixed", "The same value for every row (type it below)"))
        self.field_names = []
        for field in COLUMNS:
            own = list(choices)
            if field in OPTIONAL:
                own.append(("absent", "Not in this export"))
            self.fields[f"field_{field}"] = forms.ChoiceField(
                label=f"{LABELS[field]} ({field})", choices=own, help_text=FIELD_HELP[field]
            )
            self.fields[f"value_{field}"] = forms.CharField(
                label=f"Fixed value for {LABELS[field]}", required=False, max_length=64
            )
            self.field_names.append((self[f"field_{field}"], self[f"value_{field}"]))
        self.order_fields(["name"])

    def mapped_fields(self) -> dict[str, dict]:
        data = self.cleaned_data
        fields = {}
        for field in COLUMNS:
            chosen = data.get(f"field_{field}", "")
            if chosen.startswith("column:"):
                fields[field] = {"column": chosen.removeprefix("column:")}
            elif chosen == "fixed":
                fields[field] = {"value": data.get(f"value_{field}", "")}
            elif chosen == "absent":
                fields[field] = {"absent": True}
            else:
                fields[field] = {}
        return fields

    def words(self, name: str) -> list[str]:
        return [w.strip() for w in self.cleaned_data.get(name, "").split(",") if w.strip()]

from django import forms

from caregov.cadence import quarter_key


class PackBuildForm(forms.Form):
    quarter = forms.ChoiceField(
        label="Which quarter?",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose the quarter to build a board pack for.",
            "invalid_choice": "Choose one of the quarters listed: packs are built for the "
            "current quarter and the seven before it.",
        },
    )

    def __init__(self, *args, quarters, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quarter"].choices = [(quarter_key(q), q.label) for q in quarters]

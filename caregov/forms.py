from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.utils import timezone

from caregov.access import Role
from caregov.models import Service, User
from caregov.security import account_locked_until, client_ip, lockout_until


class PlainMessagesMixin:
    """Required-field messages that say what to do, like "Enter the full name"."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            label = str(field.label or "this").lower()
            choose = isinstance(
                field, forms.ChoiceField | forms.ModelChoiceField | forms.BooleanField
            )
            verb = "Choose" if choose else "Enter"
            # Only Django's generic message is replaced; a field's own message is kept.
            if (
                field.error_messages.get("required")
                == forms.Field.default_error_messages["required"]
            ):
                field.error_messages["required"] = f"{verb} the {label}."
            if isinstance(field, forms.IntegerField | forms.FloatField):
                low = getattr(field, "min_value", None)
                high = getattr(field, "max_value", None)
                if low is not None and high is not None:
                    between = f"Enter a number between {low} and {high}."
                    field.error_messages.update(
                        {"min_value": between, "max_value": between, "invalid": between}
                    )
            if isinstance(field, forms.DateField):
                field.error_messages["invalid"] = f"Enter {label} as a real date, like 14 12 2026."
            if isinstance(field, forms.EmailField):
                field.error_messages["invalid"] = "Enter an email address like name@example.org."


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    error_messages = {
        "invalid_login": "The email address or password is not right. Check both and try again.",
        "inactive": "This login has been deactivated. Ask your organisation admin.",
    }

    def clean(self):
        email = (self.cleaned_data.get("username") or "").strip().lower()
        until = lockout_until(email=email, ip=client_ip(self.request))
        if until:
            from django.contrib.auth.signals import user_login_failed

            user_login_failed.send(
                sender=__name__, credentials={"username": email}, request=self.request
            )
            local = timezone.localtime(until)
            if account_locked_until(email):
                message = (
                    f"Sign-in is paused after {settings.LOGIN_FAILURE_LIMIT} failed attempts. "
                    f"Try again after {local:%H:%M}, or reset your password."
                )
            else:
                message = (
                    "Sign-in from this network is paused: there have been failed attempts for "
                    f"many different accounts from it. Try again after {local:%H:%M}."
                )
            raise ValidationError(message, code="locked")
        return super().clean()


class CaregovPasswordResetForm(PasswordResetForm):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="We will email a link to set a new password if this address has a login.",
    )

    def get_users(self, email):
        return User.objects.filter(email__iexact=email, is_active=True)


class CaregovSetPasswordForm(SetPasswordForm):
    pass


class ServiceForm(PlainMessagesMixin, forms.ModelForm):
    class Meta:
        model = Service
        fields = [
            "name",
            "code",
            "service_type",
            "address_line_1",
            "address_line_2",
            "town",
            "postcode",
            "registered_manager",
            "phase",
            "is_active",
        ]
        help_texts = {
            "phase": "Changing the phase records today's date in the service's history.",
            "is_active": "Untick when the service has closed. Its records stay available.",
        }

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["registered_manager"].queryset = User.objects.filter(
            organisation=organisation, is_active=True
        )
        self.fields["registered_manager"].empty_label = "Not yet appointed"
        self.fields["code"].widget.attrs.update({"autocapitalize": "characters", "size": 12})
        self.fields["postcode"].widget.attrs.update({"size": 10, "autocomplete": "postal-code"})

    def clean_postcode(self):
        return self.cleaned_data["postcode"].strip().upper()

    def _post_clean(self):
        # The service layer validates and saves; the form only converts what was typed.
        pass


WHOLE_ORGANISATION = "organisation"


class MembershipForm(PlainMessagesMixin, forms.Form):
    role = forms.ChoiceField(choices=[("", "Choose a role"), *Role.choices], label="Role")
    service = forms.ChoiceField(
        label="Where",
        help_text="Commissioners must be linked to a service; organisation admins to the whole "
        "organisation.",
    )

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.services = {str(s.pk): s for s in Service.objects.filter(organisation=organisation)}
        self.fields["service"].choices = [
            ("", "Choose where they hold this role"),
            (WHOLE_ORGANISATION, "Whole organisation"),
            *((pk, s.name) for pk, s in self.services.items()),
        ]
        self.fields["role"].error_messages["required"] = "Choose a role."
        self.fields["service"].error_messages["required"] = (
            "Choose a service, or the whole organisation."
        )

    def clean_service(self):
        value = self.cleaned_data["service"]
        return None if value == WHOLE_ORGANISATION else self.services[value]


class InviteForm(MembershipForm):
    full_name = forms.CharField(label="Full name", max_length=150)
    email = forms.EmailField(
        label="Work email address",
        help_text="One login per person: never a shared or team address.",
    )
    job_title = forms.CharField(label="Job title", max_length=120, required=False)
    field_order = ["full_name", "email", "job_title", "role", "service"]


class PersonForm(PlainMessagesMixin, forms.Form):
    full_name = forms.CharField(label="Full name", max_length=150)
    job_title = forms.CharField(label="Job title", max_length=120, required=False)


def apply_validation_error(form: forms.Form, error: ValidationError) -> None:
    """Attach a service's ValidationError to the form fields it names (or to the whole form)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            target = field if field in form.fields else None
            for message in messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


class SetupForm(PlainMessagesMixin, forms.Form):
    """First run: the provider and its first organisation admin, who is the person typing."""

    name = forms.CharField(
        label="Organisation name",
        max_length=200,
        help_text="The registered provider, as CQC knows it, like Oakfield Care Group.",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    full_name = forms.CharField(
        label="Your full name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label="Your work email address",
        help_text="You sign in with it. One login per person: never a shared or team address.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        help_text="At least 12 characters, not a common password and not only numbers.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label="The same password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].error_messages["required"] = "Enter the organisation's name."
        self.fields["full_name"].error_messages["required"] = "Enter your full name."
        self.fields["email"].error_messages["required"] = "Enter your work email address."
        self.fields["password"].error_messages["required"] = "Enter a password."
        self.fields["password_again"].error_messages["required"] = "Enter the password again."

    def clean(self):
        data = super().clean()
        password, again = data.get("password"), data.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", "The two passwords are not the same: type both again.")
        elif password:
            # Said together with any other problem, not only once the rest is right.
            from django.contrib.auth.password_validation import validate_password

            person = User(email=data.get("email") or "", full_name=data.get("full_name") or "")
            try:
                validate_password(password, user=person)
            except ValidationError as error:
                self.add_error("password", error)
        return data

"""First run: on a database with no organisation, the person installing caregov sets up their
provider and becomes its first organisation admin. Once any organisation exists, the page is gone."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from caregov.access import public
from caregov.forms import SetupForm, apply_validation_error
from caregov.mfa import mark_identity_given
from caregov.models import Organisation
from caregov.services.organisation import FirstRunDone, organisation_create


def first_run_open() -> bool:
    """Whether the database holds no organisation yet, so set-up is offered."""
    return not Organisation.objects.exists()


@public
@require_http_methods(["GET", "POST"])
def setup(request):
    if not first_run_open():
        raise Http404("caregov is already set up.")
    form = SetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = organisation_create(
                name=data["name"],
                admin_email=data["email"],
                admin_full_name=data["full_name"],
                password=data["password"],
                first_run=True,
            )
        except FirstRunDone:
            # Someone else finished set-up between this page loading and being sent.
            raise Http404("caregov is already set up.") from None
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            login(request, user, backend="caregov.security.ThrottledModelBackend")
            mark_identity_given(request)
            messages.success(
                request,
                f"{user.organisation} is set up and you are its organisation admin. "
                "Next: set up your second factor, then add your services and invite your people.",
            )
            return redirect("home")
    return render(request, "registration/setup.html", {"form": form})

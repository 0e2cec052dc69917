"""A person's notices: what caregov has told them about their work, and how it tells them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone

from caregov import services
from caregov.access import requires
from caregov.models import Reminder, User
from caregov.reminders import current_notices


class ReminderChoiceForm(forms.Form):
    reminders_by = forms.ChoiceField(
        label="How you hear about your work",
        choices=User._meta.get_field("reminders_by").choices,
        widget=forms.RadioSelect,
        help_text="Reminders come when work is given to you, a week and a day before it is due, "
        "and when it becomes overdue. Either way they are listed on this page too.",
    )


def _page(request, form=None, status=200):
    notices = current_notices(user=request.user, at=timezone.now())
    context = {
        "notices": notices,
        "unread": sum(1 for n in notices if n.read_at is None),
        "form": form or ReminderChoiceForm(initial={"reminders_by": request.user.reminders_by}),
    }
    return render(request, "caregov/notice_list.html", context, status=status)


@requires("work.view")
def notice_list(request):
    return _page(request)


@requires("work.view")
def notices_read(request):
    """POST marks every notice read; a GET (a bookmarked or reloaded address) shows the page."""
    if request.method != "POST":
        return _page(request)
    count = services.notices_mark_read(actor=request.user)
    if count:
        messages.success(request, f"{count} notice{'s' if count != 1 else ''} marked as read.")
    else:
        messages.info(request, "You had no unread notices.")
    return redirect("notice_list")


@requires("work.view")
def reminders_choose(request):
    """POST saves how the person hears about their work; a GET shows the page."""
    if request.method != "POST":
        return _page(request)
    form = ReminderChoiceForm(request.POST)
    if form.is_valid():
        try:
            services.reminders_choose(
                actor=request.user, reminders_by=form.cleaned_data["reminders_by"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            choice = dict(form.fields["reminders_by"].choices)[form.cleaned_data["reminders_by"]]
            messages.success(request, f"Reminders will come as: {choice.lower()}.")
            return redirect("notice_list")
    return _page(request, form, status=400)


def unread_count(user) -> int:
    return Reminder.objects.filter(recipient=user, read_at=None, withdrawn_at=None).count()

"""Sign in, sign out and password reset: the only views open to anonymous visitors."""

from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.urls import reverse_lazy

from caregov.access import PUBLIC
from caregov.forms import CaregovPasswordResetForm, CaregovSetPasswordForm, EmailAuthenticationForm
from caregov.mfa import mark_identity_given
from caregov.models import SecurityEvent
from caregov.security import client_ip, password_reset_allowed, record_event


class LoginView(auth_views.LoginView):
    access_capability = PUBLIC
    form_class = EmailAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        from caregov.views.setup import first_run_open

        return {**super().get_context_data(**kwargs), "first_run": first_run_open()}

    def form_valid(self, form):
        response = super().form_valid(form)
        # The password was given just now; the second factor is asked for next, by the
        # middleware (caregov.mfa), before any other page.
        mark_identity_given(self.request)
        return response


class LogoutView(auth_views.LogoutView):
    access_capability = PUBLIC
    template_name = "registration/logged_out.html"


class PasswordResetView(auth_views.PasswordResetView):
    access_capability = PUBLIC
    form_class = CaregovPasswordResetForm
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        email = form.cleaned_data["email"]
        if not password_reset_allowed(email=email, ip=client_ip(self.request)):
            # The same page as a sent reset, so the answer reveals nothing; no email goes.
            record_event(
                SecurityEvent.Kind.PASSWORD_RESET_REFUSED,
                request=self.request,
                email=email,
                detail="Too many reset requests in the last hour",
            )
            return HttpResponseRedirect(self.get_success_url())
        record_event(SecurityEvent.Kind.PASSWORD_RESET_REQUESTED, request=self.request, email=email)
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    access_capability = PUBLIC
    template_name = "registration/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    access_capability = PUBLIC
    form_class = CaregovSetPasswordForm
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        record_event(SecurityEvent.Kind.PASSWORD_CHANGED, request=self.request, user=form.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    access_capability = PUBLIC
    template_name = "registration/password_reset_complete.html"

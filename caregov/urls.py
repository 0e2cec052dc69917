from django.urls import include, path

from caregov.views import accounts, bulk, governance, mfa, notices, organisation, setup, system

urlpatterns = [
    path("", organisation.home, name="home"),
    path("healthz", system.healthz, name="healthz"),
    # First run: only while the database holds no organisation
    path("setup/", setup.setup, name="setup"),
    # Accounts
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", accounts.LogoutView.as_view(), name="logout"),
    path("password-reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/", accounts.PasswordResetDoneView.as_view(), name="password_reset_done"
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        accounts.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # Second factor (a person's own; open to a session that has not passed it yet)
    path("account/second-factor/", mfa.second_factor, name="second_factor"),
    path("account/second-factor/set-up/", mfa.second_factor_set_up, name="second_factor_set_up"),
    path("account/second-factor/check/", mfa.second_factor_check, name="second_factor_check"),
    path(
        "account/second-factor/recovery-codes/",
        mfa.second_factor_recovery_codes,
        name="second_factor_recovery_codes",
    ),
    path("account/second-factor/passkeys/new/", mfa.passkey_add, name="passkey_add"),
    path("account/second-factor/passkeys/check/", mfa.passkey_check, name="passkey_check"),
    path("settings/second-factor/", mfa.second_factor_roles, name="second_factor_roles"),
    # Services
    path("notices/", notices.notice_list, name="notice_list"),
    path("notices/read/", notices.notices_read, name="notices_read"),
    path("notices/reminders/", notices.reminders_choose, name="reminders_choose"),
    path("services/", organisation.service_list, name="service_list"),
    path("services/new/", organisation.service_create, name="service_create"),
    path("services/upload/", bulk.services_upload, name="services_upload"),
    path(
        "services/upload/template.csv",
        bulk.services_upload_template,
        name="services_upload_template",
    ),
    path("services/<int:pk>/", organisation.service_detail, name="service_detail"),
    path("services/<int:pk>/edit/", organisation.service_edit, name="service_edit"),
    path("services/<int:pk>/history/", organisation.service_history, name="service_history"),
    # People
    path("people/", organisation.person_list, name="person_list"),
    path("people/invite/", organisation.person_invite, name="person_invite"),
    path("people/upload/", bulk.people_upload, name="people_upload"),
    path("people/upload/template.csv", bulk.people_upload_template, name="people_upload_template"),
    path("people/<int:pk>/", organisation.person_detail, name="person_detail"),
    path("people/<int:pk>/edit/", organisation.person_edit, name="person_edit"),
    path("people/<int:pk>/history/", organisation.person_history, name="person_history"),
    path("people/<int:pk>/roles/add/", organisation.membership_add, name="membership_add"),
    path(
        "people/<int:pk>/roles/<int:membership_pk>/remove/",
        organisation.membership_remove,
        name="membership_remove",
    ),
    path("people/<int:pk>/deactivate/", organisation.person_deactivate, name="person_deactivate"),
    path("people/<int:pk>/reactivate/", organisation.person_reactivate, name="person_reactivate"),
    path(
        "people/<int:pk>/second-factor/reset/",
        mfa.person_second_factor_reset,
        name="person_second_factor_reset",
    ),
    # Review cycles
    path("reviews/", governance.review_list, name="review_list"),
    path("reviews/<int:pk>/", governance.review_detail, name="review_detail"),
    path("reviews/<int:pk>/start/", governance.review_start, name="review_start"),
    path("reviews/<int:pk>/sign-off/", governance.review_sign_off, name="review_sign_off"),
    path(
        "reviews/<int:pk>/actions/new/", governance.review_action_raise, name="review_action_raise"
    ),
    path("reviews/<int:pk>/history/", governance.review_history, name="review_history"),
    # Escalations
    path("escalations/", governance.escalation_list, name="escalation_list"),
    path("escalations/<int:pk>/", governance.escalation_detail, name="escalation_detail"),
    path(
        "escalations/<int:pk>/acknowledge/",
        governance.escalation_acknowledge,
        name="escalation_acknowledge",
    ),
    path("escalations/<int:pk>/assign/", governance.escalation_assign, name="escalation_assign"),
    path("escalations/<int:pk>/resolve/", governance.escalation_resolve, name="escalation_resolve"),
    path(
        "escalations/<int:pk>/actions/new/",
        governance.escalation_action_raise,
        name="escalation_action_raise",
    ),
    path("escalations/<int:pk>/history/", governance.escalation_history, name="escalation_history"),
    # Actions
    path("actions/", governance.action_list, name="action_list"),
    path("actions/<int:pk>/", governance.action_detail, name="action_detail"),
    path("actions/<int:pk>/complete/", governance.action_complete, name="action_complete"),
    path("actions/<int:pk>/effectiveness/", governance.action_effect, name="action_effect"),
    path("actions/<int:pk>/history/", governance.action_history, name="action_history"),
    # Meetings and decisions
    path("decisions/", governance.meeting_list, name="meeting_list"),
    path("decisions/new/", governance.meeting_create, name="meeting_create"),
    path("decisions/<int:pk>/", governance.meeting_detail, name="meeting_detail"),
    path("decisions/<int:pk>/edit/", governance.meeting_edit, name="meeting_edit"),
    path("decisions/<int:pk>/decisions/new/", governance.decision_add, name="decision_add"),
    path("decisions/<int:pk>/sign-off/", governance.meeting_sign_off, name="meeting_sign_off"),
    path("decisions/<int:pk>/history/", governance.meeting_history, name="meeting_history"),
    path(
        "decisions/items/<int:pk>/actions/new/",
        governance.decision_action_raise,
        name="decision_action_raise",
    ),
    # Trigger thresholds
    path("settings/triggers/", governance.trigger_list, name="trigger_list"),
    path("settings/triggers/<str:code>/", governance.trigger_edit, name="trigger_edit"),
    # Apps
    path("workflows/", include("workflows.urls")),
    path("assurance/", include("assurance.urls")),
    path("reporting/", include("reporting.urls")),
    # Security
    path("security/events/", organisation.security_event_list, name="security_event_list"),
]

handler400 = "caregov.views.errors.bad_request"
handler403 = "caregov.views.errors.permission_denied"
handler404 = "caregov.views.errors.not_found"
handler500 = "caregov.views.errors.server_error"

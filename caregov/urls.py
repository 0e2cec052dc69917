from django.urls import path

from caregov.views import accounts, organisation, system

urlpatterns = [
    path("", organisation.home, name="home"),
    path("healthz", system.healthz, name="healthz"),
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
    # Services
    path("services/", organisation.service_list, name="service_list"),
    path("services/new/", organisation.service_create, name="service_create"),
    path("services/<int:pk>/", organisation.service_detail, name="service_detail"),
    path("services/<int:pk>/edit/", organisation.service_edit, name="service_edit"),
    path("services/<int:pk>/history/", organisation.service_history, name="service_history"),
    # People
    path("people/", organisation.person_list, name="person_list"),
    path("people/invite/", organisation.person_invite, name="person_invite"),
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
    # Security
    path("security/events/", organisation.security_event_list, name="security_event_list"),
]

handler403 = "caregov.views.errors.permission_denied"
handler404 = "caregov.views.errors.not_found"
handler500 = "caregov.views.errors.server_error"

from django.urls import path

from assurance import views

app_name = "assurance"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("measures/", views.framework, name="framework"),
    path("measures/history/", views.threshold_history, name="threshold_history"),
    path("measures/reviewed/", views.thresholds_reviewed, name="thresholds_reviewed"),
    path("measures/<str:code>/thresholds/", views.threshold_edit, name="threshold_edit"),
    path("services/<int:pk>/<str:period>/", views.service_month, name="service_month"),
    # ECM exports
    path("imports/", views.import_list, name="import_list"),
    path("imports/new/", views.import_new, name="import_new"),
    path("imports/map/<str:token>/", views.import_map, name="import_map"),
    path("imports/guide/", views.import_guide, name="import_guide"),
    path("imports/template.csv", views.import_template, name="import_template"),
    path("imports/examples/<str:name>", views.import_example, name="import_example"),
    path("imports/profiles/", views.profile_list, name="profile_list"),
    path("imports/profiles/<int:pk>/", views.profile_detail, name="profile_detail"),
    path("imports/profiles/<int:pk>/edit/", views.profile_edit, name="profile_edit"),
    path("imports/profiles/<int:pk>/history/", views.profile_history, name="profile_history"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:pk>/retry/", views.import_retry, name="import_retry"),
    # Record audits
    path("audits/", views.audit_list, name="audit_list"),
    path("audits/new/", views.audit_new, name="audit_new"),
    path("audits/<int:pk>/", views.audit_detail, name="audit_detail"),
    path("audits/<int:pk>/history/", views.audit_history, name="audit_history"),
    path("audits/<int:pk>/records/<int:position>/", views.audit_record, name="audit_record"),
    path(
        "audits/<int:pk>/records/<int:position>/action/",
        views.audit_check_action,
        name="audit_check_action",
    ),
    path("audits/<int:pk>/submit/", views.audit_submit, name="audit_submit"),
    path("audits/<int:pk>/correct/", views.audit_correct, name="audit_correct"),
    path("audits/<int:pk>/discard/", views.audit_discard, name="audit_discard"),
    # The service worker that keeps the audit pages working offline: its path is its scope.
    path("audits/worker.js", views.audit_worker, name="audit_worker"),
    # Reviews and decisions
    path("reviews/<int:pk>/", views.trend_review, name="trend_review"),
    path("compare/", views.compare, name="compare"),
    path("compare/<int:pk>/actions/new/", views.compare_action, name="compare_action"),
    path("reliance/", views.reliance_list, name="reliance_list"),
    path("reliance/<str:quarter>/", views.reliance_detail, name="reliance_detail"),
]

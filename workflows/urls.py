from django.urls import path

from workflows import views

app_name = "workflows"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("templates/new/", views.template_new, name="template_new"),
    path("maps/<int:pk>/", views.map_detail, name="map_detail"),
    path("maps/<int:pk>/revise/", views.map_revise, name="map_revise"),
    # A version and its steps
    path("versions/<int:pk>/", views.version_detail, name="version_detail"),
    path("versions/<int:pk>/history/", views.version_history, name="version_history"),
    path("versions/<int:pk>/change/", views.version_summary, name="version_summary"),
    path("versions/<int:pk>/steps/new/", views.step_new, name="step_new"),
    path("versions/<int:pk>/steps/<int:step>/", views.step_edit, name="step_edit"),
    path("versions/<int:pk>/steps/<int:step>/move/", views.step_move, name="step_move"),
    path("versions/<int:pk>/steps/<int:step>/remove/", views.step_delete, name="step_delete"),
    path("versions/<int:pk>/test/", views.version_start_test, name="version_start_test"),
    path("versions/<int:pk>/discard/", views.version_discard, name="version_discard"),
    path("versions/<int:pk>/adopt/", views.version_adopt, name="version_adopt"),
    path("versions/<int:pk>/approve/", views.version_approve, name="version_approve"),
    # Evidence: the service review log, staff tests, quality findings
    path("versions/<int:pk>/gaps/new/", views.gap_new, name="gap_new"),
    path("versions/<int:pk>/tests/", views.version_tests, name="version_tests"),
    path("versions/<int:pk>/tests/new/", views.test_new, name="test_new"),
    path("versions/<int:pk>/findings/new/", views.finding_new, name="finding_new"),
    path("gaps/", views.gap_list, name="gap_list"),
    path("gaps/<int:pk>/", views.gap_detail, name="gap_detail"),
    path("gaps/<int:pk>/history/", views.gap_history, name="gap_history"),
    # The quarterly review
    path("reviews/<int:pk>/", views.quarterly_review, name="quarterly_review"),
]

from django.urls import path

from reporting.views import dashboards, packs

app_name = "reporting"

urlpatterns = [
    path("", dashboards.manager_dashboard, name="dashboard"),
    path("overview/", dashboards.organisation_overview, name="overview"),
    path("packs/", packs.pack_list, name="pack_list"),
    path("packs/build/", packs.pack_build, name="pack_build"),
    path("packs/<int:pk>/", packs.pack_detail, name="pack_detail"),
    path("packs/<int:pk>/progress/", packs.pack_progress, name="pack_progress"),
    path("packs/<int:pk>/download/", packs.pack_download, name="pack_download"),
    path("packs/<int:pk>/retry/", packs.pack_retry, name="pack_retry"),
    path("packs/<int:pk>/rebuild/", packs.pack_rebuild, name="pack_rebuild"),
]

from tests.recordkit.kinds import CHECKS

app_name = "recordkit"
urlpatterns = CHECKS.urls()

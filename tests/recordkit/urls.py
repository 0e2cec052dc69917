from caregov.views.records import kind_urls
from tests.recordkit.kinds import CHECKS

app_name = "recordkit"
urlpatterns = kind_urls(CHECKS)

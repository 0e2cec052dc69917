"""The product's URLs, and the record kit's worked example under /example/."""

from django.urls import include, path

from caregov.urls import handler400, handler403, handler404, handler500  # noqa: F401
from caregov.urls import urlpatterns as product

urlpatterns = [*product, path("example/", include("tests.recordkit.urls"))]

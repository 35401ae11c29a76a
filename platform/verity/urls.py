"""URL map: the versioned API under /api/v1/, its schema and docs, the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("detections.urls")),
    path("api/v1/extension/", include("extension_api.urls")),
    path("api/v1/", include("review.urls")),
    path("api/v1/crawls/", include("crawls.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("review.page_urls")),
]

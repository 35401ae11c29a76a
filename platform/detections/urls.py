from django.urls import path

from detections import apis

urlpatterns = [
    path("checks", apis.CheckCreateApi.as_view(), name="checks-create"),
    path("checks/<uuid:check_id>", apis.CheckDetailApi.as_view(), name="checks-detail"),
    path("images/<str:sha256>", apis.ImageDetailApi.as_view(), name="images-detail"),
    path("images/<str:sha256>/content", apis.ImageContentApi.as_view(), name="images-content"),
    path("verdicts", apis.VerdictListApi.as_view(), name="verdicts-list"),
    path("lookups", apis.LookupApi.as_view(), name="lookups"),
    path("healthz", apis.HealthApi.as_view(), name="healthz"),
]

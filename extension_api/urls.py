from django.urls import path

from extension_api import apis

urlpatterns = [
    path("installs", apis.InstallCreateApi.as_view(), name="extension-installs"),
    path("page-checks", apis.PageCheckCreateApi.as_view(), name="extension-page-checks"),
    path(
        "page-checks/<uuid:check_id>",
        apis.PageCheckDetailApi.as_view(),
        name="extension-page-checks-detail",
    ),
    path("uploads", apis.UploadApi.as_view(), name="extension-uploads"),
]

from django.urls import path

from review import apis

urlpatterns = [
    path("reviews", apis.ReviewListCreateApi.as_view(), name="reviews"),
]

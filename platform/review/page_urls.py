from django.urls import path

from review import views

app_name = "review"
urlpatterns = [
    path("images/<str:sha256>/", views.image_history_page, name="image-history"),
    path("review/images/<str:sha256>/content", views.image_content, name="image-content"),
]

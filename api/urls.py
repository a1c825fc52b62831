from django.urls import path

from api import views

app_name = "api"
urlpatterns = [
    path("me", views.me, name="me"),
]

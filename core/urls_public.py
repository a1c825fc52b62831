"""URLs served on the bare base domain (public schema): no firm data lives here."""

from django.urls import path

from core import views

urlpatterns = [
    path("", views.public_home, name="public_home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
]

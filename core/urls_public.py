"""URLs served on the bare base domain (public schema): no firm data lives here."""

from django.urls import path

from core import proxy, views

urlpatterns = [
    path("", views.public_home, name="public_home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    # Shown by the reverse proxy when it refuses a request body over its limit (infra/nginx).
    path("_portico/upload-too-large/", proxy.upload_too_large, name="upload_too_large"),
]

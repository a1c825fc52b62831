"""URLs served on the bare base domain (public schema): no firm data lives here."""

from django.urls import path

from core import views

urlpatterns = [
    path("", views.public_home, name="public_home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
]

# The product's own error pages (core/error_pages.py), in the person's language with the firm's name.
handler400 = "core.error_pages.bad_request"
handler403 = "core.error_pages.permission_denied"
handler404 = "core.error_pages.not_found"
handler500 = "core.error_pages.server_error"

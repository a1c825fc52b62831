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

# The product's own error pages (core/error_pages.py), in the person's language with the firm's name.
handler400 = "core.error_pages.bad_request"
handler403 = "core.error_pages.permission_denied"
handler404 = "core.error_pages.not_found"
handler500 = "core.error_pages.server_error"

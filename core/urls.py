"""URLs served on a firm's own subdomain.

Every URL here is requested by outsiders in tests/test_url_access.py, which
walks this configuration: a new URL is denied to them unless it is listed
there as public or as a signed-in user's own page.
"""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from core import proxy, views
from core.auth import account_views
from core.auth import views as auth_pages

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", account_views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/set-password/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(post_reset_login=False, success_url="/accounts/login/?set=1"),
        name="set_password",
    ),
    path("accounts/password-reset/", account_views.password_reset, name="password_reset"),
    path(
        "accounts/password-reset/<uidb64>/<token>/",
        account_views.ResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/two-factor/", auth_pages.two_factor_settings, name="two_factor"),
    path("accounts/two-factor/backup-codes/", auth_pages.two_factor_backup_codes, name="two_factor_backup_codes"),
    path("accounts/two-factor/verify/", auth_pages.two_factor_verify, name="two_factor_verify"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    # Shown by the reverse proxy when it refuses a request body over its limit (infra/nginx).
    path("_portico/upload-too-large/", proxy.upload_too_large, name="upload_too_large"),
    # Integrations get their tokens here (the client-credentials grant; api.oauth).
    path("api/v1/oauth/", include("api.oauth_urls")),
    path("api/v1/", include("api.urls")),
    path("staff/billing/", include("portal.ledger_urls")),
    path("", include("portal.urls")),
    path("", include("portal.billing_urls")),
]

# The product's own error pages (core/error_pages.py), in the person's language with the firm's name.
handler400 = "core.error_pages.bad_request"
handler403 = "core.error_pages.permission_denied"
handler404 = "core.error_pages.not_found"
handler500 = "core.error_pages.server_error"

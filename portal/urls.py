"""URLs of the client portal (/portal/) and the staff workspace (/staff/)."""

from django.urls import include, path

from portal import language
from portal.views import (
    access_review,
    api_tokens,
    billing_payments,
    client,
    client_documents,
    client_intake,
    client_messages,
    firm_admin,
    integrations,
    matters,
    webhooks,
)

app_name = "portal"
urlpatterns = [
    # Client portal: clients and outside counsel (and staff) see the matters they may reach.
    path("portal/matters/", client.matter_list, name="client_matters"),
    path("portal/matters/<int:matter_id>/", client.matter_detail, name="client_matter"),
    path("portal/matters/<int:matter_id>/intake/", client_intake.intake, name="client_intake"),
    path("portal/matters/<int:matter_id>/upload/", client_documents.upload, name="client_upload"),
    path("portal/matters/<int:matter_id>/download/", client_documents.download, name="client_download"),
    path("portal/matters/<int:matter_id>/messages/", client_messages.thread, name="client_messages"),
    path("portal/language/", language.language_set, name="language_set"),
    # Staff workspace.
    path("staff/matters/", matters.matter_list, name="staff_matters"),
    path("staff/matters/<int:matter_id>/", matters.matter_detail, name="staff_matter"),
    path("staff/matters/<int:matter_id>/grants/", matters.grant_create, name="grant_create"),
    path(
        "staff/matters/<int:matter_id>/grants/<int:grant_id>/expiry/",
        matters.grant_change_expiry,
        name="grant_change_expiry",
    ),
    path("staff/matters/<int:matter_id>/grants/<int:grant_id>/revoke/", matters.grant_revoke, name="grant_revoke"),
    path("staff/access-review/", access_review.access_review_page, name="access_review"),
    path("staff/access-review.csv", access_review.access_review_csv, name="access_review_csv"),
    path("staff/settings/", firm_admin.firm_settings, name="firm_settings"),
    # The firm's two Stripe connected accounts (on the settings page).
    path("staff/settings/payments/connect/", billing_payments.account_connect, name="stripe_account_connect"),
    path(
        "staff/settings/payments/<int:account_id>/onboard/",
        billing_payments.account_onboard,
        name="stripe_account_onboard",
    ),
    path(
        "staff/settings/payments/<int:account_id>/return/",
        billing_payments.account_return,
        name="stripe_account_return",
    ),
    path("staff/users/", firm_admin.user_list, name="users"),
    path("staff/users/<int:user_id>/roles/", firm_admin.user_roles, name="user_roles"),
    path("staff/users/<int:user_id>/two-factor/reset/", firm_admin.user_two_factor_reset, name="user_two_factor_reset"),
    path("staff/api-tokens/", api_tokens.token_list, name="api_tokens"),
    path("staff/api-tokens/<int:application_id>/revoke/", api_tokens.token_revoke_view, name="api_token_revoke"),
    path("staff/settings/integrations/", integrations.integration_list, name="integrations"),
    path(
        "staff/settings/integrations/<int:integration_id>/revoke/",
        integrations.integration_revoke_view,
        name="integration_revoke",
    ),
    path("staff/webhooks/", webhooks.endpoint_list, name="webhooks"),
    path("staff/webhooks/<int:endpoint_id>/", webhooks.endpoint_detail, name="webhook"),
    path("staff/webhooks/<int:endpoint_id>/disable/", webhooks.endpoint_disable_view, name="webhook_disable"),
    path("staff/webhooks/<int:endpoint_id>/rotate/", webhooks.endpoint_rotate_view, name="webhook_rotate"),
    path(
        "staff/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/replay/",
        webhooks.delivery_replay_view,
        name="webhook_replay",
    ),
    # Case work and matter types (portal/staff_urls.py).
    path("", include("portal.staff_urls")),
]

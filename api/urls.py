from django.urls import include, path

from api import views
from api.schema import SchemaView

app_name = "api"
urlpatterns = [
    path("me", views.Me.as_view(), name="me"),
    path("matters", views.MatterList.as_view(), name="matters"),
    path("matters/<int:matter_id>", views.MatterDetail.as_view(), name="matter"),
    path("matters/<int:matter_id>/grants", views.MatterGrants.as_view(), name="matter_grants"),
    path("matters/<int:matter_id>/grants/<int:grant_id>/expiry", views.GrantExpiry.as_view(), name="grant_expiry"),
    path("matters/<int:matter_id>/grants/<int:grant_id>/revoke", views.GrantRevoke.as_view(), name="grant_revoke"),
    path("access-review", views.AccessReview.as_view(), name="access_review"),
    path("ledger/", include("api.billing_ledger")),
    path("billing/", include("api.billing_invoices")),
    path("webhooks/", include("api.webhooks")),
    path("billing/", include("api.billing_collections")),
    path("billing/", include("api.billing_payments")),
    path("", include("api.casework")),
    path("", include("api.integrations")),
    path("schema/", SchemaView.as_view(), name="schema"),
]

"""Staff pages of the ledger, trust accounting and reconciliation, under /staff/billing/ (namespace ``ledger``).

No URL here takes an id other than a matter's or a client's: requests, deposits, statements
and lines are chosen in the POST body or the query string, and reached through
``billing.access`` inside the view (404 for missing, malformed and not reachable).
"""

from django.urls import path

from portal.views import billing_ledger as ledger
from portal.views import billing_reconciliation as reconciliation
from portal.views import billing_trust as trust

app_name = "ledger"
urlpatterns = [
    path("ledger/", ledger.ledger_accounts, name="accounts"),
    path("ledger/export.journal", ledger.ledger_export_hledger, name="export_hledger"),
    path("trust/", trust.trust_overview, name="trust"),
    path("trust/deposit/", trust.trust_deposit_page, name="trust_deposit"),
    path("trust/deposit/clear/", trust.trust_deposit_clear, name="trust_deposit_clear"),
    path("trust/settings/", trust.trust_settings_page, name="trust_settings"),
    path("trust/requests/", trust.trust_requests_page, name="trust_requests"),
    path("trust/requests/decide/", trust.trust_request_decide, name="trust_request_decide"),
    path("trust/clients/<int:user_id>/ledger/", trust.client_ledgers_of_client, name="client_ledgers"),
    path("trust/matters/<int:matter_id>/ledger/", trust.client_ledger_page, name="client_ledger"),
    path("trust/matters/<int:matter_id>/ledger.csv", trust.client_ledger_csv, name="client_ledger_csv"),
    path("reconciliation/", reconciliation.reconciliation_page, name="reconciliation"),
    path("reconciliation/match/", reconciliation.reconciliation_match, name="reconciliation_match"),
    path("reconciliation/close/", reconciliation.reconciliation_close, name="reconciliation_close"),
    path("reconciliation/three-way/", reconciliation.three_way_page, name="three_way"),
    path("reconciliation/three-way.pdf", reconciliation.three_way_pdf, name="three_way_pdf"),
    path("reconciliation/three-way.csv", reconciliation.three_way_csv, name="three_way_csv"),
]

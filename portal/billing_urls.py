"""URLs of billing pages: the staff's invoices, adjustments and time (/staff/billing/, /staff/matters/<id>/time/)
and the client's billing page (/portal/billing/). Namespace ``invoicing``.
"""

from django.urls import include, path

from portal.views import (
    billing_client,
    billing_collections,
    billing_fee_statement,
    billing_invoices,
    billing_kpis,
    billing_online,
    billing_payments,
    billing_reminders,
)

app_name = "invoicing"
urlpatterns = [
    # Online payments (staff): list, a payment's detail, refunds (trust: two approvers), retainer requests.
    path("staff/billing/online-payments/", billing_online.online_payments, name="online_payments"),
    path("staff/billing/online-payments/<int:payment_id>/", billing_online.online_payment, name="online_payment"),
    path(
        "staff/billing/online-payments/<int:payment_id>/dispute/evidence/",
        billing_online.dispute_evidence,
        name="online_payment_dispute_evidence",
    ),
    path(
        "staff/billing/online-payments/<int:payment_id>/dispute/accept/",
        billing_online.dispute_accept_view,
        name="online_payment_dispute_accept",
    ),
    path(
        "staff/billing/online-payments/<int:payment_id>/trust-refunds/decide/",
        billing_online.trust_refund_decide,
        name="online_payment_trust_refund_decide",
    ),
    path(
        "staff/billing/online-payments/<int:payment_id>/refund/",
        billing_online.online_payment_refund,
        name="online_payment_refund",
    ),
    path("staff/billing/retainer-requests/", billing_online.retainer_request, name="retainer_request"),
    # The monthly itemised statement of trust fees billed to the platform (?month=YYYY-MM).
    path("staff/billing/fee-statement/", billing_fee_statement.fee_statement_page, name="fee_statement"),
    path("staff/billing/fee-statement.csv", billing_fee_statement.fee_statement_download, name="fee_statement_csv"),
    path(
        "staff/billing/fee-statement/repaid/", billing_fee_statement.fee_statement_repaid, name="fee_statement_repaid"
    ),
    # Paying online (the client's own invoices and retainer requests).
    path("portal/billing/invoices/<int:invoice_id>/pay/", billing_payments.invoice_pay, name="client_invoice_pay"),
    path("portal/billing/retainers/<int:retainer_id>/pay/", billing_payments.retainer_pay, name="client_retainer_pay"),
    path("portal/billing/payments/<int:payment_id>/", billing_payments.payment_status, name="client_payment_status"),
    # Collections (staff): aging and the invoices behind it, reminders, at-risk matters.
    path("staff/billing/collections/", billing_collections.aging_page, name="collections_aging"),
    path("staff/billing/collections/aging.csv", billing_collections.aging_csv, name="collections_aging_csv"),
    path("staff/billing/collections/aging.pdf", billing_collections.aging_pdf, name="collections_aging_pdf"),
    path("staff/billing/collections/invoices/", billing_collections.invoices_behind, name="collections_invoices"),
    path(
        "staff/billing/collections/invoices.csv",
        billing_collections.invoices_behind_csv,
        name="collections_invoices_csv",
    ),
    path("staff/billing/collections/reminders/", billing_reminders.reminders_page, name="collections_reminders"),
    path("staff/billing/collections/at-risk/", billing_reminders.at_risk_page, name="collections_at_risk"),
    path(
        "staff/billing/collections/clients/<int:client_id>/pause/",
        billing_reminders.client_reminders_pause,
        name="collections_client_pause",
    ),
    # KPIs (staff): each with its formula, chart and the rows behind it; CSV, PDF, the weekly report's preview.
    path("staff/billing/collections/kpis/", billing_kpis.kpis_page, name="collections_kpis"),
    path("staff/billing/collections/kpis.pdf", billing_kpis.kpis_pdf, name="collections_kpis_pdf"),
    path(
        "staff/billing/collections/kpis/partner-report/",
        billing_kpis.partner_report_preview,
        name="collections_partner_report",
    ),
    path("staff/billing/collections/kpis/rows/", billing_kpis.kpi_rows, name="collections_kpi"),
    path("staff/billing/collections/kpis/rows.csv", billing_kpis.kpi_csv, name="collections_kpi_csv"),
    path(
        "staff/billing/invoices/<int:invoice_id>/reminders/",
        billing_reminders.invoice_reminders,
        name="invoice_reminders",
    ),
    # Billing (staff): invoices, adjustments, time; the client's billing page.
    path("staff/billing/invoices/", billing_invoices.invoice_list, name="invoices"),
    path("staff/billing/invoices/new/", billing_invoices.invoice_create, name="invoice_create"),
    path("staff/billing/invoices/<int:invoice_id>/", billing_invoices.invoice_detail, name="invoice"),
    path("staff/billing/invoices/<int:invoice_id>/fees/", billing_invoices.invoice_add_fee, name="invoice_add_fee"),
    path("staff/billing/invoices/<int:invoice_id>/time/", billing_invoices.invoice_add_time, name="invoice_add_time"),
    path("staff/billing/invoices/<int:invoice_id>/issue/", billing_invoices.invoice_issue, name="invoice_issue"),
    path("staff/billing/invoices/<int:invoice_id>/void/", billing_invoices.invoice_void, name="invoice_void"),
    path("staff/billing/invoices/<int:invoice_id>/payments/", billing_invoices.invoice_payment, name="invoice_payment"),
    path(
        "staff/billing/invoices/<int:invoice_id>/credit-notes/",
        billing_invoices.invoice_credit_note,
        name="invoice_credit_note",
    ),
    path(
        "staff/billing/invoices/<int:invoice_id>/write-offs/",
        billing_invoices.invoice_write_off,
        name="invoice_write_off",
    ),
    path("staff/billing/invoices/<int:invoice_id>/pdf/", billing_invoices.invoice_pdf_download, name="invoice_pdf"),
    path(
        "staff/billing/invoices/<int:invoice_id>/ledes/",
        billing_invoices.invoice_ledes_download,
        name="invoice_ledes",
    ),
    path("staff/billing/adjustments/", billing_invoices.adjustments, name="adjustments"),
    path("staff/billing/adjustments/refunds/", billing_invoices.credit_refund_decide, name="credit_refund_decide"),
    path(
        "staff/billing/invoices/<int:invoice_id>/credit-refunds/",
        billing_invoices.invoice_credit_refund,
        name="invoice_credit_refund",
    ),
    path(
        "staff/billing/credit-notes/<int:credit_note_id>/decide/",
        billing_invoices.credit_note_decide,
        name="credit_note_decide",
    ),
    path(
        "staff/billing/write-offs/<int:write_off_id>/decide/",
        billing_invoices.write_off_decide,
        name="write_off_decide",
    ),
    path("staff/matters/<int:matter_id>/time/", billing_invoices.matter_time, name="matter_time"),
    path("portal/billing/", billing_client.billing_overview, name="client"),
    path("", include("portal.billing_plans_urls")),  # payment plans (staff and the client)
    path(
        "portal/billing/invoices/<int:invoice_id>/pdf/",
        billing_client.invoice_pdf_for_client,
        name="client_invoice_pdf",
    ),
]
